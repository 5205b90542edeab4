"""How long msgcli may wait: --max-wait for one server-requested retry wait,
--deadline for the whole run.

A server-requested wait over --max-wait, or any wait that would pass the
deadline, is not made: the last failure is reported at once, with the reason.
Backing off instead would hammer a server that asked for patience. Timeouts are
cut to what is left, and, as a hard bound, SIGALRM unwinds whatever still runs
at the deadline (a stalled stream, a slow connect) with exit 14.
"""

import signal
import time
from contextlib import contextmanager

from msgcli.errors import NetworkError


class DeadlineReached(NetworkError):
    pass


class WaitLimits:
    """The limits of one run, shared by every copy of transport.ApiRetry;
    `refusal` says why the last retry was not made."""

    def __init__(self, max_wait=None, deadline=None):
        self.max_wait = max_wait
        self.deadline = deadline  # a time.monotonic() instant, or None
        self.refusal = None

    def remaining(self):
        """Seconds left before the deadline, or None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def refuse(self, wait, requested):
        """Why a wait of `wait` seconds may not be made, or None when it may."""
        if requested and self.max_wait is not None and wait > self.max_wait:
            return f"the server asked to wait {wait:g} s, over --max-wait " \
                   f"{self.max_wait:g}; not retried"
        left = self.remaining()
        if left is not None and wait >= left:
            what = "the server asked to wait" if requested else "the next retry is in"
            return f"{what} {wait:g} s, past --deadline ({max(left, 0):.1f} s left); " \
                   "not retried"
        return None

    def timeouts(self, timeouts):
        """(connect, read) timeouts cut so that neither reaches past the deadline."""
        left = self.remaining()
        return timeouts if left is None else tuple(min(t, max(left, 0.001))
                                                   for t in timeouts)

    def why(self):
        """What to say after a network failure, when the limits caused it."""
        left = self.remaining()
        if left is not None and left <= 0.01:
            return "--deadline reached"
        return self.refusal


def _on_alarm(signum, frame):
    raise DeadlineReached("deadline reached: --deadline passed before the answer was "
                          "complete (anything printed is incomplete)")


class _Timer:
    def disarm(self):
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def alarm(seconds):
    """The hard bound: SIGALRM after `seconds` (None: no bound); the timer it
    yields can be disarmed early. Only the main thread may set it; elsewhere the
    limits above still hold."""
    timer = _Timer()
    if seconds is None:
        yield timer
        return
    if seconds <= 0:  # spent already (waiting for a conversation file's lock, say)
        _on_alarm(None, None)
    try:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    except (ValueError, AttributeError):  # not the main thread, or no SIGALRM
        yield timer
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield timer
    finally:
        timer.disarm()
        signal.signal(signal.SIGALRM, previous)
