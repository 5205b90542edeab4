"""What a person sees on a terminal (issue 12): a transient waiting line and a
retry line on stderr, only when stderr is a terminal, cleared before anything
else; an error after partial text on the same terminal starts on a new line.

msgcli runs in a real pseudo-terminal; the local server waits until the test has
seen the line, so no timing is asserted.
"""

import os
import select
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import REPO, assert_no_secret, clean_env, message
from tests.support.scripted_server import Drop, Pause, plain_response, sse_response
from tests.support.sse import sse_body, text_stream

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")


class Terminal:
    """msgcli with stderr (and, with `shared`, stdout) on a pty; the pty's bytes
    are collected by a thread as they come."""

    def __init__(self, args, base_url, shared=False, env=None):
        self.master, slave = os.openpty()
        self.data = b""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "msgcli", *args], cwd=REPO, stdin=subprocess.DEVNULL,
            stdout=slave if shared else subprocess.PIPE, stderr=slave,
            env=clean_env(base_url, TERM="xterm", **(env or {})))
        os.close(slave)
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None and not self._pending():
                    return
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed the pty
                return
            if not chunk:
                return
            with self._lock:
                self.data += chunk

    def _pending(self):
        ready, _, _ = select.select([self.master], [], [], 0)
        return bool(ready)

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if text.encode() in self.data:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared on the terminal: {self.data!r}")

    def finish(self, timeout=30):
        stdout = self.proc.stdout.read() if self.proc.stdout else b""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        os.close(self.master)
        assert_no_secret(stdout, self.data)
        return code, stdout.decode(), self.data.decode("utf-8", "replace")


def test_waiting_line_ticks_and_is_cleared(scripted):
    go = threading.Event()
    server = scripted([Pause(go, timeout=30)] + plain_response("200 OK", message("Hi!")))
    term = Terminal(["-m", "claude-opus-4-8", "Hello"], server.url)
    term.wait_for("waiting for claude-opus-4-8\u2026 1s")
    term.wait_for("waiting for claude-opus-4-8\u2026 2s")  # it ticks
    go.set()
    code, stdout, screen = term.finish()
    assert (code, stdout) == (0, "Hi!\n")
    assert screen.endswith("\r\x1b[K"), "the line was not erased at the end"
    assert "msgcli:" not in screen


def test_retry_line(scripted):
    server = scripted(
        plain_response("429 Too Many Requests",
                       {"type": "error", "error": {"type": "rate_limit_error",
                                                   "message": "slow down"}},
                       headers={"retry-after": "3"}),
        plain_response("200 OK", message("Done.")))
    term = Terminal(["Hello"], server.url)
    term.wait_for("rate limited (429), retrying in 3s, attempt 2/3")
    term.wait_for("retrying in 1s, attempt 2/3")  # it counts down
    code, stdout, screen = term.finish()
    assert (code, stdout) == (0, "Done.\n")
    assert screen.endswith("\r\x1b[K")


def test_status_line_cleared_before_the_answer_on_the_same_terminal(scripted):
    go = threading.Event()
    server = scripted([Pause(go, timeout=30)] + plain_response("200 OK", message("Hi!")))
    term = Terminal(["Hello"], server.url, shared=True)
    term.wait_for("waiting for")
    go.set()
    code, _, screen = term.finish()
    assert code == 0
    # the answer starts on an erased line, not after the status text
    assert screen.endswith("\r\x1b[KHi!\r\n"), screen


def test_no_status_line_off_a_terminal(scripted):
    go = threading.Event()
    server = scripted([Pause(go, timeout=30)] + plain_response("200 OK", message("Hi!")))
    proc = subprocess.Popen([sys.executable, "-m", "msgcli", "Hello"], cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(server.url))
    while not server.requests:  # the request is in; msgcli now waits for the answer
        time.sleep(0.05)
    time.sleep(1.5)  # longer than the line's first showing, were it a terminal
    go.set()
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout, stderr) == (0, b"Hi!\n", b"")


def broken_stream():
    sse = sse_body(text_stream(["Hel"])[:-3])
    return sse_response([sse, Drop()], terminate=False)


def test_mid_stream_error_starts_on_a_new_line(scripted):
    server = scripted(broken_stream())
    term = Terminal(["--stream", "Hello"], server.url, shared=True)
    code, _, screen = term.finish()
    assert code == 14
    assert "Hel\r\nmsgcli: " in screen, screen
    assert screen.count("msgcli: ") == 1


def test_mid_stream_error_with_stdout_elsewhere_is_not_preceded_by_a_newline(scripted):
    server = scripted(broken_stream())
    term = Terminal(["--stream", "Hello"], server.url)
    code, stdout, screen = term.finish()
    assert (code, stdout) == (14, "Hel")
    assert screen.startswith("msgcli: "), screen


def test_ctrl_c_while_waiting_clears_the_line(scripted):
    import signal

    go = threading.Event()
    server = scripted([Pause(go, timeout=30)] + plain_response("200 OK", message("Hi!")))
    term = Terminal(["Hello"], server.url)
    term.wait_for("waiting for")
    term.proc.send_signal(signal.SIGINT)
    code, stdout, screen = term.finish()
    go.set()
    assert (code, stdout) == (130, "")
    assert screen.endswith("\r\x1b[Kmsgcli: interrupted\r\n"), screen
