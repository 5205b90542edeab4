"""AWS's binary event-stream framing (application/vnd.amazon.eventstream), as Bedrock's
InvokeModelWithResponseStream sends it, decoded into the Messages API's SSE events.

A frame is: total length and headers length (4 bytes each, big-endian), a CRC-32 of
those 8 bytes, the headers, the payload, and a CRC-32 of everything before it. Both
CRCs are checked: a frame that fails either is a broken stream, never a guess. A
chunk frame's payload is {"bytes": base64 of one Messages event}; an exception frame
names its kind in the :exception-type header.

One decoder of its own rather than botocore's: the Bedrock API key path needs no
botocore, and one code path is tested whatever is installed (tests/
test_platform_eventstream.py fuzzes it against botocore's parser).
"""

import base64
import binascii
import json
import struct
import zlib

from msgcli.api.reply import loads
from msgcli.errors import BadResponseError

PRELUDE = 12
# botocore's limits: a frame is at most 16 MiB, its headers at most 128 KiB
MAX_FRAME = 16 * 1024 * 1024
MAX_HEADERS = 128 * 1024
MEDIA_TYPE = "application/vnd.amazon.eventstream"

# Bedrock's exceptions, as the Messages API's error types (for a stream's error
# event, where only the type tells the exit status)
EXCEPTION_TYPES = {
    "ThrottlingException": "rate_limit_error",
    "ServiceQuotaExceededException": "rate_limit_error",
    "ModelNotReadyException": "overloaded_error",
    "ServiceUnavailableException": "overloaded_error",
    "ModelTimeoutException": "timeout_error",
    "InternalServerException": "api_error",
    "ModelStreamErrorException": "api_error",
    "ModelErrorException": "api_error",
    "ValidationException": "invalid_request_error",
    "ResourceNotFoundException": "not_found_error",
    "AccessDeniedException": "permission_error",
}


class EventStreamError(BadResponseError):
    pass


def _fail(what):
    raise EventStreamError(f"stream error: the event stream is broken: {what}")


def _header_value(data, pos, kind):
    """(value, next position) of one header value of type `kind`."""
    fixed = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
    if kind in (0, 1):
        return kind == 0, pos
    if kind in fixed:
        size = fixed[kind]
        if pos + size > len(data):
            _fail("a header value runs past the headers")
        raw = data[pos:pos + size]
        if kind in (2, 3, 4, 5, 8):
            return int.from_bytes(raw, "big", signed=True), pos + size
        return bytes(raw), pos + size
    if kind in (6, 7):
        if pos + 2 > len(data):
            _fail("a header value runs past the headers")
        size = int.from_bytes(data[pos:pos + 2], "big")
        raw = bytes(data[pos + 2:pos + 2 + size])
        if len(raw) != size:
            _fail("a header value runs past the headers")
        if kind == 7:
            try:
                return raw.decode("utf-8"), pos + 2 + size
            except UnicodeDecodeError:
                _fail("a string header is not UTF-8")
        return raw, pos + 2 + size
    _fail(f"a header of unknown type {kind}")


def parse_headers(data):
    headers = {}
    pos = 0
    while pos < len(data):
        size = data[pos]
        name = bytes(data[pos + 1:pos + 1 + size])
        if len(name) != size or pos + 1 + size >= len(data):
            _fail("a header name runs past the headers")
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            _fail("a header name is not UTF-8")
        pos += 1 + size
        kind = data[pos]
        headers[name], pos = _header_value(data, pos + 1, kind)
    return headers


class FrameDecoder:
    """Frames out of bytes that arrive in pieces of any size: feed() gives each whole
    frame as (headers, payload) once its last byte is in."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer += data
        frames = []
        while len(self._buffer) >= PRELUDE:
            total, header_size, prelude_crc = struct.unpack_from(">III", self._buffer)
            if zlib.crc32(self._buffer[:8]) != prelude_crc:
                _fail("a frame's prelude CRC does not match")
            if total > MAX_FRAME or header_size > MAX_HEADERS or \
                    total < PRELUDE + header_size + 4:
                _fail(f"a frame of impossible size ({total} bytes, {header_size} of "
                      "headers)")
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                _fail("a frame's message CRC does not match")
            headers = parse_headers(frame[PRELUDE:PRELUDE + header_size])
            frames.append((headers, frame[PRELUDE + header_size:-4]))
        return frames

    def close(self):
        if self._buffer:
            _fail(f"the stream ended inside a frame ({len(self._buffer)} bytes left)")


def sse_event(kind, data):
    """One SSE event as bytes, for msgcli.stream's reader."""
    return f"event: {kind}\ndata: {data}\n\n".encode()


def _error_event(name, text):
    """A Bedrock exception or error frame as the Messages API's stream error event."""
    return sse_event("error", json.dumps(
        {"type": "error", "error": {"type": EXCEPTION_TYPES.get(name, "api_error"),
                                    "message": f"{name}: {text}"}}))


def frame_to_sse(headers, payload, redactor=None):
    """The SSE event one Bedrock frame carries, or b"" for a frame that carries none.
    `redactor` redacts an exception's text before it is cut short."""
    message_type = headers.get(":message-type", "event")
    if message_type == "exception":
        name = str(headers.get(":exception-type") or "UnknownException")
        return _error_event(name, _message(payload, redactor))
    if message_type == "error":
        return _error_event(str(headers.get(":error-code") or "UnknownError"),
                            headers.get(":error-message", ""))
    if headers.get(":event-type", "chunk") != "chunk":
        return b""
    try:
        chunk = loads(payload)
        event = base64.b64decode(chunk["bytes"], validate=True)
    except RecursionError:
        _fail("a chunk frame's JSON payload is nested too deeply")
    except (ValueError, TypeError, KeyError, binascii.Error):
        _fail("a chunk frame without base64 'bytes' in a JSON payload")
    try:
        text = event.decode("utf-8")
        value = loads(text)
        # one line of JSON: a data field cannot hold a newline
        line = text if "\n" not in text and "\r" not in text else \
            json.dumps(value, separators=(",", ":"))
    except RecursionError:
        _fail("a chunk's event is JSON nested too deeply")
    except ValueError:
        _fail("a chunk whose bytes are not a JSON event")
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        return b""  # no event name to route it by: nothing a Messages stream carries
    return sse_event(kind, line)


def _message(payload, redactor=None):
    """An exception frame's message: its JSON's, or the start of its text, redacted
    before the cut (the cut would leave a secret's start the redactor cannot match)."""
    try:
        value = loads(payload)
        if isinstance(value, dict):
            return str(value.get("message") or value.get("Message") or "")
        return ""
    except (ValueError, RecursionError):
        text = bytes(payload).decode("utf-8", "replace")
        return (redactor(text) if redactor is not None else text)[:200]


def to_sse(chunks, redactor=None):
    """The SSE bytes of an event stream's frames, one piece per network read."""
    decoder = FrameDecoder()
    for chunk in chunks:
        out = b"".join(frame_to_sse(headers, payload, redactor)
                       for headers, payload in decoder.feed(chunk))
        if out:
            yield out
    decoder.close()


def encode_frame(headers, payload):
    """A frame with string headers (for tests and the fake servers)."""
    raw = b""
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        raw += bytes([len(name_bytes)]) + name_bytes + b"\x07" + \
            len(value_bytes).to_bytes(2, "big") + value_bytes
    total = PRELUDE + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw + payload
    return body + struct.pack(">I", zlib.crc32(body))


def chunk_frame(event):
    """A Bedrock chunk frame carrying one Messages event (a dict)."""
    data = json.dumps(event).encode()
    payload = json.dumps({"bytes": base64.b64encode(data).decode()}).encode()
    return encode_frame({":event-type": "chunk", ":content-type": "application/json",
                         ":message-type": "event"}, payload)
