"""The exit-status contract: every stop_reason and every kind of API failure."""

import json

import pytest

from msgcli.status import EXIT_STATUS_MEANINGS, ExitStatus
from tests.conftest import message


@pytest.mark.parametrize("stop_reason,code", [
    ("end_turn", 0), ("stop_sequence", 0), ("max_tokens", 3), ("refusal", 4),
    ("tool_use", 5), ("model_context_window_exceeded", 7),
    ("some_new_reason_2027", 8), (None, 8)])
def test_stop_reason_exit_codes(api, invoke, stop_reason, code):
    api.reply(message("text", stop_reason=stop_reason))
    r = invoke(["-n", "Hi"])
    assert r.code == code
    assert r.stdout == "text"


def test_pause_turn_exit_6_once_continuations_run_out(api, invoke):
    """A server that pauses every time: the first reply and five continuations, one
    answer made of their parts, then exit 6."""
    api.reply(message("text", stop_reason="pause_turn"))
    r = invoke(["-n", "Hi"])
    assert r.code == 6
    assert r.stdout == "text" * 6
    assert len(api.log) == 6
    assert "pause_turn" in r.stderr


def test_max_tokens_says_so_on_stderr(api, invoke):
    api.reply(message("cut", stop_reason="max_tokens"))
    r = invoke(["Hi"])
    assert r.code == 3
    assert r.stdout == "cut\n"
    assert "max_tokens" in r.stderr and "-t/--max-tokens" in r.stderr


def test_unknown_stop_reason_named(api, invoke):
    api.reply(message("x", stop_reason="teleported"))
    r = invoke(["Hi"])
    assert r.code == 8
    assert "'teleported'" in r.stderr


@pytest.mark.parametrize("http_status,error_type,code", [
    (400, "invalid_request_error", 10), (404, "not_found_error", 10),
    (413, "request_too_large", 10), (422, "invalid_request_error", 10),
    (418, "invalid_request_error", 10),
    (401, "authentication_error", 11), (402, "billing_error", 11),
    (403, "permission_error", 11), (429, "rate_limit_error", 12),
    (500, "api_error", 13), (503, "api_error", 13), (529, "overloaded_error", 13)])
def test_api_error_exit_codes_and_line(api, invoke, http_status, error_type, code):
    api.reply({"type": "error", "error": {"type": error_type, "message": "Boom happened"},
               "request_id": "req_err42"}, status=http_status,
              headers={"request-id": "req_err42"})
    r = invoke(["--retries", "0", "Hi"])
    assert r.code == code
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    line = lines[0]
    assert line.startswith("msgcli: ")
    for part in (f"HTTP {http_status}", error_type, "Boom happened", "req_err42"):
        assert part in line


def test_prefill_rejected_by_newer_model_is_exit_10(api, invoke):
    api.reply({"type": "error", "error": {
        "type": "invalid_request_error",
        "message": "This model does not support assistant message prefill."}}, status=400)
    r = invoke(["-p", "{", "Hi"])
    assert r.code == 10
    assert "prefill" in r.stderr
    assert r.stdout == ""


def test_200_carrying_an_error_object(api, invoke):
    api.reply({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    r = invoke(["Hi"])
    assert r.code == 13
    assert "overloaded_error" in r.stderr


@pytest.mark.parametrize("body,fragment", [
    (b"", "empty body"),
    (b"<html>oops</html>", "not JSON"),
    (b"[1, 2]", "not an object"),
    (json.dumps({"id": "x", "type": "message"}).encode(), "no 'content'"),
    (json.dumps({"content": [{"type": "text", "text": 5}]}).encode(), "without text"),
    (json.dumps({"content": ["not a block"]}).encode(), "no 'content'"),
])
def test_malformed_success_replies_are_13(api, invoke, body, fragment):
    api.reply(body)
    r = invoke(["Hi"])
    assert r.code == 13
    assert fragment in r.stderr
    assert r.stdout == ""


def test_proxy_html_502(api, invoke):
    api.expect_request("/v1/messages").respond_with_data(
        "<html><body><h1>502 Bad Gateway</h1></body></html>", status=502,
        content_type="text/html")
    r = invoke(["--retries", "0", "Hi"])
    assert r.code == 13
    assert "HTTP 502" in r.stderr and "text/html" in r.stderr and "502 Bad Gateway" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_connection_refused_is_14(invoke):
    r = invoke(["--retries", "0", "Hi"], base_url="http://127.0.0.1:9")
    assert r.code == 14
    assert "connection refused" in r.stderr


def test_every_status_has_a_meaning():
    assert set(EXIT_STATUS_MEANINGS) == set(ExitStatus)
