"""The federation token cache's lock: a run waits for another run's exchange, saying
so on a terminal, and gives up (exit 16, nothing sent) when the other holds it past
the bound, rather than hanging with it."""

import fcntl
import os
import threading
import time

import pytest

from msgcli.errors import MsgcliError
from msgcli.platforms import federation


class TerminalConsole:
    def __init__(self):
        self.shown, self.cleared = [], 0

    def status(self, text):
        self.shown.append(text)

    def clear_status(self):
        self.cleared += 1


@pytest.fixture
def held(tmp_path):
    """The lock file, held by another open file (as another process would hold it)."""
    path = tmp_path / "cache" / "federation-x.json.lock"
    path.parent.mkdir(mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield path, fd
    os.close(fd)


def attempt(path, console):
    """Take the lock in a thread, as a run would: (what happened, the thread), so that
    a lock that blocks for ever fails the test instead of hanging it."""
    outcome = {}
    lock = federation._FileLock(str(path))
    lock.console = console

    def run():
        try:
            with lock:
                outcome["held"] = True
        except MsgcliError as e:
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return outcome, thread


def test_a_lock_held_past_the_bound_is_given_up(held, monkeypatch):
    monkeypatch.setattr(federation, "LOCK_WAIT_SECONDS", 0.3, raising=False)
    path, _ = held
    console = TerminalConsole()
    outcome, thread = attempt(path, console)
    thread.join(10)
    assert not thread.is_alive(), "the lock was waited for without a bound"
    error = outcome["error"]
    assert error.exit_code == 16
    assert "federation token cache" in error.message and "busy" in error.message
    assert console.shown and "waiting" in console.shown[0]  # said while it waited
    assert console.cleared >= 1  # and the status line is gone afterwards


def test_a_lock_released_in_time_is_taken(held):
    """The bound is a wait, not a refusal: released within it, the lock is taken."""
    path, fd = held
    outcome, thread = attempt(path, TerminalConsole())
    time.sleep(0.2)
    fcntl.flock(fd, fcntl.LOCK_UN)  # the other run's exchange is done
    thread.join(10)
    assert outcome == {"held": True}
