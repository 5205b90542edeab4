"""One request's long waits: --max-wait and --deadline against a server that asks for
a long Retry-After, stalls a stream or never answers; the time left shown on the retry
and waiting lines. (--deadline over --jsonl and --batch: tests/test_deadline.py.)"""

import re
import threading
import time
import types

import pytest
from urllib3 import HTTPResponse

from msgcli.wire.transport import ApiRetry
from msgcli.wire.waits import WaitLimits
from tests.conftest import error_body, message
from tests.support.scripted_server import Pause, plain_response, sse_response
from tests.support.sse import sse_body, text_stream


def rate_limited(seconds):
    return plain_response("429 Too Many Requests", error_body("slow down", "rate_limit_error"),
                          headers={"retry-after": str(seconds)})


def test_retry_after_past_the_deadline_gives_up_at_once(invoke, scripted):
    server = scripted(rate_limited(100), plain_response("200 OK", message()))
    r = invoke(["--deadline", "30", "Hi"], base_url=server.url)
    assert r.code == 12  # what the server said last: rate limited
    assert len(server.requests) == 1
    assert "asked to wait 100 s, past --deadline" in r.stderr


def test_max_wait_zero_never_waits_on_retry_after(invoke, scripted):
    server = scripted(rate_limited(1), plain_response("200 OK", message()))
    r = invoke(["--max-wait", "0", "Hi"], base_url=server.url)
    assert r.code == 12 and len(server.requests) == 1
    assert "over --max-wait 0" in r.stderr


def test_retry_after_within_the_deadline_is_waited(invoke, scripted):
    server = scripted(rate_limited(1), plain_response("200 OK", message("after the wait")))
    r = invoke(["--deadline", "30", "Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "after the wait\n")
    assert len(server.requests) == 2


def test_deadline_cuts_a_stalled_stream(invoke, scripted):
    hold = threading.Event()
    first = sse_body(text_stream(["part"])[:3])
    server = scripted(sse_response([first, Pause(hold, 30)], terminate=False))
    try:
        r = invoke(["--stream", "--deadline", "1", "Hi"], base_url=server.url)
    finally:
        hold.set()
    assert r.code == 14
    assert r.stdout == "part"
    assert "deadline reached" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_deadline_cuts_a_server_that_never_answers(invoke, scripted):
    hold = threading.Event()
    server = scripted([Pause(hold, 30)])
    try:
        r = invoke(["--deadline", "0.5", "--retries", "3", "Hi"], base_url=server.url)
    finally:
        hold.set()
    assert r.code == 14
    assert "deadline" in r.stderr
    assert len(server.requests) == 1


def test_deadline_from_environment_and_checked(invoke):
    r = invoke(["Hi"], env={"MSGCLI_DEADLINE": "0"})
    assert r.code == 2 and "MSGCLI_DEADLINE" in r.stderr


def test_a_deadline_already_spent_stops_at_once():
    """As after waiting out another run's lock on the conversation file."""
    from msgcli.wire.waits import DeadlineReached, alarm

    reached = []
    with pytest.raises(DeadlineReached):
        with alarm(-0.5):
            reached.append(True)
    assert reached == []


def test_on_retry_gets_the_wait_and_what_is_left(monkeypatch):
    """The hook the terminal status line uses: wait and remaining seconds."""
    import msgcli.wire.transport

    slept, seen = [], []
    monkeypatch.setattr(msgcli.wire.transport, "time", types.SimpleNamespace(
        sleep=slept.append, monotonic=time.monotonic))
    retry = ApiRetry(total=2, on_retry=lambda h, r, wait, remaining=None:
                     seen.append((wait, remaining)),
                     limits=WaitLimits(max_wait=600, deadline=time.monotonic() + 100))
    response = HTTPResponse(status=429, headers={"retry-after": "7"})
    fresh = retry.increment("POST", "/v1/messages", response=response)
    fresh.sleep(response)
    (wait, remaining), = seen
    assert wait == 7 and 90 < remaining <= 100
    assert slept == [7]


def test_verbose_retry_line_shows_the_time_left(invoke, scripted):
    server = scripted(rate_limited(0.01), plain_response("200 OK", message()))
    r = invoke(["-v", "--deadline", "60", "Hi"], base_url=server.url)
    assert r.code == 0
    assert re.search(r"retrying in 0\.01 s \(attempt 2, \d+\.\d s left before --deadline\)",
                     r.stderr)


def test_terminal_line_shows_what_is_left_of_the_deadline():
    """The shell's waiting line (msgcli.output.progress), given --deadline by the transport."""
    from msgcli.output.progress import Waiting

    now = [100.0]
    waiting = Waiting(types.SimpleNamespace(is_terminal=lambda: False), "claude-x",
                      started=100.0, run_deadline=130.0, clock=lambda: now[0])
    now[0] = 112.0
    assert waiting.text() == "waiting for claude-x\u2026 12s, 18s left of --deadline"
    waiting.retrying(HTTPResponse(status=429), None, 8, 2, 3)
    assert waiting.text() == "rate limited (429), retrying in 8s, attempt 2/3, " \
        "18s left of --deadline"
    assert Waiting(None, "m", started=0, clock=lambda: 5).text() == "waiting for m\u2026 5s"
