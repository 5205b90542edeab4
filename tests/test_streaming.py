"""--stream: the SSE format, the event protocol, flushing, and the same contract as a
whole reply (stdout byte for byte, exit status)."""

import json
import os
import select
import subprocess
import sys
import threading
import time

import pytest

from msgcli.stream.accumulator import MessageAccumulator
from msgcli.stream.sse import SSEParser
from tests.conftest import REPO, assert_no_secret, clean_env, message
from tests.support.scripted_server import Drop, Pause, Sleep, plain_response, sse_response
from tests.support.spec import assert_valid
from tests.support.sse import (
    FIXTURE_NAMES,
    data_lines,
    fixture_bytes,
    fold,
    sse_body,
    text_stream,
)

EXPECTED = {
    "basic_response.sse": ("Hello there!\n", 0),
    "compaction_response.sse": ("Hello there!\n", 0),
    "fallback_response.sse": ("Hello there!\n", 0),
    "fallback_credit_response.sse": ("Hello there!\n", 0),
    "refusal_response.sse": ("", 4),
    "incomplete_partial_json_response.sse": (None, 3),
    "tool_use_response.sse": (None, 5),
}


def stream_run(invoke, scripted, sse, args=("Hi",), **kw):
    server = scripted(sse_response([sse]))
    result = invoke(["--stream", *args], base_url=server.url, **kw)
    return result, server


def whole_run(invoke, scripted, body, args=("Hi",)):
    server = scripted(plain_response("200 OK", body))
    return invoke(list(args), base_url=server.url), server


def test_fixture_names_are_all_covered():
    assert set(FIXTURE_NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_recorded_stream(invoke, scripted, name):
    sse = fixture_bytes(name)
    r, server = stream_run(invoke, scripted, sse)
    expected_stdout, expected_code = EXPECTED[name]
    assert r.code == expected_code, r
    if expected_stdout is not None:
        assert r.stdout == expected_stdout
    body = server.json_bodies()[0]
    assert body["stream"] is True
    assert_valid(body)


def test_tool_use_stream_output(invoke, scripted):
    r, _ = stream_run(invoke, scripted, fixture_bytes("tool_use_response.sse"))
    final = fold(fixture_bytes("tool_use_response.sse"))
    text = "".join(b["text"] for b in final["content"] if b["type"] == "text")
    lines = r.stdout.splitlines()
    call = json.loads(lines[-1])
    assert call["name"] == final["content"][1]["name"]
    assert call["id"] == final["content"][1]["id"]
    assert call["input"] == final["content"][1]["input"]
    assert isinstance(call["input"], dict) and call["input"]
    assert r.stdout.startswith(text)


def test_incomplete_tool_json_is_max_tokens_text_only(invoke, scripted):
    r, _ = stream_run(invoke, scripted,
                      fixture_bytes("incomplete_partial_json_response.sse"))
    final = fold(fixture_bytes("incomplete_partial_json_response.sse"))
    text = "".join(b["text"] for b in final["content"] if b["type"] == "text")
    assert r.code == 3
    assert r.stdout == text + ("" if text.endswith("\n") else "\n")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("args", [("Hi",), ("-n", "Hi"), ("-p", "Well,", "Hi"),
                                  ("-p", "Well,", "--hide-prefill", "Hi")])
def test_stream_and_whole_reply_print_the_same(invoke, scripted, name, args):
    sse = fixture_bytes(name)
    streamed, _ = stream_run(invoke, scripted, sse, args=args)
    whole, _ = whole_run(invoke, scripted, fold(sse), args=args)
    assert streamed.stdout_bytes == whole.stdout_bytes
    assert streamed.code == whole.code


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_stream_json_is_events_as_sent(invoke, scripted, name):
    sse = fixture_bytes(name)
    r, _ = stream_run(invoke, scripted, sse, args=("-j", "Hi"))
    assert r.stdout.splitlines() == data_lines(sse)
    for line in r.stdout.splitlines():
        json.loads(line)
    assert r.code == EXPECTED[name][1]


def test_thinking_goes_to_stderr_only_when_asked(invoke, scripted):
    sse = sse_body(text_stream(["The answer ", "is 4."], thinking=["Let me ", "add."]))
    r, _ = stream_run(invoke, scripted, sse)
    assert (r.stdout, r.stderr) == ("The answer is 4.\n", "")
    r, _ = stream_run(invoke, scripted, sse, args=("--show-thinking", "Hi"))
    assert r.stdout == "The answer is 4.\n"
    assert r.stderr == "Let me add.\n"
    whole, _ = whole_run(invoke, scripted, fold(sse), args=("--show-thinking", "Hi"))
    assert (whole.stdout, whole.stderr) == (r.stdout, r.stderr)


def test_usage_is_final_cumulative(invoke, scripted):
    r, _ = stream_run(invoke, scripted, sse_body(text_stream(["a"])), args=("-u", "x"))
    assert "input_tokens=7 output_tokens=42" in r.stderr


def test_unknown_events_and_comments_are_ignored(invoke, scripted):
    events = text_stream(["Hel", "lo"], extra_events=[
        {"type": "ping"}, {"type": "brand_new_event", "payload": [1, 2]},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "citations_delta", "citation": {"type": "char_location",
                                                           "cited_text": "x"}}}])
    sse = sse_body([b": a comment line\n\n", *events, ("mystery", b"{}")])
    r, _ = stream_run(invoke, scripted, sse)
    assert (r.code, r.stdout) == (0, "Hello\n")


def test_crlf_stream(invoke, scripted):
    r, _ = stream_run(invoke, scripted, sse_body(text_stream(["a", "b"]), crlf=True))
    assert (r.code, r.stdout) == (0, "ab\n")


def test_multiline_data_field():
    parser = SSEParser()
    events = list(parser.feed(b'event: x\ndata: {"a":\ndata:  1}\n\n'))
    assert [(e.event, e.data) for e in events] == [("x", '{"a":\n 1}')]


def test_mid_stream_error_event(invoke, scripted):
    events = text_stream(["Partial ", "answer"])[:-3]
    sse = sse_body([*events, {"type": "error", "error": {"type": "overloaded_error",
                                                         "message": "Overloaded"}}])
    r, server = stream_run(invoke, scripted, sse)
    assert r.code == 13
    assert r.stdout == "Partial answer"
    assert "overloaded_error" in r.stderr and "Overloaded" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert len(server.requests) == 1, "a stream that printed output must not be retried"


def test_dropped_connection_mid_stream(invoke, scripted):
    sse = sse_body(text_stream(["Some ", "words"])[:-3])
    server = scripted(sse_response([sse, Drop()], terminate=False))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert r.code == 14
    assert r.stdout == "Some words"
    assert "stream" in r.stderr
    assert len(server.requests) == 1


def test_stream_ending_without_message_stop(invoke, scripted):
    sse = sse_body(text_stream(["cut ", "short"])[:-1])
    r, server = stream_run(invoke, scripted, sse)
    assert r.code == 14
    assert "without message_stop" in r.stderr
    assert r.stdout == "cut short"
    assert len(server.requests) == 1


def test_http_error_before_stream_is_api_error(invoke, scripted):
    server = scripted(plain_response("429 Too Many Requests", {
        "type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}))
    r = invoke(["--stream", "--retries", "0", "Hi"], base_url=server.url)
    assert r.code == 12
    assert "rate_limit_error" in r.stderr


# -- the SSE format at every byte boundary --------------------------------------

UNICODE_SSE = sse_body(text_stream(["héllo ", "👋🏽 ", "世界", "\u00e9\u0301"]))


def parse_all(chunks):
    parser = SSEParser()
    events = []
    for chunk in chunks:
        events.extend((e.event, e.data) for e in parser.feed(chunk))
    parser.close()
    return events


@pytest.mark.parametrize("name", FIXTURE_NAMES + ["unicode", "unicode-crlf"])
def test_every_split_point_gives_the_same_events(name):
    if name == "unicode":
        data = UNICODE_SSE
    elif name == "unicode-crlf":
        data = sse_body(text_stream(["héllo ", "👋🏽"]), crlf=True)
    else:
        data = fixture_bytes(name)
    whole = parse_all([data])
    assert whole and all(json.loads(d) for _, d in whole)
    for i in range(1, len(data)):
        assert parse_all([data[:i], data[i:]]) == whole, f"split at byte {i}"


def test_byte_by_byte():
    assert parse_all([bytes([b]) for b in UNICODE_SSE]) == parse_all([UNICODE_SSE])


def test_split_inside_multibyte_character_end_to_end(invoke, scripted):
    data = UNICODE_SSE
    emoji = data.index("👋".encode())
    pieces = [data[:emoji + 1], Sleep(0.05), data[emoji + 1:emoji + 3], Sleep(0.05),
              data[emoji + 3:]]
    server = scripted(sse_response(pieces))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "héllo 👋🏽 世界\u00e9\u0301\n")


def test_accumulator_assembles_tool_json_split_across_deltas():
    acc = MessageAccumulator()
    events = [
        {"type": "message_start", "message": {"content": [], "usage": {}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}},
        *({"type": "content_block_delta", "index": 0,
           "delta": {"type": "input_json_delta", "partial_json": p}}
          for p in ['{"ci', 'ty": "Par', 'is", "n": [1,', ' 2]}']),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"}]
    for event in events:
        acc.handle(event["type"], event)
    result = acc.result()
    assert result["content"][0]["input"] == {"city": "Paris", "n": [1, 2]}
    assert result["stop_reason"] == "tool_use" and acc.finished


# -- flushing and closed readers ---------------------------------------------------

def assert_printed_while_held(respond, **env):
    """`msgcli --stream Hi` against a server that sends the first delta, then holds
    the rest for up to 60 s: the first delta must be on stdout within 10 (a bound
    against a hang, not a timing assertion). `respond(pieces)` frames the reply."""
    from tests.support.scripted_server import ScriptedServer

    go_on = threading.Event()
    events = text_stream(["FIRST ", "second"])
    first, rest = sse_body(events[:3]), sse_body(events[3:])
    server = ScriptedServer([respond([first, Pause(go_on, timeout=60), rest])])
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "msgcli", "--stream", "Hi"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
            env=clean_env(server.url, **env))
        seen = b""
        deadline = time.monotonic() + 10
        fd = proc.stdout.fileno()
        while b"FIRST" not in seen and time.monotonic() < deadline:
            readable, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if readable:
                chunk = os.read(fd, 100)
                if not chunk:
                    break
                seen += chunk
        held = not go_on.is_set()
        go_on.set()
        out, err = proc.communicate(timeout=30)
        assert_no_secret(out, err)
    finally:
        go_on.set()
        server.close()
    assert held and b"FIRST" in seen, "the first delta did not arrive while the stream was held"
    assert proc.returncode == 0, err
    assert seen + out == b"FIRST second\n"


def test_output_is_flushed_before_the_stream_ends():
    assert_printed_while_held(sse_response)


def test_reader_closing_early_exits_141_quietly(api):
    from tests.support.scripted_server import ScriptedServer

    events = text_stream(["word " * 20] * 1000)
    body = sse_body(events)
    pieces = [body[i:i + 500] for i in range(0, len(body), 500)]
    script = []
    for piece in pieces:
        script += [piece, Sleep(0.01)]
    server = ScriptedServer([sse_response(script)])
    try:
        started = time.monotonic()
        proc = subprocess.run(
            f"{sys.executable} -m msgcli --stream Hi | head -c 20",
            shell=True, capture_output=True, cwd=REPO, env=clean_env(server.url),
            executable="/bin/bash", timeout=60)
        elapsed = time.monotonic() - started
        # bash's PIPESTATUS is not reachable from here; run again to read the code
        proc2 = subprocess.Popen(
            [sys.executable, "-m", "msgcli", "--stream", "Hi"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
            env=clean_env(server.url))
        proc2.stdout.read(20)
        proc2.stdout.close()
        code = proc2.wait(timeout=30)
        err = proc2.stderr.read()
        assert_no_secret(err)
    finally:
        server.close()
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.stdout == b"word word word word "
    assert proc.stderr == b""
    assert code == 141
    assert err == b""
    assert elapsed < len(pieces) * 0.01, "msgcli kept reading after its reader left"
    assert server.closed_early.wait(5), "the connection was not closed at once"


def test_non_stream_whole_reply_to_closed_pipe(api):
    api.reply(message("x" * 100000))
    proc = subprocess.run(
        f"{sys.executable} -m msgcli Hi | true; exit ${{PIPESTATUS[0]}}", shell=True,
        capture_output=True, cwd=REPO, env=clean_env(api.base), executable="/bin/bash",
        timeout=60)
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 141
    assert proc.stderr == b""


@pytest.mark.parametrize("name", ["tool_use_response.sse", "basic_response.sse"])
def test_streamed_reply_saves_the_same_conversation(invoke, scripted, tmp_path, name):
    sse = fixture_bytes(name)
    streamed_file, whole_file = tmp_path / "s.json", tmp_path / "w.json"
    server = scripted(sse_response([sse]))
    invoke(["--stream", "-c", str(streamed_file), "Hi"], base_url=server.url)
    server = scripted(plain_response("200 OK", fold(sse)))
    invoke(["-c", str(whole_file), "Hi"], base_url=server.url)
    streamed, whole = json.loads(streamed_file.read_text()), json.loads(whole_file.read_text())
    assert streamed == whole
    assert streamed[-1]["role"] == "assistant" and streamed[-1]["content"]
