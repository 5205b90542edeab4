"""Property tests and fuzz for hostile input (issue 18). Whatever the server sends and
however the network splits it, and whatever arguments are given, msgcli either
succeeds or raises one of its own failures (a documented status): never another
exception, exit 1 or a traceback; and every stderr message is one line without
control characters.

MSGCLI_FUZZ_EXAMPLES sets the example count of each test (default 200); CI runs
this file once with 10,000 (.ci/run). The subprocess fuzz runs a fixed, small
number of real processes whatever the count."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgcli import core
from msgcli.api import reply
from msgcli.cli.command import cli
from msgcli.cli.options import Options
from msgcli.errors import MsgcliError
from msgcli.inputs import conversation
from msgcli.output import render
from msgcli.output.console import Collector, Console
from msgcli.output.redaction import Redactor
from msgcli.status import ExitStatus
from msgcli.stream.sse import SSEParser
from tests.conftest import FAKE_KEY, Result, assert_no_secret, clean_env
from tests.support.sse import sse_body

EXAMPLES = int(os.environ.get("MSGCLI_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck))
SUBPROCESS_EXAMPLES = 12
DOCUMENTED = {int(s) for s in ExitStatus} - {int(ExitStatus.INTERNAL_ERROR)}
OTHER_KEY = "sk-ant-api03-Fuzzed-Key-Shaped-Token-0123456789"

_spec = importlib.util.spec_from_file_location(
    "sse_reference", Path(__file__).parent / "data" / "sse-vectors" / "reference.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def split(data, cuts):
    """`data` cut at the given fractions (0..1), in order."""
    points = sorted({int(c * len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


cut_points = st.lists(st.floats(0, 1), max_size=8)


# -- the wire format: against the HTML standard's reference parser ----------------------

sse_pieces = st.one_of(
    st.sampled_from([b"data:", b"data: x", b"data:  y", b"event: e", b"event:", b"event",
                     b":comment", b"id: 1", b"retry: 5", b"data", b"", b"\r", b"\n",
                     b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xe2\x82", b"\xac", b" ",
                     b"\x00", b":"]),
    st.binary(max_size=6))


@SETTINGS
@given(pieces=st.lists(sse_pieces, max_size=30), cuts=cut_points)
def test_sse_parser_is_the_standard_for_any_bytes_and_any_split(pieces, cuts):
    data = b"".join(pieces)
    parser = SSEParser()
    events = []
    for chunk in split(data, cuts):
        events += [(e.event, e.data) for e in parser.feed(chunk)]
    parser.close()
    assert events == [(e["event"], e["data"]) for e in reference.parse(data)]


# -- a whole reply: any JSON shape -------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**70),
                    st.floats(allow_nan=False), st.text(max_size=12),
                    st.sampled_from(["\x1b]0;x\x07", FAKE_KEY, "a\nb", "text", "thinking",
                                     "tool_use", "end_turn", "max_tokens", "error"]))
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
block_types = st.sampled_from(["text", "thinking", "redacted_thinking", "tool_use",
                               "server_tool_use", "web_search_tool_result", "mystery"])
blocks = st.one_of(
    st.fixed_dictionaries({"type": block_types},
                          optional={"text": json_values, "thinking": json_values,
                                    "id": json_values, "name": json_values,
                                    "input": json_values, "signature": json_values,
                                    "citations": json_values}),
    json_values)
messages = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"content": st.one_of(st.lists(blocks, max_size=4), json_values)},
        optional={"type": st.sampled_from(["message", "error"]), "role": json_values,
                  "stop_reason": st.one_of(st.sampled_from(
                      ["end_turn", "max_tokens", "tool_use", "refusal", "pause_turn",
                       "stop_sequence", "new"]), json_values),
                  "usage": json_values, "error": json_values, "request_id": json_values}))

views = st.fixed_dictionaries({}, optional={
    "json": st.booleans(), "show_thinking": st.booleans(), "usage": st.booleans(),
    "prefill": st.sampled_from(["{", "Pre"]), "hide_prefill": st.booleans(),
    "no_newline": st.booleans(), "schema": st.just({"type": "object"})})


def downstream(opts, message, console):
    """What a run does with a reply after showing it."""
    core.conclude(opts, message, console)
    render.usage_line(message.get("usage"))
    turn = conversation.assistant_turn(message, opts.prefill)
    conversation.dumps([{"role": "user", "content": "Hi"}, turn])


@SETTINGS
@given(value=messages, view=views)
def test_any_json_reply_is_a_message_or_a_documented_failure(value, view):
    raw = json.dumps(value).encode()
    opts = Options(**view)
    console = Console(Redactor([FAKE_KEY]))
    try:
        message = reply.message(raw, 200)
        render.whole(opts, raw, message, Collector(), console)
        downstream(opts, message, console)
    except MsgcliError as e:
        assert int(e.exit_code) in DOCUMENTED and e.message


# -- an event stream: any events, any split ------------------------------------------

event_types = st.sampled_from(["message_start", "content_block_start", "content_block_delta",
                               "content_block_stop", "message_delta", "message_stop",
                               "ping", "error", "mystery"])
delta_types = st.sampled_from(["text_delta", "thinking_delta", "input_json_delta",
                               "signature_delta", "citations_delta", "mystery"])
event_data = st.one_of(
    json_values,
    st.builds(lambda kind, index, extra: {"type": kind, "index": index, **extra},
              event_types, st.one_of(st.integers(-1, 3), json_values),
              st.fixed_dictionaries({}, optional={
                  "message": st.one_of(messages, st.just({"content": []})),
                  "content_block": blocks,
                  "delta": st.one_of(json_values, st.builds(
                      lambda t, v: {"type": t, "text": v, "thinking": v,
                                    "partial_json": v, "stop_reason": v},
                      delta_types, st.one_of(st.text(max_size=10), json_values))),
                  "usage": json_values, "error": json_values})))
start = {"type": "message_start", "message": {"content": [], "usage": {}}}
stop = {"type": "message_stop"}


@SETTINGS
@given(events=st.lists(event_data, max_size=8), framed=st.booleans(), cuts=cut_points,
       view=views)
def test_any_event_stream_any_split_is_a_message_or_a_documented_failure(
        events, framed, cuts, view):
    data = sse_body([start, *events, stop] if framed else events, ascii=True)
    opts = Options(**view)
    outcomes = []
    for chunks in (split(data, cuts), [data]):
        console = Console(Redactor([FAKE_KEY]))
        out = Collector()
        try:
            message = render.stream(opts, iter(chunks), out, console)
            downstream(opts, message, console)
            outcomes.append(("ok", out.text(), json.dumps(message, sort_keys=True)))
        except MsgcliError as e:
            assert int(e.exit_code) in DOCUMENTED and e.message
            outcomes.append(("failed", out.text(), e.message))
    assert outcomes[0] == outcomes[1], "the same stream split differently gave another result"


# -- the real command line ------------------------------------------------------------

SPECIAL = ["", "-", "0", "1", "-1", "2048", "1e309", "nan", "inf", "²", "١٠", "adaptive",
           "off", "auto", "any", "none", "low", "max", "{}", "[]", '{"a": 1}', "null",
           '[{"name": "t", "input_schema": {"type": "object"}}]', '{"temperature": NaN}',
           '{"messages": 1}', '{"type": "object"}', "@/dev/null", "@missing.json",
           "/dev/null", "missing.json", "x-api-key: " + FAKE_KEY, "Name: value", "no colon",
           OTHER_KEY, "\x1b]0;title\x07", "a\nb", "\ud800", "é", "CHAT", "OUT", "MSGS",
           "http://127.0.0.1:9/x.png", "data:,x", "toolu_1", "text"]
BASE_URLS = ["SERVER", "SERVER/prefix", "http://127.0.0.1:9", "ftp://127.0.0.1/",
             "not a url", "http://u:p@127.0.0.1/", "http://127.0.0.1:0", "SERVER?x=1"]
values = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=12))


def _options():
    found = []
    for param in cli.params:
        if param.param_type_name != "option" or param.name in ("version", "help"):
            continue
        names = list(param.opts) + list(param.secondary_opts)
        found.append((names, 0 if param.is_flag else param.nargs, param.name))
    return found


OPTIONS = _options()
arguments = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(OPTIONS), st.lists(values, min_size=2, max_size=2))
        .map(lambda o: ([o[0][0][0]] if o[0][1] == 0 else
                        [o[0][0][0], *o[1][:o[0][1]]], o[0][2])),
        values.map(lambda v: ([v], "prompt"))),
    max_size=6)
replies = st.one_of(
    st.just(("json", 200, {"content": [{"type": "text", "text": "ok"}],
                           "stop_reason": "end_turn", "input_tokens": 3})),
    st.tuples(st.just("json"), st.sampled_from([200, 400, 401, 404]), messages),
    st.tuples(st.just("stream"), st.just(200), st.lists(event_data, max_size=5)))


def hermetic(word):
    """Random text never names a file outside the test's directory: no absolute
    path (but the devices the test means), no way up."""
    if word.lstrip("@").startswith("/") and word not in ("/dev/null", "@/dev/null"):
        word = "x" + word
    return word.replace("..", "__")


def materialize(args, tmp_path, server_url):
    """The argument words, run from tmp_path (see hermetic)."""
    out = []
    for piece, name in args:
        for word in map(hermetic, piece):
            if name == "base_url" and word not in ("--base-url",):
                word = BASE_URLS[hash(word) % len(BASE_URLS)]
            word = word.replace("SERVER", server_url)
            word = {"CHAT": str(tmp_path / "chat.json"), "OUT": str(tmp_path / "out.txt"),
                    "MSGS": str(tmp_path / "msgs.json")}.get(word, word)
            out.append(word)
    return out


def serve(api, answer):
    from werkzeug import Response

    kind, status, body = answer
    api.clear()
    if kind == "json":
        response = Response(json.dumps(body), status=status, content_type="application/json")
    else:
        response = Response(sse_body([start, *body, stop], ascii=True), status=status,
                            content_type="text/event-stream")
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        api.expect_request(path).respond_with_response(response)


def check(r):
    assert r.code in DOCUMENTED, r
    assert_no_secret(r.stdout, r.stderr)
    for line in r.stderr.splitlines():
        if line.startswith("msgcli: "):
            assert not [c for c in line if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0], r


def prepare(tmp_path):
    for name in ("chat.json", "out.txt"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "msgs.json").write_text('[{"role": "user", "content": "Hi"}]')


@SETTINGS
@given(args=arguments, answer=replies, stdin=st.binary(max_size=20))
def test_any_arguments_in_process(api, invoke, tmp_path, monkeypatch, args, answer, stdin):
    monkeypatch.chdir(tmp_path)
    prepare(tmp_path)
    serve(api, answer)
    argv = ["--retries", "0", "--stdin-timeout", "0", *materialize(args, tmp_path, api.base)]
    check(invoke(argv, input=stdin))


@settings(max_examples=SUBPROCESS_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(args=arguments, answer=replies, stdin=st.binary(max_size=20))
def test_any_arguments_in_a_real_process(api, tmp_path, args, answer, stdin):
    prepare(tmp_path)
    serve(api, answer)
    argv = ["--retries", "0", "--stdin-timeout", "0", *materialize(args, tmp_path, api.base)]
    argv = [a.replace("\0", "") for a in argv]  # no real argv can hold a NUL
    argv = [a.encode("utf-8", "surrogateescape") if "\ud800" not in a else
            a.replace("\ud800", "\udcff").encode("utf-8", "surrogateescape") for a in argv]
    proc = subprocess.run([sys.executable, "-m", "msgcli", *argv], input=stdin,
                          capture_output=True, timeout=120, cwd=tmp_path,
                          env=clean_env(api.base))
    check(Result(proc.returncode, proc.stdout, proc.stderr))
