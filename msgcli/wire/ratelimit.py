"""The rate limit that concurrent requests share (--jsonl): a gate every worker
passes before each attempt, first or retried.

- A 429 or 529 closes the gate for everyone: for the server's retry-after when it
  gives one, otherwise for the backoff the retrying request chose. Workers that
  would have hit the same limit wait instead of collecting 429s of their own.
- The `anthropic-ratelimit-*` headers of every response slow the workers down
  before the limit: when fewer requests (or fewer requests' worth of tokens, at
  the average a request has used so far) remain than two rounds of the workers
  would take, sends are spaced at the rate the limit refills ((limit - remaining)
  over the seconds to its reset); with none left, the gate closes for one step.

Each request still keeps its own retry budget; the gate only decides when.
"""

import threading
import time
from datetime import datetime

_PREFIX = "anthropic-ratelimit-"
# Requests and tokens are limited separately; a token limit may be given for input
# and output tokens apart, or together.
_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")
# Never space sends further apart than this on the headers' word alone: a clock
# off by minutes must not stall a run (a 429 still closes the gate).
_MAX_INTERVAL = 10.0


def _seconds_until(value, now_wall):
    """Seconds until an RFC 3339 time, or None if it cannot be read."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_wall)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Gate:
    def __init__(self, workers, clock=time.monotonic, wall=time.time):
        self.workers = max(1, workers)
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set to cut every wait short (shutting down)
        self._open_at = 0.0
        self._next_slot = 0.0
        self._interval = 0.0
        self._tokens_per_request = None
        self.closures = 0  # how many times a 429/529 closed the gate

    # -- what workers call --------------------------------------------------------

    def wait(self):
        """Block until this attempt may be sent."""
        while True:
            with self._lock:
                now = self._clock()
                slot = max(now, self._open_at, self._next_slot)
                self._next_slot = slot + self._interval
            if slot <= now:
                return
            if self._wake.wait(slot - now):
                return
            with self._lock:
                if self._open_at <= self._clock():
                    return
            # the gate was closed again while this worker waited: wait for that too

    def observe(self, http_status, headers, wait=None):
        """Learn from a response: a 429/529 closes the gate for `wait` seconds (the
        server's retry-after, or the retrying request's backoff); the rate-limit
        headers set the spacing of sends."""
        now = self._clock()
        with self._lock:
            if http_status in (429, 529) and wait is not None and wait > 0:
                if now + wait > self._open_at:
                    self._open_at = now + wait
                    self.closures += 1
            self._pace(headers, now)

    def before_retry(self, response, wait):
        """A retry's turn: learn from the response that failed (None: a network
        error), sleep its own `wait`, then pass the gate like any attempt."""
        self.observe(getattr(response, "status", None), getattr(response, "headers", None),
                     wait)
        if wait > 0:
            self._wake.wait(wait)
        self.wait()

    def note_tokens(self, tokens):
        """Tokens one completed request used (input + output), to judge how many
        requests a remaining token budget allows."""
        if not tokens or tokens <= 0:
            return
        with self._lock:
            old = self._tokens_per_request
            self._tokens_per_request = tokens if old is None else old * 0.9 + tokens * 0.1

    @property
    def interval(self):
        """Seconds between sends the headers currently ask for (0: no spacing)."""
        return self._interval

    def release(self):
        """Wake every waiting worker now (the run is stopping)."""
        self._wake.set()

    # -- pacing from the headers ---------------------------------------------------

    def _pace(self, headers, now):
        if headers is None:
            return
        wall = self._wall()
        interval, seen = 0.0, False
        for kind in _KINDS:
            remaining = _number(headers.get(_PREFIX + kind + "-remaining"))
            reset = _seconds_until(headers.get(_PREFIX + kind + "-reset"), wall)
            if remaining is None or reset is None:
                continue
            limit = _number(headers.get(_PREFIX + kind + "-limit"))
            if kind != "requests":  # tokens, counted in requests' worth
                per = self._tokens_per_request
                if not per:
                    continue
                remaining /= per
                limit = limit / per if limit is not None else None
            seen = True
            if remaining > 2 * self.workers:
                continue
            # The bucket refills continuously and is full again at `reset`: the rate
            # it refills at is the pace that can be kept up.
            if limit is not None and limit > remaining and reset > 0:
                step = reset / (limit - remaining)
            else:
                step = reset / max(remaining, 1.0)
            step = min(step, _MAX_INTERVAL)
            interval = max(interval, step)
            if remaining < 1:
                self._open_at = max(self._open_at, now + step)
        if seen:
            self._interval = interval
