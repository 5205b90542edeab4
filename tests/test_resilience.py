"""Retries, timeouts, signals, closed pipes and secrets: what a 3 a.m. cron job meets."""

import email.utils
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from msgcli.wire.transport import ApiRetry, retry_after_seconds, should_retry
from tests.conftest import FAKE_KEY, FAKE_TOKEN, REPO, assert_no_secret, clean_env, message
from tests.support.scripted_server import (
    Drop,
    Pause,
    ScriptedServer,
    Sleep,
    plain_response,
    sse_response,
)
from tests.support.sse import sse_body, text_stream

OK = plain_response("200 OK", message("recovered"))


def error(status, error_type, headers=None):
    return plain_response(status, {"type": "error", "error": {
        "type": error_type, "message": "try later"}}, headers=headers)


FAST = {"retry-after-ms": "10"}


# -- the policy, as pure functions ----------------------------------------------

@pytest.mark.parametrize("status,headers,expected", [
    (408, {}, True), (409, {}, True), (429, {}, True), (500, {}, True), (502, {}, True),
    (503, {}, True), (529, {}, True), (400, {}, False), (401, {}, False), (403, {}, False),
    (404, {}, False), (413, {}, False), (422, {}, False),
    (400, {"x-should-retry": "true"}, True), (529, {"x-should-retry": "false"}, False),
    (500, {"x-should-retry": "FALSE "}, False)])
def test_should_retry(status, headers, expected):
    assert should_retry(status, headers) is expected


def test_retry_after_headers():
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    # SDK 2.x: no 60 s ceiling (--max-wait bounds it); zero or less means back off
    assert retry_after_seconds({"retry-after": "61"}) == 61
    assert retry_after_seconds({"retry-after-ms": "90000"}) == 90
    assert retry_after_seconds({"retry-after": "0"}) is None
    assert retry_after_seconds({"retry-after": "-5"}) is None
    assert retry_after_seconds({"retry-after": "nan"}) is None
    assert retry_after_seconds({"retry-after": "90"}, maximum=60) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 <= retry_after_seconds({"retry-after": date}) <= 20


def test_backoff_doubles_from_half_a_second_capped_at_8_with_jitter():
    from urllib3.util.retry import RequestHistory

    for attempts, (low, high) in enumerate(
            [(0.375, 0.5), (0.75, 1), (1.5, 2), (3, 4), (6, 8), (6, 8)], start=1):
        retry = ApiRetry(total=10, history=tuple(
            RequestHistory("POST", "/", None, 529, None) for _ in range(attempts)))
        waits = {retry.get_backoff_time() for _ in range(50)}
        assert all(low <= w <= high for w in waits), (attempts, waits)
        assert len(waits) > 1, "no jitter"


def test_the_retry_policy_names_no_private_urllib3_parameter():
    import inspect

    from msgcli.wire.transport import ApiRetry

    names = inspect.signature(ApiRetry.increment).parameters
    assert not [n for n in names if n.startswith("_")], names


# -- retries end to end ------------------------------------------------------------

def run(invoke, server, *args):
    return invoke(["--retries", "2", *args, "Hi"], base_url=server.url)


def test_529_then_success_with_verbose_attempts(invoke, scripted):
    server = scripted(error("529 Overloaded", "overloaded_error", FAST),
                      error("529 Overloaded", "overloaded_error", FAST), OK)
    r = run(invoke, server, "-v")
    assert (r.code, r.stdout) == (0, "recovered\n")
    assert len(server.requests) == 3
    attempts = [line for line in r.stderr.splitlines() if "retrying in" in line]
    assert len(attempts) == 2
    assert "attempt 1: HTTP 529 (request-id req_plain_test); retrying in 0.01 s" in attempts[0]
    assert "attempt 3" in r.stderr.splitlines()[-1]


@pytest.mark.parametrize("status,error_type,code", [
    ("429 Too Many Requests", "rate_limit_error", 12), ("500 Internal", "api_error", 13),
    ("529 Overloaded", "overloaded_error", 13), ("408 Timeout", "timeout_error", 10),
    ("409 Conflict", "invalid_request_error", 10)])
def test_retries_used_up(invoke, scripted, status, error_type, code):
    server = scripted(error(status, error_type, FAST))
    r = run(invoke, server)
    assert r.code == code
    assert len(server.requests) == 3
    assert "after 3 attempts" in r.stderr


@pytest.mark.parametrize("status", ["400 Bad Request", "401 Unauthorized", "403 Forbidden",
                                    "404 Not Found", "413 Too Large", "422 Unprocessable"])
def test_other_4xx_never_retried(invoke, scripted, status):
    server = scripted(error(status, "invalid_request_error", FAST), OK)
    r = run(invoke, server)
    assert r.code in (10, 11)
    assert len(server.requests) == 1


def test_x_should_retry_overrides(invoke, scripted):
    server = scripted(error("529 Overloaded", "overloaded_error",
                            {"x-should-retry": "false", **FAST}), OK)
    assert run(invoke, server).code == 13
    assert len(server.requests) == 1
    server = scripted(error("400 Bad Request", "invalid_request_error",
                            {"x-should-retry": "true", **FAST}), OK)
    assert run(invoke, server).code == 0
    assert len(server.requests) == 2


def test_retries_zero(invoke, scripted):
    server = scripted(error("529 Overloaded", "overloaded_error", FAST), OK)
    assert invoke(["--retries", "0", "Hi"], base_url=server.url).code == 13
    assert len(server.requests) == 1


def test_retries_from_environment(invoke, scripted):
    server = scripted(error("529 Overloaded", "overloaded_error", FAST))
    r = invoke(["Hi"], base_url=server.url, env={"MSGCLI_RETRIES": "4"})
    assert r.code == 13
    assert len(server.requests) == 5


def test_retry_after_is_obeyed(invoke, scripted):
    server = scripted(error("429 Too Many Requests", "rate_limit_error",
                            {"retry-after": "1"}), OK)
    started = time.monotonic()
    r = run(invoke, server)
    assert r.code == 0
    assert time.monotonic() - started >= 1.0


def test_retry_after_over_max_wait_gives_up_at_once(invoke, scripted):
    """Backing off instead would hammer a server that asked for an hour's patience."""
    server = scripted(error("429 Too Many Requests", "rate_limit_error",
                            {"retry-after": "3600", "request-id": "req_slow"}), OK)
    r = run(invoke, server, "-v")
    assert r.code == 12
    assert len(server.requests) == 1
    assert "asked to wait 3600 s, over --max-wait 600; not retried" in r.stderr
    assert "req_slow" in r.stderr and "retrying in" not in r.stderr


def test_long_retry_after_honoured_under_max_wait(invoke, scripted, monkeypatch):
    """A 120 s retry-after (over the old 60 s cap) is waited in full; the sleep is
    recorded, not slept."""
    import types

    import msgcli.wire.transport

    slept = []
    monkeypatch.setattr(msgcli.wire.transport, "time", types.SimpleNamespace(
        sleep=slept.append, monotonic=time.monotonic))
    server = scripted(error("429 Too Many Requests", "rate_limit_error",
                            {"retry-after": "120"}), OK)
    r = run(invoke, server, "--max-wait", "300")
    assert (r.code, r.stdout) == (0, "recovered\n")
    assert slept == [120.0]


def test_connection_refused_retried_then_14(invoke):
    started = time.monotonic()
    r = invoke(["--retries", "2", "-v", "Hi"], base_url="http://127.0.0.1:9")
    assert r.code == 14
    assert "after 3 attempts" in r.stderr and "connection refused" in r.stderr
    assert r.stderr.count("retrying in") == 2
    assert time.monotonic() - started >= 0.375 + 0.75


def test_dropped_before_response_is_retried(invoke, scripted):
    server = scripted([Drop()], OK)
    r = run(invoke, server)
    assert (r.code, r.stdout) == (0, "recovered\n")
    assert len(server.requests) == 2


def test_read_timeout(invoke, scripted):
    server = scripted([Sleep(5)] + OK)
    started = time.monotonic()
    r = invoke(["--retries", "0", "--timeout", "0.5", "Hi"], base_url=server.url)
    assert r.code == 14
    assert "timed out" in r.stderr
    assert time.monotonic() - started < 4


def test_timeout_from_environment(invoke, scripted):
    server = scripted([Sleep(5)] + OK)
    r = invoke(["--retries", "0", "Hi"], base_url=server.url, env={"MSGCLI_TIMEOUT": "0.3"})
    assert r.code == 14


def test_stalled_stream_times_out(invoke, scripted):
    first = sse_body(text_stream(["part"])[:3])
    server = scripted(sse_response([first, Sleep(5)], terminate=False))
    r = invoke(["--stream", "--timeout", "0.5", "Hi"], base_url=server.url)
    assert r.code == 14
    assert r.stdout == "part"
    assert len(server.requests) == 1


# -- signals ---------------------------------------------------------------------------

def start(server_url, args, **kw):
    return subprocess.Popen([sys.executable, "-m", "msgcli", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=clean_env(server_url), **kw)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("phase", ["waiting", "streaming", "retry-wait"])
def test_signal_exit_and_conversation_untouched(tmp_path, sig, code, phase):
    hold = threading.Event()
    if phase == "waiting":
        script = [Pause(hold, 30)] + OK
    elif phase == "streaming":
        events = text_stream(["first ", "second"])
        script = sse_response([sse_body(events[:3]), Pause(hold, 30),
                               sse_body(events[3:])])
    else:
        script = error("529 Overloaded", "overloaded_error", {"retry-after": "30"})
    server = ScriptedServer([script])
    chat = tmp_path / "chat.json"
    original = json.dumps([{"role": "user", "content": "Hi"},
                           {"role": "assistant", "content": "Hello"}], indent=2) + "\n"
    chat.write_text(original)
    args = ["-c", str(chat), "Next"] + (["--stream"] if phase == "streaming" else [])
    proc = start(server.url, args)
    try:
        deadline = time.monotonic() + 20
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        assert_no_secret(out, err)
    finally:
        hold.set()
        server.close()
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert len(err.decode().strip().splitlines()) <= 1
    assert chat.read_text() == original
    assert not [p for p in os.listdir(tmp_path) if p not in ("chat.json", ".chat.json.lock")], \
        "temp file left behind"
    if phase == "streaming":
        assert out == b"first "


def test_ctrl_c_while_reading_stdin():
    proc = subprocess.Popen([sys.executable, "-m", "msgcli", "Hi"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=clean_env("http://127.0.0.1:9"))
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert_no_secret(out, err)
    assert proc.returncode == 130
    assert b"Traceback" not in err


@pytest.mark.parametrize("reader", ["head -c 1", "true"])
@pytest.mark.parametrize("stream", [True, False])
def test_closed_stdout_is_141_and_silent(api, reader, stream):
    api.reply(message("y" * 300000))
    events = sse_body(text_stream(["y" * 1000] * 300))
    server = ScriptedServer([sse_response([events])])
    base = server.url if stream else api.base
    flag = "--stream" if stream else "--no-stream"
    try:
        proc = subprocess.run(
            f"{sys.executable} -m msgcli {flag} Hi | {reader}; exit ${{PIPESTATUS[0]}}",
            shell=True, capture_output=True, cwd=REPO, env=clean_env(base),
            executable="/bin/bash", timeout=60)
    finally:
        server.close()
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 141
    assert proc.stderr == b"", proc.stderr


@pytest.mark.parametrize("flag", ["-o", "-c"])
def test_sigterm_unwinds_while_the_files_are_written(api, invoke, tmp_path, monkeypatch,
                                                     flag):
    """While -o/-c write, SIGTERM raises (so atomic.replacing's cleanup runs and removes
    its temp file) rather than killing the process mid-write."""
    import signal

    from msgcli.errors import on_sigterm
    from msgcli.output import atomic

    real, handlers = atomic.replacing, []

    def spy(*args, **kwargs):  # (-o through atomic.write; -c streams into it)
        handlers.append(signal.getsignal(signal.SIGTERM))
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic, "replacing", spy)
    api.reply()
    assert invoke([flag, str(tmp_path / "file"), "Hi"]).code == 0
    assert handlers == [on_sigterm]
    assert signal.getsignal(signal.SIGTERM) is not on_sigterm  # restored afterwards


# -- secrets ------------------------------------------------------------------------

def echo_secrets(request_headers):
    return f"key={request_headers.get('x-api-key')} auth={request_headers.get('authorization')}"


def test_server_echoing_the_key_in_an_error(api, invoke):
    from werkzeug import Response

    def handler(request):
        return Response(json.dumps({"type": "error", "error": {
            "type": "authentication_error",
            "message": "invalid x-api-key " + echo_secrets(request.headers) +
                       " token=" + FAKE_TOKEN}}),
            status=401, content_type="application/json")

    api.expect_request("/v1/messages").respond_with_handler(handler)
    # both set: the key alone is sent, and the token, though unsent, is still redacted
    r = invoke(["-v", "Hi"], env={"ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN})
    assert r.code == 11
    assert "invalid x-api-key key=[REDACTED] auth=None token=[REDACTED]" in r.stderr


def test_server_echoing_the_key_in_the_answer(api, invoke):
    from werkzeug import Response

    def handler(request):
        return Response(json.dumps(message("You sent " + echo_secrets(request.headers))),
                        content_type="application/json")

    api.expect_request("/v1/messages").respond_with_handler(handler)
    for flags in ([], ["-j"]):
        r = invoke([*flags, "Hi"])
        assert r.code == 0
        assert "[REDACTED]" in r.stdout


def test_key_split_across_stream_deltas_is_redacted(invoke, scripted):
    pieces = ["Your key is ", FAKE_KEY[:5], FAKE_KEY[5:20], FAKE_KEY[20:], " ok"]
    server = scripted(sse_response([sse_body(text_stream(pieces))]))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "Your key is [REDACTED] ok\n")


def test_key_in_header_flag_is_redacted(api, invoke):
    secret = "sk-ant-another-secret-value-123456"
    r = invoke(["--dry-run", "-v", "-H", f"x-api-key: {secret}", "Hi"])
    assert secret not in r.stdout + r.stderr
    assert "x-api-key: [REDACTED]" in r.stdout


def test_real_process_outputs_never_hold_the_key(api, run_cli):
    api.reply(message("fine"))
    for args in (["-v", "-u", "Hi"], ["--dry-run", "Hi"], ["-j", "Hi"]):
        r = run_cli(args)
        assert_no_secret(r.stdout, r.stderr)
        assert r.code == 0


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_could_begin_a_key_still_gets_its_newline(api, invoke, scripted,
                                                                 tmp_path, stream):
    """'s' may begin the key (sk-ant-...), so it is held back until the end; the
    newline rule must still see it (found by test_fast_path's hypothesis run)."""
    server = scripted(sse_response([sse_body(text_stream(["s"]))]) if stream
                      else plain_response("200 OK", message("s")))
    args = ["--stream"] if stream else []
    assert invoke([*args, "Hi"], base_url=server.url).stdout == "s\n"
    out = tmp_path / "answer.txt"
    assert invoke([*args, "-o", str(out), "Hi"], base_url=server.url).code == 0
    assert out.read_text() == "s\n"


def test_retry_resends_the_whole_body(invoke, scripted, tmp_path):
    """The body goes out as chunks (a large image is never joined); a retry must
    send every byte again."""
    png = (REPO / "tests" / "data" / "pixel.png").read_bytes()
    image = tmp_path / "big.png"
    image.write_bytes(png[:33] + b"\0" * 2_000_000 + png[33:])
    server = scripted(error("529 Overloaded", "overloaded_error", FAST), [Drop()], OK)
    r = invoke(["--retries", "3", "-i", str(image), "Describe"], base_url=server.url)
    assert r.code == 0
    bodies = [req["body"] for req in server.requests]
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    assert int(server.requests[2]["headers"]["content-length"]) == len(bodies[2])
    content = json.loads(bodies[2])["messages"][0]["content"]
    assert len(content[0]["source"]["data"]) == 4 * ((len(png) + 2_000_000 + 2) // 3)
