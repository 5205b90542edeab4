"""Building and folding event streams for tests, independently of msgcli's code.

sse_event and sse_body are the one builder of event-stream bytes: every server and
test that sends events builds them here, with parameters for the ways streams differ
(compact JSON or not, escaped or raw UTF-8, CR LF, a space after the colon, an event
name line or not, a byte order mark)."""

import json

from tests.conftest import FIXTURES

FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.sse"))


def recorded_bytes(name):
    """A fixture exactly as recorded: the SDK's files end just after the last
    event's data line, without the blank line that completes an event."""
    return (FIXTURES / name).read_bytes()


def fixture_bytes(name):
    """A fixture as a server sends it: every event completed by its blank line."""
    data = recorded_bytes(name)
    return data if data.endswith(b"\n\n") else data.rstrip(b"\r\n") + b"\n\n"


def dumps(value, compact=False, ascii=False):
    """A JSON value as the bytes of a `data:` field. `compact` drops the spaces after
    `,` and `:` (as the API sends it); `ascii` escapes what is not ASCII (as Python's
    json.dumps does by default). A lone surrogate left unescaped goes out as the
    bytes of its code point, as a broken server might send it."""
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(value, separators=separators,
                      ensure_ascii=ascii).encode("utf-8", "surrogatepass")


def sse_event(data, name=None, *, compact=False, ascii=False, crlf=False, space=True,
              named=True):
    """One event as a server sends it: an `event:` line (unless not `named`), the
    `data:` line and the blank line that ends the event.

    `data` that is bytes is sent as it is (a deliberately broken payload); anything
    else as JSON (see dumps). The name is by default the data's "type" (whatever it
    is, as text), or "x" for data that is not an object. `crlf`: lines end in CR LF;
    `space`: a space after each field's colon (as the API sends it)."""
    if name is None:
        name = data.get("type") if isinstance(data, dict) else "x"
    if not isinstance(data, bytes):
        data = dumps(data, compact=compact, ascii=ascii)
    if not isinstance(name, bytes):
        name = str(name).encode("utf-8", "surrogatepass")
    nl = b"\r\n" if crlf else b"\n"
    colon = b": " if space else b":"
    head = b"event" + colon + name + nl if named else b""
    return head + b"data" + colon + data + nl + nl


def sse_body(items, *, bom=False, crlf=False, **options):
    """The bytes of an event stream. Each item is an event's data (see sse_event), a
    (name, data) pair, or bytes: a piece of framing sent as it is (with `crlf`, its
    LFs become CR LF), such as a comment or a multi-line `data:`. `bom`: the stream
    begins with a UTF-8 byte order mark. Other options apply to every event."""
    out = [b"\xef\xbb\xbf"] if bom else []
    for item in items:
        if isinstance(item, bytes):
            out.append(item.replace(b"\n", b"\r\n") if crlf else item)
        elif isinstance(item, tuple):
            name, data = item
            out.append(sse_event(data, name, crlf=crlf, **options))
        else:
            out.append(sse_event(item, crlf=crlf, **options))
    return b"".join(out)


def message_events(message):
    """The events of a one-text-block reply `message` streamed as a single delta."""
    start = dict(message, content=[], stop_reason=None)
    return [{"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": message["content"][0]["text"]}},
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                                "stop_sequence": None},
             "usage": {"output_tokens": 5}},
            {"type": "message_stop"}]


def data_lines(sse_bytes):
    """The `data:` payloads of a well-formed LF stream, in order."""
    return [line[len("data: "):] if line.startswith("data: ") else line[len("data:"):]
            for line in sse_bytes.decode().split("\n") if line.startswith("data:")]


def fold(sse_bytes):
    """The final message of a stream: a deliberately simple re-implementation used
    as the non-streaming reply for the same answer."""
    message = None
    partial = {}
    for payload in data_lines(sse_bytes):
        event = json.loads(payload)
        kind = event["type"]
        if kind == "message_start":
            message = dict(event["message"], content=[])
        elif kind == "content_block_start":
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            block = message["content"][event["index"]]
            delta = event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial[event["index"]] = partial.get(event["index"], "") + \
                    delta["partial_json"]
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"] = dict(message["usage"], **event["usage"])
    for index, text in partial.items():
        try:
            message["content"][index]["input"] = json.loads(text)
        except ValueError:
            message["content"][index]["input"] = text
    return message


def text_stream(pieces, stop_reason="end_turn", thinking=None, extra_events=(),
                model="claude-sonnet-4-5"):
    """Events of a reply whose text arrives in `pieces`."""
    events = [{"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "content": [],
        "model": model, "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1}}}]
    index = 0
    if thinking:
        events.append({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "thinking", "thinking": "",
                                         "signature": ""}})
        for piece in thinking:
            events.append({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "thinking_delta", "thinking": piece}})
        events.append({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "signature_delta", "signature": "EqQBsig=="}})
        events.append({"type": "content_block_stop", "index": 0})
        index = 1
    events.append({"type": "content_block_start", "index": index,
                   "content_block": {"type": "text", "text": ""}})
    events.extend(extra_events)
    for piece in pieces:
        events.append({"type": "content_block_delta", "index": index,
                       "delta": {"type": "text_delta", "text": piece}})
    events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                   "usage": {"output_tokens": 42}})
    events.append({"type": "message_stop"})
    return events
