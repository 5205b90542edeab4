"""The fast path (msgcli.stream.fastpath, msgcli.wire.chunked) against the plain path.

A differential fuzz: random event streams, cut into network reads anywhere, are run
through the whole command twice, once with MSGCLI_NO_FAST_PATH=1, and must give the
same stdout bytes, stderr and exit status. The reads are delivered by a stand-in
Transport, so that the cuts are exactly the ones drawn; the same streams are also sent
chunk-framed through msgcli.wire.chunked's decoder, whose reads the fast path may take
before they are decoded. The socket path (urllib3's public reads and the raw chunked
reader) is compared separately below.
"""

import http.client
import io
import itertools
import os
import re
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgcli.cli.command import cli
from msgcli.output.redaction import JsonEvents, Redactor
from msgcli.stream import fastpath
from msgcli.wire import chunked
from msgcli.wire import transport as transport_module
from tests.conftest import _RUNNER_KWARGS, FAKE_KEY, Result, assert_no_secret, clean_env
from tests.support.scripted_server import ScriptedServer, Sleep, sse_response
from tests.support.scripted_server import chunked as chunked_framing
from tests.support.sse import sse_body, text_stream

EXAMPLES = int(os.environ.get("MSGCLI_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

# -- running the command on given network reads ------------------------------------


class _Response:
    status_code = 200
    headers = {"content-type": "text/event-stream", "request-id": "req_fuzz"}

    def close(self):
        pass


def _fake_transport(reads, chunked_body=False):
    """A Transport whose stream is `reads`: decoded bytes, or with `chunked_body` a
    chunked body's raw reads, decoded by msgcli.wire.chunked as the raw reader does."""
    class FakeTransport:
        request_id = None

        def __init__(self, *args, **kwargs):
            self.attempts = 1

        def send(self, req):
            return _Response()

        def iter_chunks(self, response, framed=False):
            if not chunked_body:
                yield from reads
                return
            raw = iter(reads)
            yield from chunked.dechunk(lambda size: next(raw, b""), framed=framed)

        def close(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    return FakeTransport


def run_on_reads(reads, args, plain, chunked_body=False):
    env = clean_env("http://127.0.0.1:9", MSGCLI_NO_FAST_PATH="1" if plain else None)
    for key in list(os.environ):
        if key.startswith(("MSGCLI_", "ANTHROPIC_")) and key not in env:
            env[key] = None
    with mock.patch.object(transport_module, "Transport",
                           _fake_transport(reads, chunked_body)):
        result = CliRunner(**_RUNNER_KWARGS).invoke(cli, ["--stream", *args, "Hi"], env=env,
                                    catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    out = Result(result.exit_code, result.stdout_bytes, result.stderr_bytes)
    assert_no_secret(out.stdout, out.stderr)
    assert out.code != 1, f"internal error: {out!r}"
    return out


def assert_same(reads, args, framed=None):
    """The fast path on `reads` (and on `framed`, the same stream's chunked body cut
    into raw reads) gives what the plain path gives on `reads`."""
    plain = run_on_reads(reads, args, plain=True)
    fast = run_on_reads(reads, args, plain=False)
    assert (fast.stdout_bytes, fast.stderr, fast.code) == \
        (plain.stdout_bytes, plain.stderr, plain.code)
    if framed is not None:
        fast = run_on_reads(framed, args, plain=False, chunked_body=True)
        assert (fast.stdout_bytes, fast.stderr, fast.code) == \
            (plain.stdout_bytes, plain.stderr, plain.code)
    return fast


def frame(data, points=(), upper=False):
    """`data` as a chunked body: a chunk per event, as the API sends them, each
    also cut at `points`; sizes in lower-case hexadecimal (as the API), or upper."""
    ends = [m.end() for m in re.finditer(rb"\n\n", data)]
    bounds = sorted({0, len(data), *ends, *(p for p in points if 0 < p < len(data))})
    return b"".join(chunked_framing([data[a:b] for a, b in itertools.pairwise(bounds)],
                                    upper=upper))


# -- random streams -----------------------------------------------------------------

ESCAPES = [b'\\n', b'\\"', b'\\\\', b'\\t', b'\\/', b'\\r', b'\\u00e9', b'\\u0041',
           b'\\ud83d', b'\\ude00', b'\\u2028', b'\\u0000', b'\\x', b'\\u12']
# one unit is one escape or one byte: a cut between units may split a UTF-8 character
def unit_lists():
    return st.lists(st.one_of(
        st.sampled_from(ESCAPES).map(lambda e: [e]),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=3).map(
            lambda t: [bytes([b]) for b in t.encode()]),
        st.sampled_from(["a", "b ", "Hello ", "世界", "👋🏽", "é"]).map(
            lambda t: [bytes([b]) for b in t.encode()]),
        st.sampled_from([b'"', b"\x01", b"\xff", b"\xed\xa0\x80", b"\n"]).map(lambda b: [b]),
        st.just([bytes([b]) for b in FAKE_KEY.encode()]),  # a key, split anywhere
    ), max_size=12).map(lambda groups: [u for g in groups for u in g])


def delta_event(index, kind, key, raw, compact):
    kind, key = kind.encode(), key.encode()
    if compact:
        data = (b'{"type":"content_block_delta","index":%d,"delta":{"type":"%s","%s":"'
                % (index, kind, key)) + raw + b'"}}'
    else:
        data = (b'{"type": "content_block_delta", "index": %d, "delta": {"type": "%s", '
                b'"%s": "' % (index, kind, key)) + raw + b'"}}'
    return ("content_block_delta", data)


def event(kind, payload):
    return {"type": kind, **payload}


@st.composite
def streams(draw):
    """Items for sse_body: events, (event name, raw data bytes) pairs, raw framing."""
    events = [event("message_start", {"message": {
        "id": "msg_f", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1}}})]
    index = 0
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["text", "text", "thinking"]))
        start = {"type": kind, kind: ""}
        if kind == "thinking":
            start["signature"] = ""
        events.append(event("content_block_start", {"index": index, "content_block": start}))
        units = draw(unit_lists())
        cuts = sorted(draw(st.sets(st.integers(0, len(units)), max_size=6)))
        bounds = [0, *cuts, len(units)]
        for a, b in itertools.pairwise(bounds):
            raw = b"".join(units[a:b])
            compact = draw(st.integers(0, 5)) > 0
            delta_index = index if draw(st.integers(0, 30)) else index + 5
            if kind == "text":
                events.append(delta_event(delta_index, "text_delta", "text", raw, compact))
            else:
                events.append(delta_event(delta_index, "thinking_delta", "thinking", raw,
                                          compact))
            extra = draw(st.integers(0, 12))
            if extra == 0:
                events.append(event("ping", {}))
            elif extra == 1:
                events.append(b": a comment\n\n")
            elif extra == 2:
                events.append(event("content_block_delta", {"index": index, "delta": {
                    "type": "citations_delta", "citation": {"cited_text": "x"}}}))
            elif extra == 3:
                events.append(b'event: content_block_delta\ndata: {"type":"content_block_delta",'
                              b'"index":0,\ndata: "delta":{"type":"text_delta","text":"ml"}}\n\n')
            elif extra == 4:
                events.append(b"event: content_block_delta\nid: 7\n\n")
        events.append(event("content_block_stop", {"index": index}))
        index += 1
    ending = draw(st.integers(0, 12))
    if ending == 0:
        events.append(event("error", {"error": {"type": "overloaded_error",
                                                "message": "Overloaded"}}))
    elif ending == 1:
        events.append(("message_delta", b"{not json"))
    elif ending != 2:  # 2: the stream just stops
        events.append(event("message_delta", {"delta": {"stop_reason": "end_turn",
                                                        "stop_sequence": None},
                                              "usage": {"output_tokens": 5}}))
        events.append(event("message_stop", {}))
    return events


def serialize(events, crlf, bom, no_space):
    return sse_body(events, compact=True, crlf=crlf, bom=bom, space=not no_space)


def cut(data, points):
    bounds = [0, *sorted(p for p in points if 0 < p < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


MODES = [[], ["-j"], ["--show-thinking"], ["-p", "Well,"], ["-n"], ["-j", "-n"]]


@SETTINGS
@given(streams(), st.sampled_from(MODES), st.integers(0, 9),
       st.lists(st.integers(0, 4000), max_size=12),
       st.lists(st.integers(0, 4000), max_size=4), st.lists(st.integers(0, 6000), max_size=12))
def test_fast_and_plain_paths_agree(events, args, variant, points, chunk_cuts, raw_points):
    data = serialize(events, crlf=variant == 0, bom=variant == 1, no_space=variant == 2)
    if variant == 3:
        data = data[:len(data) - len(data) // 7]  # an event cut off at the end
    body = frame(data, chunk_cuts if variant == 4 else (), upper=variant == 5)
    assert_same(cut(data, points), args, cut(body, raw_points))


@SETTINGS
@given(st.lists(st.text(max_size=8), min_size=1, max_size=30), st.sampled_from(MODES),
       st.lists(st.integers(0, 3000), max_size=8), st.booleans())
def test_ordinary_streams_agree_and_are_right(pieces, args, points, ascii_json):
    """Streams shaped as the API sends them: the fast path takes most of them."""
    sse = sse_body(text_stream(pieces), compact=True, ascii=ascii_json)
    result = assert_same(cut(sse, points), args, cut(frame(sse), [p * 2 for p in points]))
    if not args or args == ["--show-thinking"]:
        text = "".join(pieces)
        expected = text + "\n" if text and not text.endswith("\n") else text
        assert result.stdout_bytes == expected.encode("utf-8", "surrogatepass")


def test_a_key_split_across_deltas_and_reads_is_redacted():
    key = FAKE_KEY
    pieces = ["token: ", key[:5], key[5:20], key[20:], " end"]
    sse = sse_body(text_stream(pieces), compact=True)
    for points in ([], [sse.index(key[5:20].encode()) + 3], list(range(0, len(sse), 97))):
        result = assert_same(cut(sse, points), [])
        assert result.stdout == "token: [REDACTED] end\n"


def test_the_fast_path_is_taken_on_the_api_shape(monkeypatch):
    """Not a timing: the shortcut must actually see the API's exact bytes."""
    from msgcli.stream import accumulator as events_module

    monkeypatch.delenv("MSGCLI_NO_FAST_PATH", raising=False)  # CI also runs it set
    calls = []
    real = events_module.MessageAccumulator.take_text

    def spy(self, index, text):
        calls.append(text)
        return real(self, index, text)

    monkeypatch.setattr(events_module.MessageAccumulator, "take_text", spy)
    sse = sse_body(text_stream([f"w{i} " for i in range(200)]), compact=True, ascii=True)
    out = io.StringIO()
    events_module.replay([sse], jsonl_out=JsonEvents(Redactor([FAKE_KEY]), out.write))
    assert calls == ["".join(f"w{i} " for i in range(200))]
    assert out.getvalue().count("\n") == len(text_stream(["x"] * 200))


def test_the_framed_path_is_taken_on_the_api_shape(monkeypatch):
    """Not a timing: with the API's framing (an event per chunk, sizes in lower-case
    hexadecimal), the text deltas of a read are taken before anything decodes them."""
    taken = []
    real = fastpath.TextRuns.take_framed

    def spy(self, data, start):
        result = real(self, data, start)
        taken.append(result[1])
        return result

    monkeypatch.setattr(fastpath.TextRuns, "take_framed", spy)
    pieces = [f"w{i} " for i in range(300)]
    sse = sse_body(text_stream(pieces), compact=True)
    body = frame(sse)
    reads = cut(body, range(0, len(body), 4000))
    result = run_on_reads(reads, [], plain=False, chunked_body=True)
    assert (result.code, result.stdout) == (0, "".join(pieces) + "\n")
    assert sum(taken) >= 250, taken  # all but the first read's and the cut events


# -- HTTP chunked decoding ----------------------------------------------------------

def reference_dechunk(body):
    """http.client's own decoding of a chunked body."""
    class Sock:
        def makefile(self, mode):
            return io.BytesIO(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + body)

    response = http.client.HTTPResponse(Sock())
    response.begin()
    return response.read()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.lists(st.sampled_from([b"a", b"\r\n", b"\n", b"\r", b"0\r\n",
                                           b"data", b"\xff"]), max_size=40).map(b"".join)
                | st.binary(max_size=300), max_size=20),
       st.lists(st.integers(0, 3000), max_size=15), st.booleans())
def test_dechunk_reads_what_http_client_reads(pieces, points, extensions):
    body = b"".join((b"%x;x=1\r\n" if extensions else b"%X\r\n") % len(p) + p + b"\r\n"
                    for p in pieces if p) + b"0\r\n\r\n"
    reads = iter(cut(body, points))
    got = b"".join(chunked.dechunk(lambda size: next(reads, b"")))
    assert got == reference_dechunk(body) == b"".join(pieces)


@pytest.mark.parametrize("body", [b"5\r\nabc", b"zz\r\nabc\r\n0\r\n\r\n", b"-1\r\n",
                                  b"3\r\nabc\r\n", b"", b"1" * 70000])
def test_dechunk_fails_on_a_broken_body(body):
    reads = iter(cut(body, [2, 7]))
    with pytest.raises(chunked.ChunkedError):
        list(chunked.dechunk(lambda size: next(reads, b"")))


# -- through a socket: the raw chunked reader and urllib3's public reads -----------

SOCKET_STREAM = sse_body(text_stream(["héllo ", "👋🏽 ", "world"] * 30))


@pytest.mark.parametrize("runs", [True, False], ids=["text-runs", "parser-only"])
@pytest.mark.parametrize("raw_reads", [True, False], ids=["raw-chunked", "urllib3"])
@pytest.mark.parametrize("args", [[], ["-j"]])
def test_both_readers_over_a_socket(monkeypatch, raw_reads, runs, args):
    """Both readers, with and without the text runs, on this urllib3 (CI runs the
    lowest and the newest): the raw reader must be taken where it is allowed."""
    monkeypatch.setattr(chunked, "enabled", lambda: raw_reads)
    monkeypatch.setattr(fastpath, "enabled", lambda: runs)
    taken = []
    real = chunked.raw_chunked_read
    monkeypatch.setattr(chunked, "raw_chunked_read",
                        lambda response: taken.append(real(response)) or taken[-1])
    data = SOCKET_STREAM
    pieces = []
    for i, piece in enumerate(cut(data, range(0, len(data), 251))):
        pieces += [piece, Sleep(0.002)] if i % 5 == 0 else [piece]
    server = ScriptedServer([sse_response(pieces)])
    try:
        env = clean_env(server.url)
        result = CliRunner(**_RUNNER_KWARGS).invoke(cli, ["--stream", *args, "Hi"], env=env)
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert (taken[0] is not None) == raw_reads, \
        "urllib3 no longer looks as raw_chunked_read expects: the raw reader stepped aside"
    expected = run_on_reads([data], args, plain=True)
    assert result.stdout_bytes == expected.stdout_bytes


class FakeRaw:
    """A reply's urllib3 response as the readers' guards see it: what `_fp` holds,
    what tell() says, neither chunked nor counting down a Content-Length."""

    chunked = False
    length_remaining = None

    def __init__(self, inner, told=0):
        self._fp = inner
        self._told = told

    def tell(self):
        return self._told


class FakeResponse:
    def __init__(self, raw):
        self.raw = raw


def test_raw_reader_steps_aside_when_the_reply_is_not_fresh():
    assert chunked.raw_chunked_read(FakeResponse(FakeRaw(object()))) is None
    assert chunked.raw_chunked_read(FakeResponse(FakeRaw(None))) is None
    assert chunked.raw_chunked_read(FakeResponse(object())) is None
