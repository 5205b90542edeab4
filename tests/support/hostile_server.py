"""A deliberately hostile Messages API server on 127.0.0.1, for tests/test_hostile*.py.

Built on ScriptedServer: each connection is answered by a script of raw bytes (and
Pause/Sleep/Drop steps). Here a script may also be a callable that makes a fresh,
possibly endless, iterable for each connection, so the server can send an endless
body, an endless line or endless events until msgcli hangs up. The helpers build
the replies a hostile server sends: raw status lines and headers of its choosing,
event streams around any events (their bytes from tests/support/sse.py), and
key-stealing or terminal-driving text.
"""

import json

from tests.support.scripted_server import ScriptedServer, chunked
from tests.support.sse import sse_event

# Terminal control a server could try to smuggle into a message: a window title
# (OSC 0), a clipboard write (OSC 52), clear screen (CSI 2J), an 8-bit CSI, a bell.
TERMINAL_ATTACK = "\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x9b31m\x7f"


def head(status="200 OK", content_type="application/json", headers=None, length=None,
         is_chunked=False):
    lines = [f"HTTP/1.1 {status}", f"content-type: {content_type}", "connection: close",
             "request-id: req_hostile"]
    if length is not None:
        lines.append(f"content-length: {length}")
    if is_chunked:
        lines.append("transfer-encoding: chunked")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(body, status="200 OK", content_type="application/json", headers=None):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
    return [head(status, content_type, headers, length=len(body)), body]


def _event(data):
    # escaped to ASCII as json.dumps does: a lone surrogate in a text goes out as the
    # escape \ud800, alone, as a server may send it
    return sse_event(data, ascii=True)


def message_start(**fields):
    message = {"id": "msg_h", "type": "message", "role": "assistant", "model": "m",
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 1, "output_tokens": 0}}
    message.update(fields)
    return _event({"type": "message_start", "message": message})


def block_start(index, block):
    return _event({"type": "content_block_start", "index": index, "content_block": block})


def delta(index, kind, key, value):
    return _event({"type": "content_block_delta", "index": index,
                   "delta": {"type": kind, key: value}})


def block_stop(index):
    return _event({"type": "content_block_stop", "index": index})


def message_end(stop_reason="end_turn", **delta_fields):
    return _event({"type": "message_delta", "delta": {"stop_reason": stop_reason,
                                                      **delta_fields},
                   "usage": {"output_tokens": 3}}) + _event({"type": "message_stop"})


def stream(*events, headers=None):
    """A whole event stream, one chunk per event, as a script."""
    return [head(content_type="text/event-stream", headers=headers, is_chunked=True),
            *chunked(list(events))]


def thinking_stream(thinking_pieces, text="ok"):
    return stream(message_start(),
                  block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
                  *[delta(0, "thinking_delta", "thinking", p) for p in thinking_pieces],
                  delta(0, "signature_delta", "signature", "sig"),
                  block_stop(0),
                  block_start(1, {"type": "text", "text": ""}),
                  delta(1, "text_delta", "text", text), block_stop(1), message_end())


def endless(first, piece):
    """A script factory: the steps `first`, then `piece` again and again until msgcli
    hangs up."""
    def script():
        yield from first
        while True:
            yield piece
    return script


class HostileServer(ScriptedServer):
    """ScriptedServer whose scripts may be factories (called per connection)."""

    def __init__(self, *scripts):
        super().__init__(scripts)

    def _answer(self, conn, script):
        super()._answer(conn, script() if callable(script) else script)

