"""Reading a reply's body over a real socket on this urllib3 (CI runs 1.26 and 2):
every framing (chunked, Content-Length, until the connection closes), with the
guarded shortcuts on and off (msgcli.wire.chunked, msgcli.wire.bodyread). Each must give the
same bytes, give them out as they arrive, and refuse a body cut short."""


import pytest
from click.testing import CliRunner

from msgcli.cli.command import cli
from msgcli.status import ExitStatus
from msgcli.wire import bodyread, chunked
from tests.conftest import _RUNNER_KWARGS, clean_env
from tests.support.scripted_server import ScriptedServer, Sleep, sse_response
from tests.support.sse import sse_body, sse_event, text_stream
from tests.test_fast_path import FakeRaw, FakeResponse, cut, run_on_reads
from tests.test_streaming import assert_printed_while_held

FRAMINGS = ["chunked", "length", "close"]
PUBLIC_READ1 = hasattr(__import__("urllib3").HTTPResponse, "read1")  # urllib3 2.2+


def framed(pieces, framing, length=None):
    """A script answering with `pieces` (bytes, or Sleep/Pause steps) in `framing`."""
    if framing == "chunked":
        return sse_response(pieces)
    body = b"".join(p for p in pieces if isinstance(p, bytes))
    head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
    if framing == "length":
        head += f"content-length: {length if length is not None else len(body)}\r\n"
    return [(head + "request-id: req_body\r\n\r\n").encode(), *pieces]


def run(server, args, fast):
    env = clean_env(server.url)
    env["MSGCLI_NO_FAST_PATH"] = None if fast else "1"  # None: unset in the runner too
    return CliRunner(**_RUNNER_KWARGS).invoke(cli, ["--stream", "--retries", "0", *args,
                                                   "Hi"], env=env)


STREAM = sse_body(text_stream(["héllo ", "👋🏽 ", "world "] * 40))


@pytest.mark.parametrize("fast", [True, False], ids=["shortcuts", "public"])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("args", [[], ["-j"]])
def test_every_framing_and_reader_gives_the_same_bytes(monkeypatch, framing, fast, args):
    taken = {}
    for module, name in ((chunked, "raw_chunked_read"), (bodyread, "http_client_read1")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=name, **k:
                            taken.setdefault(name, real(*a, **k)))
    pieces = []
    for i, piece in enumerate(cut(STREAM, range(0, len(STREAM), 173))):
        pieces += [piece, Sleep(0.002)] if i % 7 == 0 else [piece]
    server = ScriptedServer([framed(pieces, framing)])
    try:
        result = run(server, args, fast)
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == run_on_reads([STREAM], args, plain=True).stdout_bytes
    # the shortcuts are taken exactly where they are meant to be, on this urllib3
    assert (taken.get("raw_chunked_read") is not None) == (fast and framing == "chunked")
    uses_http_client = fast and framing != "chunked" and not PUBLIC_READ1
    assert (taken.get("http_client_read1") is not None) == uses_http_client, \
        "urllib3 no longer looks as bodyread.http_client_read1 expects"


@pytest.mark.parametrize("fast", [True, False], ids=["shortcuts", "public"])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_held_stream_is_printed_as_it_arrives(framing, fast):
    assert_printed_while_held(lambda pieces: framed(pieces, framing),
                              MSGCLI_NO_FAST_PATH=None if fast else "1")


@pytest.mark.parametrize("fast", [True, False], ids=["shortcuts", "public"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_a_body_shorter_than_its_content_length_is_a_network_error(stream, fast):
    # the stream cut before its message_stop (msgcli stops reading there)
    body = STREAM[:STREAM.rindex(b"event: message_delta")] if stream else \
        b'{"type": "message", "content": []}'
    head = (f"HTTP/1.1 200 OK\r\ncontent-type: "
            f"{'text/event-stream' if stream else 'application/json'}\r\n"
            f"connection: close\r\ncontent-length: {len(body) + 10}\r\n\r\n").encode()
    server = ScriptedServer([[head, body]])
    try:
        result = run(server, [], fast)
    finally:
        server.close()
    assert result.exit_code == ExitStatus.NETWORK, result.output
    assert "dropped before the response was complete" in result.stderr


def test_a_stream_cut_at_its_content_length_is_whole():
    """Bytes past Content-Length are not the body: the stream ends there."""
    server = ScriptedServer([framed([STREAM + sse_event(b"{}", "ping")], "length",
                                    length=len(STREAM))])
    try:
        for fast in (True, False):
            result = run(server, ["-j"], fast)
            assert result.exit_code == 0, result.output
            assert b'"ping"' not in result.stdout_bytes
    finally:
        server.close()


def test_http_client_read1_steps_aside_when_the_reply_is_not_as_expected():
    assert bodyread.http_client_read1(FakeResponse(FakeRaw(object()))) is None
    assert bodyread.http_client_read1(FakeResponse(FakeRaw(None))) is None
    assert bodyread.http_client_read1(FakeResponse(object())) is None
    assert bodyread.http_client_read1(FakeResponse(FakeRaw(None)), fast=False) is None
