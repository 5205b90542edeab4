"""The credentials never leave msgcli, whatever the mode (issue 26 item 1, issue 22):
a server that puts the API key or the auth token anywhere in a reply (the answer or
across two of its text blocks, thinking, a tool's input, an id, a nested field, an
error message; escaped as \\u006b or not; split across deltas and network reads)
finds it in no output: not in stdout, stderr or the -o file, not in any string of
any JSON line once decoded, and not in what a stream's deltas or a message's text
blocks add up to.

MSGCLI_FUZZ_EXAMPLES sets the example count of each property (default 200); CI runs
this file once with 10,000 (.ci/run)."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from msgcli.batch import commands
from msgcli.cli.options import Options
from msgcli.output import render
from msgcli.output.console import Collector, Console
from msgcli.output.redaction import Redactor
from msgcli.status import ExitStatus
from tests.conftest import FAKE_KEY, FAKE_TOKEN, message
from tests.support.batch_server import BatchEngine
from tests.support.scripted_server import sse_response

EXAMPLES = int(os.environ.get("MSGCLI_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck))
DOCUMENTED = {int(s) for s in ExitStatus} - {int(ExitStatus.INTERNAL_ERROR)}
SECRETS = (FAKE_KEY, FAKE_TOKEN)
BOTH = {"ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN}


# -- what a reader could see -----------------------------------------------------------

def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def views(output):
    """Every way a reader could come by a secret in `output`: its text, every string
    of each JSON line decoded, and the text, thinking and tool input that a stream's
    events (-j) add up to."""
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    seen = [output]
    joined = {"text": [], "thinking": [], "partial_json": []}
    for line in output.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        seen.extend(_strings(value))
        if not isinstance(value, dict):
            continue
        whole = value.get("message") if isinstance(value.get("message"), dict) else value
        if isinstance(whole.get("content"), list):  # the answer: its text blocks joined
            seen.append("".join(b["text"] for b in whole["content"] if isinstance(b, dict)
                                and b.get("type") == "text" and isinstance(b.get("text"), str)))
        delta = value.get("delta") if isinstance(value.get("delta"), dict) else {}
        block = value.get("content_block") \
            if isinstance(value.get("content_block"), dict) else {}
        for key in joined:
            for piece in (delta.get(key), block.get(key)):
                if isinstance(piece, str):
                    joined[key].append(piece)
    seen.extend("".join(pieces) for pieces in joined.values())
    return seen


def assert_hidden(*outputs):
    for output in outputs:
        for view in views(output):
            for secret in SECRETS:
                assert secret not in view, f"a credential reached the output: {output!r}"


# -- replies that carry a secret -------------------------------------------------------

def escaped(text):
    """JSON text with every k written \\u006b: the same value, the secret unsearchable."""
    return text.replace("k", "\\u006b")


def dump(value, escape):
    text = json.dumps(value)
    return escaped(text) if escape else text


def pieces(text, cuts):
    """`text` cut at the given fractions: the deltas a stream sends it in."""
    points = sorted({int(c * len(text)) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


class Reply:
    """A reply (whole or streamed) with `text` in the place `where`."""

    def __init__(self, text, where, cuts, escape):
        self.text, self.where, self.cuts, self.escape = text, where, cuts, escape

    def message(self):
        content = []
        if self.where == "thinking":
            content.append({"type": "thinking", "thinking": self.text, "signature": "s"})
        if self.where == "blocks":  # the answer's text, cut between two blocks
            cut = int(self.cuts[0] * len(self.text)) if self.cuts else len(self.text) // 2
            content += [{"type": "text", "text": self.text[:cut]},
                        {"type": "text", "text": self.text[cut:]}]
        else:
            content.append({"type": "text",
                            "text": self.text if self.where == "text" else "ok"})
        if self.where == "tool":
            content.append({"type": "tool_use", "id": "toolu_1", "name": "t",
                            "input": {"q": self.text}})
        extra = {"id": self.text} if self.where == "id" else \
            {"extra": {"deep": [{"x": self.text}]}} if self.where == "deep" else {}
        return message(content=content,
                       stop_reason="tool_use" if self.where == "tool" else "end_turn", **extra)

    def status(self):
        return 400 if self.where == "error" else 200

    def whole(self):
        if self.where == "error":
            return dump({"type": "error", "error": {"type": "invalid_request_error",
                                                    "message": self.text}}, self.escape)
        return dump(self.message(), self.escape)

    def events(self):
        whole = self.message()
        events = [{"type": "message_start", "message": dict(whole, content=[],
                                                            stop_reason=None)}]
        for index, block in enumerate(whole["content"]):
            kind = block["type"]
            key, delta = {"text": ("text", "text_delta"),
                          "thinking": ("thinking", "thinking_delta"),
                          "tool_use": ("partial_json", "input_json_delta")}[kind]
            value = json.dumps(block["input"]) if kind == "tool_use" else block[kind]
            opening = dict(block, input={}) if kind == "tool_use" else dict(block, **{kind: ""})
            events.append({"type": "content_block_start", "index": index,
                           "content_block": opening})
            for piece in pieces(value, self.cuts):
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": delta, key: piece}})
            events.append({"type": "content_block_stop", "index": index})
        events += [{"type": "message_delta", "delta": {"stop_reason": whole["stop_reason"]},
                    "usage": {"output_tokens": 5}},
                   {"type": "message_stop"}]
        return events

    def stream(self):
        """The event stream's bytes, as the API writes them."""
        lines = (json.dumps(e, separators=(",", ":")) for e in self.events())
        return "".join(f"event: {json.loads(line)['type']}\ndata: "
                       f"{escaped(line) if self.escape else line}\n\n"
                       for line in lines).encode()

    def response(self, stream):
        if stream and self.where != "error":
            return Response(self.stream(), 200, content_type="text/event-stream")
        return Response(self.whole(), self.status(), content_type="application/json")


near = st.text(alphabet="ab sk-ant\né\"\\", max_size=8)
replies = st.builds(
    Reply,
    text=st.builds(lambda a, s, b: a + s + b, near, st.sampled_from(SECRETS), near),
    where=st.sampled_from(["text", "blocks", "thinking", "tool", "id", "deep", "error"]),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    escape=st.booleans())

MODES = [[], ["-j"], ["--stream"], ["--stream", "-j"], ["-o", "OUT"], ["-j", "-o", "OUT"],
         ["--stream", "-j", "-o", "OUT"], ["--jsonl"], ["--jsonl", "-j"],
         ["--jsonl", "--stream", "-j"], ["--jsonl", "-j", "-o", "OUT"],
         ["--jsonl", "--stream", "-o", "OUT"], ["--count-tokens", "-j"]]


def serve(api, reply, stream):
    api.clear()
    api.expect_request("/v1/messages").respond_with_handler(
        lambda request: reply.response(stream and json.loads(request.get_data()).get("stream")))
    api.expect_request("/v1/messages/count_tokens").respond_with_handler(
        lambda request: Response(dump({"input_tokens": 3, "note": reply.text}, reply.escape),
                                 reply.status(), content_type="application/json"))


def run_mode(api, invoke, tmp_path, mode, reply):
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)
    (tmp_path / "out.jsonl.resume").unlink(missing_ok=True)
    serve(api, reply, "--stream" in mode)
    args = ["--retries", "0", "-m", "m", *[str(out) if a == "OUT" else a for a in mode]]
    stdin = b'"hi"\n{"custom_id": "two", "messages": [{"role": "user", "content": "x"}]}\n' \
        if "--jsonl" in mode else b"hi"
    r = invoke(args, input=stdin, env=BOTH)
    assert r.code in DOCUMENTED, r
    assert_hidden(r.stdout_bytes, r.stderr, out.read_bytes() if out.exists() else b"")
    return r


@SETTINGS
@given(mode=st.sampled_from(MODES), reply=replies)
def test_no_mode_shows_a_secret_from_any_reply(api, invoke, tmp_path, mode, reply):
    run_mode(api, invoke, tmp_path, mode, reply)


@pytest.fixture
def waits(monkeypatch):
    monkeypatch.setattr(commands, "sleep", lambda seconds: None)


@SETTINGS
@given(reply=replies, submit=st.booleans())
def test_no_batch_result_shows_a_secret(api, invoke, waits, reply, submit):
    api.clear()

    def outcome(custom_id, params):
        if reply.where == "error":
            return {"type": "errored", "error": {"type": "error", "error": {
                "type": "invalid_request_error", "message": reply.text}}}
        return {"type": "succeeded", "message": reply.message()}

    engine = BatchEngine(api, polls=1, outcome=outcome)
    if submit:
        r = invoke(["--jsonl", "--batch", "--wait", "-j", "-m", "m"], input=b'"hi"\n"x"\n',
                   env=BOTH)
    else:
        batch_id = engine.add([{"custom_id": "1", "params": {}}], ended=True)
        r = invoke(["--batch-results", batch_id, "-j"], env=BOTH)
    assert r.code in DOCUMENTED, r
    assert_hidden(r.stdout_bytes, r.stderr)


@SETTINGS
@given(reply=replies, json_mode=st.booleans(), reads=st.lists(st.floats(0, 1), max_size=8))
def test_a_stream_split_anywhere_shows_no_secret(monkeypatch, reply, json_mode, reads):
    """The stream cut into network reads anywhere, through the fast path and the
    plain path: the same output, and no secret in it."""
    data = reply.stream()
    chunks = [data[a:b] for a, b in zip(*(lambda p: ([0, *p], [*p, len(data)]))(
        sorted({int(c * len(data)) for c in reads})), strict=True)]
    shown = []
    for fast in ("0", "1"):
        monkeypatch.setenv("MSGCLI_NO_FAST_PATH", fast)
        redactor = Redactor(SECRETS)
        out = Collector(redactor)
        render.stream(Options(json=json_mode), iter(chunks), out, Console(redactor))
        assert_hidden(out.text())
        shown.append(out.text())
    assert shown[0] == shown[1]


# -- the cases that leaked before ------------------------------------------------------

def test_jsonl_j_redacts_the_message_object(api, invoke):
    """Issue 26: the text was redacted, the message beside it was not."""
    api.reply(message(f"echo {FAKE_KEY}"))
    r = invoke(["--jsonl", "-j", "-m", "m"], input=b'"hi"\n')
    assert r.code == 0, r
    line = json.loads(r.stdout)
    assert line["text"] == "echo [REDACTED]"
    assert line["message"]["content"][0]["text"] == "echo [REDACTED]"


def test_jsonl_o_journal_redacts_an_error_message(api, invoke, tmp_path):
    api.reply({"type": "error", "error": {"type": "invalid_request_error",
                                          "message": f"bad key {FAKE_KEY}"}}, status=400)
    out = tmp_path / "results.jsonl"
    r = invoke(["--jsonl", "-o", str(out), "-m", "m"], input=b'"hi"\n')
    assert r.code == ExitStatus.INCOMPLETE, r
    line = json.loads(out.read_text())
    assert line["error"]["message"] == "bad key [REDACTED]"


def test_j_redacts_a_key_hidden_by_escapes(api, invoke):
    """Written \\u006b, the key is not in the reply's bytes, but it is in its text."""
    api.reply(escaped(json.dumps(message(f"it is {FAKE_KEY}"))))
    r = invoke(["-j", "-m", "m", "hi"])
    assert r.code == 0, r
    assert json.loads(r.stdout)["content"][0]["text"] == "it is [REDACTED]"


def _delta(text):
    return {"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}


def _split_key_stream(split):
    """A stream whose key is cut in two text deltas; `split`: in separate reads."""
    head = FAKE_KEY[:10]
    reply = Reply("x", "text", [], False)
    events = reply.events()
    events[2:3] = [_delta("key: " + head), _delta(FAKE_KEY[10:] + " end")]
    data = [f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
            for e in events]
    return [b"".join(data[:3]), b"".join(data[3:])] if split else [b"".join(data)]


@pytest.mark.parametrize("split", [True, False], ids=["two reads", "one read"])
def test_stream_j_redacts_a_key_split_across_two_events(scripted, run_cli, split):
    """Issue 22: each event was written as it came, so the two halves of the key
    reached stdout in two lines."""
    server = scripted(sse_response(_split_key_stream(split)))
    r = run_cli(["--stream", "-j", "-m", "m", "hi"], base_url=server.url)
    assert r.code == 0, r
    texts = [e["delta"]["text"] for e in map(json.loads, r.stdout.splitlines())
             if e["type"] == "content_block_delta"]
    assert "".join(texts) == "key: [REDACTED] end"
    assert len(r.stdout.splitlines()) == 7  # every event still there, each valid JSON


def test_stream_j_is_the_servers_bytes_when_no_secret_completes(scripted, run_cli):
    """A delta that ends in what could begin the key is held, not changed."""
    events = Reply("x", "text", [], False).events()
    events[2:3] = [_delta("almost " + FAKE_KEY[:12]), _delta("but no")]
    data = [f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
            for e in events]
    server = scripted(sse_response([b"".join(data[:3]), b"".join(data[3:])]))
    r = run_cli(["--stream", "-j", "-m", "m", "hi"], base_url=server.url)
    assert r.code == 0, r
    assert r.stdout_bytes == b"".join(
        d.split(b"data: ", 1)[1].rstrip(b"\n") + b"\n" for d in data)


def test_batch_results_j_redacts_a_key_split_between_text_blocks(api, invoke):
    """The answer's text joins its text blocks, and redacts the key there; the message
    beside it must not show the halves."""
    content = [{"type": "text", "text": "a " + FAKE_KEY[:9]},
               {"type": "text", "text": FAKE_KEY[9:] + " b"}]
    engine = BatchEngine(api, outcome=lambda custom_id, params: {
        "type": "succeeded", "message": message(content=content)})
    batch_id = engine.add([{"custom_id": "1", "params": {}}], ended=True)
    r = invoke(["--batch-results", batch_id, "-j"])
    assert r.code == 0, r
    line = json.loads(r.stdout)
    assert line["text"] == "a [REDACTED] b"
    assert "".join(b["text"] for b in line["message"]["content"]) == "a [REDACTED] b"
