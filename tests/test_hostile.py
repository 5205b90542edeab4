"""A hostile server and hostile input (issue 18): the key never leaks, nothing a
server sends drives the terminal, every message is one line, concurrent runs on
one conversation file lose no turn, and a malformed reply is exit 13, never 1.

Memory and time bounds under a memory limit are in test_hostile_limits.py; the
random fuzz in test_hostile_properties.py."""

import json
import os
import subprocess
import sys
import threading

import pytest

from msgcli.status import ExitStatus
from tests.conftest import FAKE_KEY, REPO, clean_env, message
from tests.support.hostile_server import (
    TERMINAL_ATTACK,
    block_start,
    block_stop,
    delta,
    head,
    message_end,
    message_start,
    reply,
    stream,
    thinking_stream,
)
from tests.support.scripted_server import Sleep
from tests.support.sse import sse_event

OTHER_KEY = "sk-ant-api03-Pasted-Into-The-Wrong-Place-0123456789abcdef"


def assert_clean_stderr(stderr, lines=1):
    """Nothing but printable text and the newlines that end msgcli's own lines."""
    assert stderr.endswith("\n") or not stderr and not lines
    assert stderr.count("\n") == lines, stderr
    bad = [c for c in stderr if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
    assert not bad, f"control characters reached stderr: {bad!r} in {stderr!r}"


# -- the key ----------------------------------------------------------------------

def test_key_split_across_thinking_deltas_is_redacted_on_stderr(hostile, invoke):
    cut = len(FAKE_KEY) // 2
    server = hostile(thinking_stream([f"the key is {FAKE_KEY[:cut]}",
                                      f"{FAKE_KEY[cut:]} and more"]))
    r = invoke(["--stream", "--show-thinking", "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert r.stderr == "the key is [REDACTED] and more\n"  # and invoke checks no leak
    assert r.stdout == "ok\n"


def test_key_prefix_at_end_of_thinking_is_shown_once_the_stream_says_no(hostile, invoke):
    server = hostile(thinking_stream(["ends with sk-ant-api03-FA", "X done"]))
    r = invoke(["--stream", "--show-thinking", "Hi"], base_url=server.url)
    assert r.stderr == "ends with sk-ant-api03-FAX done\n"


def test_thinking_cut_by_an_error_keeps_its_text_and_the_error_on_its_own_line(
        hostile, invoke):
    server = hostile(stream(message_start(),
                            block_start(0, {"type": "thinking", "thinking": ""}),
                            delta(0, "thinking_delta", "thinking", "half a thought sk-"),
                            sse_event({"type": "error", "error": {"type": "overloaded_error",
                                                              "message": "busy"}})))
    r = invoke(["--stream", "--show-thinking", "Hi"], base_url=server.url)
    assert r.code == ExitStatus.SERVER_ERROR
    assert r.stderr.splitlines()[0] == "half a thought sk-"
    assert r.stderr.splitlines()[1].startswith("msgcli: API error in the stream")


@pytest.mark.parametrize("args", [
    ["--timeout", OTHER_KEY, "Hi"],
    ["--max-tokens", OTHER_KEY, "Hi"],
    ["--thinking", OTHER_KEY, "Hi"],
    ["--effort", OTHER_KEY, "Hi"],
    [f"--{OTHER_KEY}", "Hi"],
    ["--tools", OTHER_KEY, "Hi"],
])
def test_key_pasted_into_a_wrong_option_is_not_echoed(invoke, args):
    r = invoke(args)
    assert r.code == ExitStatus.USAGE, r
    assert OTHER_KEY not in r.stderr and "[REDACTED]" in r.stderr, r.stderr
    assert_clean_stderr(r.stderr)


def test_key_pasted_into_an_option_variable_is_not_echoed(invoke):
    r = invoke(["Hi"], env={"MSGCLI_TIMEOUT": OTHER_KEY})
    assert r.code == ExitStatus.USAGE
    assert OTHER_KEY not in r.stderr and "MSGCLI_TIMEOUT" in r.stderr


@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["-v"], ["--dry-run", "-j"]])
def test_password_in_base_url_is_refused_and_never_shown(hostile, invoke, extra):
    server = hostile(reply(message()))
    url = server.url.replace("http://", "http://alice:s3cret-passw0rd@")
    r = invoke([*extra, "Hi"], base_url=url)
    assert r.code == ExitStatus.USAGE, r
    assert "s3cret-passw0rd" not in r.stdout + r.stderr
    assert "alice" not in r.stderr and "ANTHROPIC_BASE_URL: a user name" in r.stderr
    assert server.requests == []
    r = invoke(["--base-url", url, *extra, "Hi"])
    assert r.code == ExitStatus.USAGE and "s3cret-passw0rd" not in r.stdout + r.stderr


def test_at_sign_in_a_base_url_path_is_fine(hostile, invoke):
    server = hostile(reply(message()))
    r = invoke(["Hi"], base_url=server.url + "/proxy/@team")
    assert r.code == 0, r
    assert server.requests[0]["line"].startswith("POST /proxy/@team/v1/messages")


@pytest.mark.parametrize("streamed", [False, True])
def test_output_file_gets_an_echoed_key_redacted(hostile, invoke, tmp_path, streamed):
    cut = len(FAKE_KEY) // 2
    if streamed:
        pieces = [f"echo {FAKE_KEY[:cut]}", f"{FAKE_KEY[cut:]} done"]
        script = stream(message_start(), block_start(0, {"type": "text", "text": ""}),
                        *[delta(0, "text_delta", "text", p) for p in pieces],
                        block_stop(0), message_end())
    else:
        script = reply(json.dumps(message(text=f"echo {FAKE_KEY} done")))
    path = tmp_path / "answer.txt"
    r = invoke(["-o", str(path), "--stream" if streamed else "--no-stream", "Hi"],
               base_url=hostile(script).url)
    assert r.code == 0, r
    assert path.read_text() == "echo [REDACTED] done\n"


# -- terminal control and one-line messages ----------------------------------------

MULTILINE = f"line one\nline two\r\nline three {TERMINAL_ATTACK}"


@pytest.mark.parametrize("script", [
    pytest.param(reply({"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": MULTILINE}},
                       status="400 Bad Request"), id="http-error-message"),
    pytest.param(reply({"type": "error", "error": {"type": f"x{TERMINAL_ATTACK}\nx",
                                                   "message": "m"}},
                       status="500 Oops"), id="http-error-type"),
    pytest.param(reply({"type": "error", "error": {"type": "api_error",
                                                   "message": MULTILINE}}),
                 id="error-object-in-200"),
    pytest.param(stream(message_start(), sse_event({"type": "error", "error": {
        "type": "overloaded_error", "message": MULTILINE}})), id="stream-error-event"),
    pytest.param(reply(b"<html>\x1b[2J\nnot an error\n</html>", status="502 Bad Gateway",
                       content_type="text/html"), id="non-json-error-body"),
    pytest.param(reply(b"", status="302 Found",
                       headers={"location": f"http://evil/{TERMINAL_ATTACK}"}),
                 id="redirect-location"),
    pytest.param(reply(b"", status="307 Temporary Redirect",
                       headers={"location": "http://evil/a\x1b]0;x\x07b"}),
                 id="redirect-307"),
])
def test_server_text_is_escaped_and_one_line(hostile, invoke, script):
    server = hostile(script)
    r = invoke(["--retries", "0", "Hi"], base_url=server.url)
    assert r.code in (ExitStatus.API_REJECTED, ExitStatus.SERVER_ERROR), r
    assert_clean_stderr(r.stderr)
    assert "\\x1b" in r.stderr or "not UTF-8" in r.stderr  # shown as an escape, or refused


def test_reason_phrase_and_request_id_under_verbose_are_escaped(hostile, invoke):
    body = json.dumps(message()).encode()
    server = hostile([
        (f"HTTP/1.1 200 OK{TERMINAL_ATTACK}\r\ncontent-type: application/json\r\n"
         f"request-id: req_{TERMINAL_ATTACK}\r\ncontent-length: {len(body)}\r\n"
         "connection: close\r\n\r\n").encode("latin-1"), body])
    r = invoke(["-v", "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert_clean_stderr(r.stderr, lines=2)
    assert "\\x1b]0;pwned\\x07" in r.stderr


def test_retry_line_under_verbose_is_escaped(hostile, invoke):
    server = hostile(reply({"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "x"}},
                           status="529 Overloaded",
                           headers={"request-id": f"r{TERMINAL_ATTACK}",
                                    "retry-after": "0"}),
                     reply(message()))
    r = invoke(["-v", "--retries", "1", "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert_clean_stderr(r.stderr, lines=r.stderr.count("msgcli: "))


@pytest.mark.parametrize("streamed", [True, False])
def test_show_thinking_escapes_control_characters_but_keeps_lines(hostile, invoke,
                                                                  streamed):
    """Documented: thinking on stderr keeps newlines and tabs; every other control
    character is written as an escape (\\x1b), on a terminal or not."""
    thought = f"step 1\n\tstep 2 {TERMINAL_ATTACK}"
    if streamed:
        server = hostile(thinking_stream([thought[:9], thought[9:]]))
    else:
        server = hostile(reply(message(content=[
            {"type": "thinking", "thinking": thought, "signature": "s"},
            {"type": "text", "text": "ok"}])))
    r = invoke(["--show-thinking", "--stream" if streamed else "--no-stream", "Hi"],
               base_url=server.url)
    assert r.code == 0, r
    assert r.stderr.startswith("step 1\n\tstep 2 \\x1b]0;pwned\\x07")
    assert_clean_stderr(r.stderr.replace("\t", ""), lines=2)


# -- the conversation file -----------------------------------------------------------

def test_concurrent_runs_on_one_conversation_file_lose_no_turn(hostile, tmp_path):
    """Four runs at once, each reply slow enough that they overlap: all four turns
    are kept, in some order."""
    server = hostile([Sleep(0.3), *reply(message("reply"))])
    chat = tmp_path / "chat.json"
    procs = [subprocess.Popen([sys.executable, "-m", "msgcli", "-c", str(chat), f"turn {i}"],
                              cwd=REPO, env=clean_env(server.url),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0] * 4, results
    messages = json.loads(chat.read_text())
    assert len(messages) == 8
    assert sorted(m["content"] for m in messages if m["role"] == "user") == \
        [f"turn {i}" for i in range(4)]
    assert len(server.requests) == 4
    # the request of each run carried every turn kept before it
    sizes = sorted(len(b["messages"]) for b in server.json_bodies())
    assert sizes == [1, 3, 5, 7]


def test_a_busy_conversation_file_is_exit_16_and_nothing_is_sent(hostile, invoke,
                                                                   tmp_path, monkeypatch):
    import fcntl

    from msgcli.inputs import conversation

    monkeypatch.setattr(conversation, "LOCK_WAIT_SECONDS", 0.3)
    server = hostile(reply(message()))
    chat = tmp_path / "chat.json"
    chat.write_text('[{"role": "user", "content": "a"}, '
                    '{"role": "assistant", "content": "b"}]')
    with open(tmp_path / ".chat.json.lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        r = invoke(["-c", str(chat), "Hi"], base_url=server.url)
    assert r.code == ExitStatus.CONVERSATION_BUSY == 16, r
    assert "busy" in r.stderr and "nothing was sent" in r.stderr
    assert server.requests == []
    assert len(json.loads(chat.read_text())) == 2


def test_a_waiting_run_goes_ahead_when_the_lock_is_released(hostile, invoke, tmp_path):
    import fcntl

    server = hostile(reply(message()))
    chat = tmp_path / "chat.json"
    holder = open(tmp_path / ".chat.json.lock", "w")
    fcntl.flock(holder, fcntl.LOCK_EX)
    threading.Timer(0.5, holder.close).start()
    r = invoke(["-c", str(chat), "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert len(json.loads(chat.read_text())) == 2


def test_conversation_through_a_symlink_writes_the_target(hostile, invoke, tmp_path):
    server = hostile(reply(message("B")))
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = target_dir / "chat.json"
    target.write_text('[{"role": "user", "content": "a"}, '
                      '{"role": "assistant", "content": "b"}]')
    link = tmp_path / "link.json"
    link.symlink_to(target)
    r = invoke(["-c", str(link), "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert len(json.loads(target.read_text())) == 4
    assert (target_dir / ".chat.json.lock").exists()


def test_conversation_through_a_dangling_symlink_creates_the_target(hostile, invoke,
                                                                    tmp_path):
    server = hostile(reply(message()))
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    r = invoke(["-c", str(link), "Hi"], base_url=server.url)
    assert r.code == 0, r
    assert link.is_symlink() and len(json.loads((tmp_path / "new.json").read_text())) == 2


@pytest.mark.parametrize("make", ["loop", "directory", "missing-dir", "device"])
def test_an_unusable_conversation_file_fails_before_the_request(hostile, invoke,
                                                                tmp_path, make):
    server = hostile(reply(message()))
    path = tmp_path / "chat.json"
    if make == "loop":
        path.symlink_to(tmp_path / "other.json")
        (tmp_path / "other.json").symlink_to(path)
    elif make == "directory":
        path.symlink_to(tmp_path)
    elif make == "missing-dir":
        path = tmp_path / "no" / "chat.json"
    else:
        path.symlink_to("/dev/null")
    r = invoke(["-c", str(path), "Hi"], base_url=server.url)
    assert r.code == ExitStatus.USAGE, r
    assert server.requests == [], "the paid request was sent before the failure"
    assert_clean_stderr(r.stderr)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anything")
def test_a_read_only_conversation_file_fails_before_the_request(hostile, invoke,
                                                                tmp_path):
    server = hostile(reply(message()))
    path = tmp_path / "chat.json"
    path.write_text("[]")
    path.chmod(0o444)
    r = invoke(["-c", str(path), "Hi"], base_url=server.url)
    assert r.code == ExitStatus.USAGE and server.requests == []


# -- malformed replies: exit 13, never 1 ------------------------------------------------

def _whole(**fields):
    return reply(message(**fields))


MALFORMED = {
    "content items not objects": _whole(content=[1, "text", None]),
    "content a string": _whole(content="hello"),
    "text a number": _whole(content=[{"type": "text", "text": 5}]),
    "thinking a number": _whole(content=[{"type": "thinking", "thinking": 5}]),
    "stream content replaced by a number": stream(
        message_start(), block_start(0, {"type": "text", "text": ""}),
        delta(0, "text_delta", "text", "hi"), block_stop(0),
        sse_event({"type": "message_delta", "delta": {"content": 5,
                                                  "stop_reason": "end_turn"}}),
        sse_event({"type": "message_stop"})),
    "stream content replaced mid-block": stream(
        message_start(), block_start(0, {"type": "text", "text": ""}),
        delta(0, "text_delta", "text", "hi"),
        sse_event({"type": "message_delta", "delta": {"content": 5}}),
        delta(0, "text_delta", "text", "more"), message_end()),
    "stream content items replaced by numbers": stream(
        message_start(), block_start(0, {"type": "text", "text": ""}), block_stop(0),
        sse_event({"type": "message_delta", "delta": {"content": [1, 2]}}), message_end()),
    "stream block text a number": stream(
        message_start(), block_start(0, {"type": "text", "text": 7}), block_stop(0),
        message_end()),
    "stream message content items not objects": stream(
        message_start(content=[1]), message_end()),
    "stream delta text a list": stream(
        message_start(), block_start(0, {"type": "text", "text": ""}),
        delta(0, "text_delta", "text", ["x"]), message_end()),
    "stream thinking a number": stream(
        message_start(), block_start(0, {"type": "thinking", "thinking": 3}), block_stop(0),
        message_end()),
    "stop_reason an object": _whole(stop_reason={"a": 1}),
    "usage a list": _whole(usage=[1, 2]),
    "tool_use without fields": _whole(stop_reason="tool_use",
                                      content=[{"type": "tool_use"}]),
}


@pytest.mark.parametrize("extra", [[], ["-c", "CHAT"], ["-u", "--show-thinking"], ["-j"],
                                   ["-p", "Pre"], ["--schema", '{"type":"object"}']])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_reply_is_a_documented_status(hostile, invoke, tmp_path, name, extra):
    server = hostile(MALFORMED[name])
    extra = [str(tmp_path / "chat.json") if a == "CHAT" else a for a in extra]
    streamed = "stream" in name
    r = invoke(["--stream" if streamed else "--no-stream", *extra, "Hi"],
               base_url=server.url)
    assert r.code in {int(s) for s in ExitStatus} - {1}, r
    assert_clean_stderr(r.stderr, lines=r.stderr.count("\n"))
    if r.code == ExitStatus.SERVER_ERROR:
        assert len(r.stderr.splitlines()[-1]) < 200
    if extra[:1] == ["-c"] and r.code != 0:
        chat = tmp_path / "chat.json"
        assert not chat.exists() or json.loads(chat.read_text())


def test_shape_errors_name_what_is_wrong(hostile, invoke):
    server = hostile(MALFORMED["content items not objects"])
    r = invoke(["Hi"], base_url=server.url)
    assert r.code == ExitStatus.SERVER_ERROR
    assert "content" in r.stderr


def test_stream_content_replaced_by_a_number_with_conversation(hostile, invoke, tmp_path):
    server = hostile(MALFORMED["stream content replaced by a number"])
    chat = tmp_path / "chat.json"
    r = invoke(["--stream", "-c", str(chat), "Hi"], base_url=server.url)
    assert r.code == ExitStatus.SERVER_ERROR, r
    assert not chat.exists()


def test_head_helper_is_raw():
    assert head("200 OK").startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("where", ["stdout", "-o", "-c"])
def test_a_lone_surrogate_in_the_reply_becomes_u_fffd(hostile, invoke, tmp_path,
                                                     streamed, where):
    text = "a\ud800b"  # json.dumps sends it as the escape \ud800, alone
    if streamed:
        script = stream(message_start(), block_start(0, {"type": "text", "text": ""}),
                        delta(0, "text_delta", "text", text), block_stop(0), message_end())
    else:
        script = reply(json.dumps(message(text=text)))
    server = hostile(script)
    path = tmp_path / "file"
    args = {"stdout": [], "-o": ["-o", str(path)], "-c": ["-c", str(path)]}[where]
    r = invoke([*args, "--stream" if streamed else "--no-stream", "Hi"],
               base_url=server.url)
    assert r.code == 0, r
    if where == "stdout":
        assert r.stdout_bytes.decode("utf-8") == "a\ufffdb\n"
    elif where == "-o":
        assert path.read_text(encoding="utf-8") == "a\ufffdb\n"
    else:
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert saved[-1]["content"][0]["text"] == "a\ufffdb"


# -- what earlier branches fixed for this issue: kept holding ---------------------------

def _ok_stream(ending):
    events = [message_start(), block_start(0, {"type": "text", "text": ""}),
              delta(0, "text_delta", "text", "hi"), block_stop(0), message_end()]
    return b"".join(events).replace(b"\n", ending)


def test_byte_order_mark_before_the_first_event(hostile, invoke):
    server = hostile(stream(b"\xef\xbb\xbf" + _ok_stream(b"\n")))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "hi\n"), r


def test_cr_only_lines_are_dispatched_without_waiting_for_more(hostile, run_cli):
    """The server never closes the connection: msgcli must finish on message_stop's
    final CR (the guard is the subprocess timeout, not a timing assertion)."""
    from tests.support.scripted_server import Pause

    never = threading.Event()
    body = _ok_stream(b"\r")
    server = hostile([head(content_type="text/event-stream"), body, Pause(never, 120)])
    try:
        r = run_cli(["--stream", "Hi"], base_url=server.url, timeout=60)
    finally:
        never.set()
    assert (r.code, r.stdout) == (0, "hi\n"), r


def test_a_final_event_without_its_blank_line_is_a_cut_stream(hostile, invoke):
    server = hostile(reply(_ok_stream(b"\n")[:-1], content_type="text/event-stream"))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert r.code == ExitStatus.NETWORK, r


def test_multiline_non_json_event_under_json_is_13(hostile, invoke):
    server = hostile(stream(message_start(), b"event: x\ndata: not\ndata: json\n\n"))
    r = invoke(["--stream", "-j", "Hi"], base_url=server.url)
    assert r.code == ExitStatus.SERVER_ERROR, r


def test_retry_after_in_year_99999(hostile, invoke):
    server = hostile(reply({"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "x"}},
                           status="529 Overloaded",
                           headers={"retry-after": "Fri, 31 Dec 99999 23:59:59 GMT",
                                    "x-should-retry": "false"}),
                     reply(message()))
    r = invoke(["--retries", "1", "Hi"], base_url=server.url)
    assert r.code == ExitStatus.SERVER_ERROR, r


@pytest.mark.parametrize("args", [
    ["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "-inf"],
    ["--stdin-timeout", "inf"], ["--stdin-timeout", "nan"], ["--thinking", "²"],
    ["--thinking", "١٠٢٤"], ["--temperature", "nan"], ["--top-p", "inf"],
    ["--extra", '{"temperature": NaN}'], ["--extra", '{"top_p": Infinity}'],
    ["--extra", '{"metadata": {"user_id": "\\ud800"}}'],
])
def test_bad_values_are_exit_2(hostile, invoke, args):
    server = hostile(reply(message()))
    r = invoke([*args, "Hi"], base_url=server.url)
    assert r.code == ExitStatus.USAGE, r
    assert server.requests == []
    assert_clean_stderr(r.stderr)


@pytest.mark.parametrize("text", [
    '[{"role": "user", "content": "hi"}], "x": NaN',
    '{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
    '[{"role": "user", "content": "\\ud800 lone"}]',
    '[{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}]',
])
def test_bad_values_in_a_messages_file_are_exit_2(hostile, invoke, tmp_path, text):
    server = hostile(reply(message()))
    path = tmp_path / "m.json"
    path.write_text(text)
    r = invoke(["-f", str(path)], base_url=server.url)
    assert r.code == ExitStatus.USAGE, r
    assert server.requests == []


@pytest.mark.parametrize("option", ["-c", "-o", "-f", "--tools", "--schema", "-i", "-d"])
@pytest.mark.parametrize("name", ["a\0b", "\ud800", "@\ud800"])
def test_a_nul_or_lone_surrogate_in_a_file_name_is_exit_2(invoke, option, name):
    """Only reachable in-process (argv holds neither), where click's Path stat
    raised ValueError."""
    r = invoke([option, name, "Hi"])
    assert r.code == ExitStatus.USAGE, r


def test_tool_name_that_is_a_list_with_tool_choice(hostile, invoke):
    server = hostile(reply(message()))
    r = invoke(["--tools", '[{"name": ["a"], "input_schema": {}}]', "--tool-choice", "a",
                "Hi"], base_url=server.url)
    assert r.code in (0, ExitStatus.USAGE), r


def test_header_without_colon_never_echoes_the_value(invoke):
    r = invoke(["-H", OTHER_KEY, "Hi"])
    assert r.code == ExitStatus.USAGE and OTHER_KEY not in r.stderr
    r = invoke(["-H", "x-api-key " + FAKE_KEY, "Hi"])
    assert r.code == ExitStatus.USAGE and "[REDACTED]" not in r.stderr


# -- broken HTTP: a documented status, one line ------------------------------------------

_BODY = json.dumps(message()).encode()
BROKEN_HTTP = {
    "300 headers": ("HTTP/1.1 200 OK\r\n" + "".join(f"x-h{i}: v\r\n" for i in range(300))
                    + f"content-length: {len(_BODY)}\r\n\r\n").encode() + _BODY,
    "100 KB header": ("HTTP/1.1 200 OK\r\nx-long: " + "a" * 100_000
                      + f"\r\ncontent-length: {len(_BODY)}\r\n\r\n").encode() + _BODY,
    "100 KB status line": ("HTTP/1.1 200 " + "a" * 100_000
                           + f"\r\ncontent-length: {len(_BODY)}\r\n\r\n").encode() + _BODY,
    "bad status": b"HTTP/1.1 abc OK\r\n\r\n",
    "HTTP/0.9": b"hello world",
    "bad chunk size": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    "body shorter than its length": (f"HTTP/1.1 200 OK\r\ncontent-length: {len(_BODY) + 50}"
                                     "\r\n\r\n").encode() + _BODY,
    "length past 2**64": b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999999\r\n\r\n",
    "two lengths": (f"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: {len(_BODY)}"
                    "\r\n\r\n").encode() + _BODY,
}


@pytest.mark.parametrize("name", sorted(BROKEN_HTTP))
@pytest.mark.parametrize("extra", [[], ["-v"], ["--stream"]])
def test_broken_http_is_a_network_or_server_error(hostile, invoke, name, extra):
    server = hostile([BROKEN_HTTP[name]])
    r = invoke(["--retries", "0", *extra, "Hi"], base_url=server.url)
    assert r.code in (ExitStatus.NETWORK, ExitStatus.SERVER_ERROR), r
    assert_clean_stderr(r.stderr, lines=r.stderr.count("msgcli: "))
