"""The transient line a person sees on a terminal while msgcli waits: "waiting
for claude-opus-4-5… 12s" while the server works, "rate limited (429), retrying
in 8s, attempt 2/3" while a retry waits.

A whole reply can take minutes and a retry wait up to --max-wait; without a line the
terminal looks hung. The line goes through Console.status, so it exists only
when stderr is a terminal, and it is cleared before anything else is written.
Off a terminal nothing here starts a thread.
"""

import math
import time

TICK = 0.25  # seconds between checks; the line changes only when its text does
FIRST_SHOWN = 1.0  # a quick reply should not flash a line


def _describe(response, error_text):
    if response is None:
        return error_text or "network error"
    if response.status == 429:
        return "rate limited (429)"
    if response.status == 529:
        return "overloaded (529)"
    if response.status >= 500:
        return f"server error ({response.status})"
    return f"HTTP {response.status}"


class Waiting:
    """A context manager that ticks the waiting line from a daemon thread."""

    def __init__(self, console, model, started=None, run_deadline=None,
                 clock=time.monotonic):
        self.console = console
        self.model = model or "the server"
        self.clock = clock
        self.started = started if started is not None else clock()
        self.run_deadline = run_deadline  # --deadline, as a clock() instant
        self._retry = None  # (text, attempt, total, deadline)
        self._stop = None
        self._thread = None
        self._shown = None

    def __enter__(self):
        if self.console.is_terminal():
            import threading

            self.console.threaded()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="msgcli-waiting",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.console.clear_status()
        return False

    def retrying(self, response, error_text, wait, attempt, total):
        """A retry is about to wait `wait` seconds before attempt `attempt`."""
        self._retry = (_describe(response, error_text), attempt, total, self.clock() + wait)
        if self._thread is not None:
            self._show()

    def text(self):
        now = self.clock()
        left = "" if self.run_deadline is None else \
            f", {max(math.ceil(self.run_deadline - now), 0)}s left of --deadline"
        if self._retry is not None:
            what, attempt, total, deadline = self._retry
            if now < deadline:
                return (f"{what}, retrying in {math.ceil(deadline - now)}s, "
                        f"attempt {attempt}/{total}{left}")
        elapsed = now - self.started
        if elapsed < FIRST_SHOWN:
            return None
        return f"waiting for {self.model}\u2026 {int(elapsed)}s{left}"

    def _show(self):
        text = self.text()
        if text is not None and text != self._shown:
            self._shown = text
            self.console.status(text)

    def _run(self):
        while not self._stop.wait(TICK):
            self._show()
