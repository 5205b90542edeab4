"""The rate limit that concurrent requests share (--jsonl): a gate every worker
passes before each attempt, first or retried.

Why it works the way it does:

- No reservations. A waiting worker holds no slot in the future: every time the
  gate learns something (a reply, a 429) or a wait ends, each waiter asks again
  from the current state. A pessimistic estimate therefore costs at most the wait
  until the next reply corrects it, never a queue of -P slots laid out at the old
  spacing.
- `remaining` is the precise word, the reset time is not. The API writes its
  reset times to the whole second, so `(limit - remaining) / (reset - now)` is a
  rate known only within the reset's resolution: with 1 s of uncertainty and a
  bucket that refills in one second it can be off by a factor of two or more.
  The gate spends what the server says remains (minus what was sent after the
  request that reported it, and what was sent before it and still out, which
  the server may have taken after it) and
  predicts the refill between replies only with the lowest rate the reset times
  allow, (used - 1) / (seconds to reset + resolution). Underestimating the
  refill then costs nothing lasting: the next reply reports the tokens the
  server gained and they are spent at once, so the pace follows the server's
  real rate whatever the resolution, and never runs ahead of it. A remaining
  token count written to the thousand (as the API rounds them) counts 500 less.
- Token limits (combined, input, output) are the same buckets counted in tokens:
  they are turned into requests' worth with the tokens a request has used so far
  (the matching part of each reply's usage).
- Without headers (gateways and proxies answer only 429 and retry-after) the rate
  is learned from the 429s, as the AWS SDKs' "adaptive" retry mode does: a
  client-side token bucket whose rate follows a CUBIC curve, cut to 0.7 of the rate
  it was sending at at each 429 and growing back, slowly near the old
  maximum and faster beyond it, to probe for more. One cut per round: the 429s
  of requests sent before a cut are the same news. The same curve applies when
  headers are given but the server still refuses requests they allowed (a limit
  per minute enforced per second), floored by the lowest rate the headers prove.
  A 429 whose headers say the limit is used up, for a request sent before any
  reply could say so (the first round), cuts nothing: the headers pace from then
  on.
- A 429 or 529 still closes the gate for everyone, for the server's retry-after
  (or the retrying request's backoff): workers that would hit the same limit wait
  instead of collecting 429s of their own.

Each request still keeps its own retry budget; the gate only decides when.
"""

import math
import re
import threading
import time
from collections import deque
from datetime import datetime

from msgcli.api.usage import tokens as _usage_count

_PREFIX = "anthropic-ratelimit-"
# Requests and tokens are limited separately; a token limit may be given for input
# and output tokens apart, or together.
_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")
# Never wait longer than this on the headers' word alone: a clock off by minutes,
# or headers that say nothing remains until a far reset, must not stall a run. It
# bounds the whole wait since the headers began to hold sends back, not each
# re-ask (re-asking at most this long each time waited forever): then one probe
# goes, and the server answers it (a 429 and its retry-after still close the gate).
_MAX_INTERVAL = 10.0
# A waiter looks again at least this often (the adaptive rate grows with time).
_STEP = 0.5
# CUBIC as the AWS SDKs' adaptive retry mode: the cut, the curve's scale (rate per
# second cubed) and the lowest rate (requests/s).
_BETA, _SCALE, _MIN_RATE = 0.7, 0.4, 0.5
# The adaptive bucket holds this many seconds of its rate: a burst after a pause
# that does not overrun a server whose own bucket holds one second.
_BURST = 0.5
# Float sums are not exact: this close counts as there, and no wait is shorter
# than _SHORTEST (one that rounds to nothing would never end).
_EPSILON, _SHORTEST = 1e-9, 1e-4
_FRACTION = re.compile(r":\d\d[.,](\d+)")


def _seconds_until(value, now_wall):
    """(seconds until an RFC 3339 time, its resolution in seconds), or None."""
    try:
        text = value.strip()
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now_wall
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None
    digits = _FRACTION.search(text)
    resolution = 10.0 ** -min(len(digits.group(1)), 6) if digits else 1.0
    return max(0.0, seconds), resolution


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _Limit:
    """What the headers said last about one limit."""

    __slots__ = ("limit", "remaining", "seq", "behind", "at", "full_at", "low")

    def __init__(self, limit):
        # seq: the send whose reply said it; behind: sends before it still out then,
        # perhaps not counted yet; low: the lowest refill rate the resets allow
        self.limit, self.remaining, self.seq, self.behind = limit, 0.0, -1, 0
        self.at = self.full_at = self.low = 0.0


class Gate:
    def __init__(self, workers, clock=time.monotonic, wall=time.time):
        self.workers = max(1, workers)
        self._clock, self._wall = clock, wall
        self._changed = threading.Condition(threading.Lock())
        self._local = threading.local()
        self._released = False
        self._open_at = 0.0
        self._held_since = None  # since when the headers' word has held sends back
        self._sent = 0
        self._unanswered = set()  # the attempts sent and not answered yet
        self._limits = {}
        self._per = {}  # tokens a request has used so far, per kind (moving average)
        # the adaptive rate: off until a 429 asks for one
        self._rate_on = False
        self._w_max = self._k = self._cut_at = self._bucket = self._filled = 0.0
        self._cut_seq = 0
        self._sends = deque()  # when attempts were sent, over the last second
        self.closures = 0  # how many times a 429/529 closed the gate

    # -- what workers call --------------------------------------------------------

    def wait(self):
        """Block until this attempt may be sent."""
        with self._changed:
            while True:
                delay = self._try_send(self._clock())
                if delay <= 0:
                    return
                self._changed.wait(min(delay, _STEP))

    def try_send(self, now=None):
        """0 if an attempt may go now (it is then counted as sent, by this thread);
        otherwise the seconds to wait before asking again."""
        with self._changed:
            return self._try_send(self._clock() if now is None else now)

    @property
    def ticket(self):
        """This thread's last attempt, as observe() takes it."""
        return getattr(self._local, "ticket", (0, False, None))

    def observe(self, http_status, headers, wait=None, now=None, ticket=None):
        """Learn from the reply to an attempt (`ticket`; by default this thread's
        last): a 429/529 closes the gate for `wait` seconds (the server's
        retry-after, or the retrying request's backoff) and a 429 may cut the
        adaptive rate; the rate-limit headers say what may be spent."""
        now = self._clock() if now is None else now
        seq, paced, sent_wall = self.ticket if ticket is None else ticket
        with self._changed:
            self._unanswered.discard(seq)
            explained = self._read(headers, now, seq, sent_wall)
            if http_status in (429, 529) and wait is not None and wait > 0:
                if now + wait > self._open_at:
                    self._open_at = now + wait
                    self.closures += 1
            # a 429 the headers cannot explain (none given, or they said requests
            # remained) or one sent on their word: the limit is not (only) theirs
            if http_status == 429 and seq > self._cut_seq and (paced or not explained):
                self._cut(now)
            self._changed.notify_all()

    def before_retry(self, response, wait):
        """A retry's turn: learn from the response that failed (None: a network
        error), sleep its own `wait`, then pass the gate like any attempt."""
        self.observe(getattr(response, "status", None), getattr(response, "headers", None),
                     wait)
        end = self._clock() + wait
        with self._changed:
            while not self._released and end > self._clock():
                self._changed.wait(end - self._clock())
        self.wait()

    def note_usage(self, usage):
        """A completed request's usage, to judge how many requests a remaining token
        budget allows (each token limit counts its own part)."""
        if not isinstance(usage, dict):
            return

        def count(*keys):
            # a count too large for a float is ignored (msgcli.api.usage owns the rule)
            return sum(_usage_count(usage.get(k)) for k in keys)

        spent = {"input-tokens": count("input_tokens", "cache_creation_input_tokens"),
                 "output-tokens": count("output_tokens")}
        spent["tokens"] = spent["input-tokens"] + spent["output-tokens"]
        with self._changed:
            for kind, tokens in spent.items():
                if tokens > 0:
                    old = self._per.get(kind)
                    new = tokens if old is None else old * 0.9 + tokens * 0.1
                    if math.isfinite(new):  # sums of counts near the float limit
                        self._per[kind] = new

    def release(self):
        """Wake every waiting worker now (the run is stopping)."""
        with self._changed:
            self._released = True
            self._changed.notify_all()

    # -- deciding ------------------------------------------------------------------

    def _try_send(self, now):
        if self._released:
            return 0.0
        delay = self._open_at - now
        if delay > 0:
            return delay
        informed = False
        for kind, known in self._limits.items():
            per = self._per_request(kind)
            if per is None or known.limit is None:
                continue
            informed = True
            refilled = known.remaining + known.low * max(0.0, now - known.at)
            if now >= known.full_at:
                refilled = known.limit
            credit = min(refilled, known.limit) - \
                (self._sent - known.seq + known.behind) * per
            # one request's worth kept back: the server may take requests in another
            # order than they were sent, so a reply's count can miss one sent before
            need = per * (2 if known.limit >= 3 * per else 1)
            if credit >= need - _EPSILON:
                continue
            wait = (need - credit) / known.low if known.low > 0 else known.full_at - now
            delay = max(delay, min(wait, known.full_at - now if now < known.full_at
                                   else _STEP, _MAX_INTERVAL))
        if delay > 0:
            if self._held_since is None:
                self._held_since = now
            left = self._held_since + _MAX_INTERVAL - now
            if left > 0:
                return max(min(left, delay), _SHORTEST)
            # held the longest the headers' word may hold: this one goes as a probe
        else:
            self._held_since = None
        if self._rate_on:
            rate = max(self._adaptive_rate(now), self._floor())
            self._bucket = min(max(rate * _BURST, 1.0),
                               self._bucket + (now - self._filled) * rate)
            self._filled = now
            if self._bucket < 1.0 - _EPSILON:
                return max((1.0 - self._bucket) / rate, _SHORTEST)
            self._bucket -= 1.0
        self._held_since = None
        self._sent += 1
        self._sends.append(now)
        while self._sends[0] <= now - 1.0:
            self._sends.popleft()
        self._unanswered.add(self._sent)
        self._local.ticket = (self._sent, informed, self._wall())
        return 0.0

    def _per_request(self, kind):
        return 1.0 if kind == "requests" else self._per.get(kind)

    def _floor(self):
        """The lowest request rate every limit in the headers allows (0: unknown)."""
        rates = []
        for kind, known in self._limits.items():
            per = self._per_request(kind)
            if per is None or known.low <= 0:
                return 0.0
            rates.append(known.low / per)
        return min(rates) if rates else 0.0

    def _adaptive_rate(self, now):
        return max(_MIN_RATE, _SCALE * (now - self._cut_at - self._k) ** 3 + self._w_max)

    def _cut(self, now):
        while self._sends and self._sends[0] <= now - 1.0:
            self._sends.popleft()
        sent = len(self._sends)  # the rate the server refused: what was sent in the last second
        base = sent if not self._rate_on else min(sent, self._adaptive_rate(now))
        base = max(base, _MIN_RATE)
        self._w_max = base
        self._k = (base * (1 - _BETA) / _SCALE) ** (1 / 3)
        self._cut_at = now
        self._cut_seq = self._sent
        self._rate_on = True
        for known in self._limits.values():
            known.low = 0.0  # proven too hopeful, or the limit changed: learn it anew

    # -- the headers ---------------------------------------------------------------

    def _read(self, headers, now, seq, sent_wall):
        """Take in the rate-limit headers; True if they say a request is used up."""
        if headers is None:
            return False
        wall = self._wall()
        exhausted = False
        for kind in _KINDS:
            remaining = _number(headers.get(_PREFIX + kind + "-remaining"))
            limit = _number(headers.get(_PREFIX + kind + "-limit"))
            text = headers.get(_PREFIX + kind + "-reset")
            reset = _seconds_until(text, wall)
            if remaining is None or limit is None or reset is None or limit <= 0:
                continue
            seconds, resolution = reset
            remaining = min(max(remaining, 0.0), limit)
            exhausted = exhausted or remaining < (self._per_request(kind) or 1.0)
            # a count that may have been rounded: the API writes token counts to
            # the nearest thousand
            step = 1.0 if kind == "requests" else (1000.0 if remaining % 1000 == 0 else 1.0)
            if step > 1 and remaining > 0:
                remaining -= step / 2
            known = self._limits.get(kind)
            if known is None or known.limit != limit:
                known = self._limits[kind] = _Limit(limit)
            # every reply bounds the rate, even one overtaken by a newer reply; the
            # server wrote it at some time after the request left, so the refill
            # may have begun as early as then
            used = limit - remaining - step
            since = _seconds_until(text, sent_wall)[0] if sent_wall is not None else seconds
            if used > 0:
                low = used / (max(since, seconds) + resolution)
                if math.isfinite(low):  # a limit near the float limit over a tiny reset
                    known.low = max(known.low, low)
            if seq >= known.seq:
                known.remaining, known.seq, known.at = remaining, seq, now
                # requests sent earlier and still out may reach the server later
                # than this one: its count may not include them yet (at most -P of
                # them, the oldest of which may never be answered to the gate)
                known.behind = sum(1 for s in self._unanswered
                                   if seq - self.workers <= s < seq)
                known.full_at = now + seconds + resolution
        return exhausted
