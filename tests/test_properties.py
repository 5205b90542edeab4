"""Property-based: whatever messages file, flags or server answer msgcli gets, the only
outcomes are a documented exit status and, on failure, a stderr without a traceback.
Exit 1 (a bug in msgcli) counts as a failure here."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from msgcli.status import ExitStatus
from tests.support.sse import sse_body

DOCUMENTED = {int(s) for s in ExitStatus} - {int(ExitStatus.INTERNAL_ERROR)}
EXAMPLES = int(os.environ.get("MSGCLI_HYPOTHESIS_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# What a server's JSON can hold: a "\ud800" escape is a lone surrogate once parsed
# (st.text drops surrogates from any alphabet, so the strings are joined here)
server_text = st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)),
                       max_size=20).map("".join)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6),
                         st.floats(allow_nan=False), server_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)

blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": server_text}),
    st.fixed_dictionaries({"type": st.sampled_from(["image", "tool_result", "tool_use",
                                                    "document", "thinking", "mystery"])},
                          optional={"source": json_values, "id": st.text(max_size=5),
                                    "input": json_values, "text": json_values}),
    json_values)
messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "bot", ""]),
     "content": st.one_of(st.text(max_size=30), st.lists(blocks, max_size=3), json_values)},
    optional={"name": st.text(max_size=5)})
files = st.one_of(
    st.lists(messages, max_size=4),
    st.fixed_dictionaries({"messages": st.one_of(st.lists(messages, max_size=3), json_values)},
                          optional={"model": json_values, "max_tokens": json_values,
                                    "system": json_values, "temperature": json_values}),
    json_values)


def run_with(api, invoke, tmp_path, args, body=None, status=200, raw=None):
    api.clear()
    payload = raw if raw is not None else json.dumps(body or {
        "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"})
    api.expect_request("/v1/messages").respond_with_response(
        Response(payload, status=status, content_type="application/json"))
    r = invoke(["--retries", "0", *args])
    assert r.code in DOCUMENTED, r
    r.stdout_bytes.decode("utf-8")  # whatever came in, what goes out is UTF-8
    if r.code == 2 or r.code >= 10:
        assert r.stderr.strip(), "a failure must say something on stderr"
    elif r.code != 0:
        assert (r.stdout + r.stderr).strip(), "an incomplete answer must show something"
    return r


@SETTINGS
@given(content=st.one_of(files, st.binary(max_size=200)))
def test_any_messages_file(api, invoke, tmp_path, content):
    f = tmp_path / "m.json"
    f.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    run_with(api, invoke, tmp_path, ["-f", str(f)])


option_values = {
    "-m": st.text(max_size=10), "-t": st.integers(-5, 10**6).map(str),
    "--temperature": st.floats(allow_nan=True).map(str), "--top-k": st.text(max_size=4),
    "-S": st.text(max_size=5), "-p": st.text(max_size=5), "-s": st.text(max_size=10),
    "--thinking": st.one_of(st.integers(0, 5000).map(str), st.text(max_size=6)),
    "--effort": st.sampled_from(["low", "max", "none"]),
    "--schema": st.one_of(st.text(max_size=20), json_values.map(json.dumps)),
    "--extra": st.one_of(st.text(max_size=20), json_values.map(json.dumps)),
    "--tool-choice": st.text(max_size=6), "-H": st.text(max_size=15),
    "--beta": st.text(max_size=8), "--timeout": st.floats(0.1, 5).map(str),
    "-i": st.sampled_from(["tests/data/pixel.png", "missing.png", "README.md",
                           "https://example.com/x.png"]),
    "-d": st.sampled_from(["tests/data/tiny.pdf", "README.md", "tests/data/pixel.png"]),
}
flags = ["-j", "-n", "-u", "-v", "--stream", "--dry-run", "--hide-prefill",
         "--show-thinking", "--count-tokens"]


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(sorted(option_values)), st.data(),
                               max_size=4),
       chosen_flags=st.lists(st.sampled_from(flags), max_size=3, unique=True),
       prompt=st.lists(st.text(max_size=10), max_size=3))
def test_any_flag_combination(api, invoke, tmp_path, options, chosen_flags, prompt):
    args = []
    for option, data in options.items():
        args += [option, data.draw(option_values[option])]
    args += chosen_flags + ["--"] + prompt
    run_with(api, invoke, tmp_path, args, body={
        "content": [{"type": "text", "text": "{}"}], "stop_reason": "end_turn",
        "input_tokens": 3})


replies = st.one_of(
    json_values,
    st.fixed_dictionaries({"content": st.one_of(st.lists(blocks, max_size=3), json_values)},
                          optional={"stop_reason": st.one_of(
                              st.sampled_from(["end_turn", "max_tokens", "tool_use",
                                               "refusal", "pause_turn", "new_reason"]),
                              json_values),
                              "usage": json_values, "type": json_values,
                              "error": json_values}))


@SETTINGS
@given(reply=replies, status=st.sampled_from([200, 201, 400, 401, 404, 429, 500, 529]),
       extra=st.sampled_from([[], ["-j"], ["-u"], ["--schema", '{"type": "object"}'],
                              ["-c", "CHAT"]]))
def test_any_server_reply(api, invoke, tmp_path, reply, status, extra):
    extra = [str(tmp_path / "chat.json") if a == "CHAT" else a for a in extra]
    run_with(api, invoke, tmp_path, [*extra, "Hi"], body=reply, status=status)


@SETTINGS
@given(raw=st.binary(max_size=300), status=st.sampled_from([200, 502]))
def test_any_bytes_from_server(api, invoke, tmp_path, raw, status):
    run_with(api, invoke, tmp_path, ["Hi"], raw=raw, status=status)


@SETTINGS
@given(events=st.lists(st.one_of(
    st.builds(lambda t, d: f"event: {t}\ndata: {json.dumps(d)}\n\n",
              st.sampled_from(["message_start", "content_block_start",
                               "content_block_delta", "content_block_stop", "message_delta",
                               "message_stop", "ping", "error", "mystery"]),
              st.one_of(json_values, st.fixed_dictionaries(
                  {"type": st.sampled_from(["message_start", "content_block_start",
                                            "content_block_delta", "content_block_stop",
                                            "message_delta", "error", "message_stop"])},
                  optional={"index": st.integers(-1, 3), "delta": json_values,
                            "message": json_values, "content_block": json_values,
                            "error": json_values, "usage": json_values}))),
    st.text(max_size=30)), max_size=8))
def test_any_event_stream(api, invoke, tmp_path, events):
    api.clear()
    api.expect_request("/v1/messages").respond_with_response(
        Response("".join(events), content_type="text/event-stream"))
    r = invoke(["--retries", "0", "--stream", "Hi"])
    assert r.code in DOCUMENTED, r
    r.stdout_bytes.decode("utf-8")


@SETTINGS
@given(pieces=st.lists(server_text, min_size=1, max_size=4), streamed=st.booleans())
def test_any_text_in_a_well_formed_reply(api, invoke, tmp_path, pieces, streamed):
    """Any text a server can encode (lone surrogates included) reaches stdout as UTF-8."""
    api.clear()
    if streamed:
        body = sse_body([
            {"type": "message_start", "message": {"content": [], "stop_reason": None}},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
            *[{"type": "content_block_delta", "index": 0,
               "delta": {"type": "text_delta", "text": p}} for p in pieces],
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
            {"type": "message_stop"}], ascii=True)
        kind = "text/event-stream"
    else:
        body = json.dumps({"content": [{"type": "text", "text": "".join(pieces)}],
                           "stop_reason": "end_turn"})
        kind = "application/json"
    api.expect_request("/v1/messages").respond_with_response(
        Response(body, content_type=kind))
    r = invoke(["--retries", "0", "--stream" if streamed else "--no-stream", "Hi"])
    assert r.code == 0, r
    r.stdout_bytes.decode("utf-8")
