"""Server-sent events: the SSE wire format, then the Messages API event protocol.

SSEParser knows only the format (fields, multi-line data, comments, CR/LF/CRLF,
events and UTF-8 characters split across network chunks). MessageAccumulator
knows only the protocol: it rebuilds the Message the non-streaming API would have
returned, keeping nothing but that message, so memory stays flat however long
the stream runs.
"""

import json

from msgcli.errors import ApiError, BadResponseError, NetworkError


class SSEEvent:
    __slots__ = ("event", "data")

    def __init__(self, event, data):
        self.event = event
        self.data = data


class SSEParser:
    def __init__(self):
        self._partial = b""
        self._event = ""
        self._data = []

    def feed(self, chunk):
        """Parse bytes as they come; yield each complete event."""
        if not chunk:
            return
        buffer = self._partial + chunk
        lines = buffer.splitlines(keepends=True)
        # A trailing CR may be half of a CRLF whose LF is still on the wire.
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            self._partial = lines.pop()
        else:
            self._partial = b""
        data = self._data
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            # data lines, most of a stream, are parsed inline: this loop runs per line
            if line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value.decode("utf-8", "replace"))
            elif not line:
                event = self._dispatch()
                if event is not None:
                    yield event
            else:
                self._line(line)

    def close(self):
        """End of stream: a final event without its blank line is still dispatched."""
        if self._partial:
            line, self._partial = self._partial.rstrip(b"\r\n"), b""
            event = self._line(line)
            if event is not None:
                yield event
        event = self._dispatch()
        if event is not None:
            yield event

    def _line(self, raw):
        if not raw:
            return self._dispatch()
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None  # id and retry mean nothing for a one-shot POST

    def _dispatch(self):
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data))
        self._event = ""
        self._data.clear()
        return event


_PROTOCOL_EVENTS = frozenset({
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop"})


def _obj(value):
    return value if isinstance(value, dict) else {}


def _text(delta, key):
    value = delta.get(key, "")
    if not isinstance(value, str):
        raise BadResponseError(f"stream error: a delta whose {key!r} is not a string")
    return value


class MessageAccumulator:
    """Folds Messages API stream events into the final message.

    Handlers (callables or None) are told about text and thinking as it arrives.
    Text parts are kept in lists and joined once, because growing one string by
    50,000 small deltas would copy it 50,000 times.
    """

    def __init__(self, on_text=None, on_thinking=None):
        self.message = None
        self.finished = False
        self._on_text = on_text
        self._on_thinking = on_thinking
        self._parts = {}

    def handle(self, event_type, data):
        if not isinstance(data, dict):
            if event_type in _PROTOCOL_EVENTS:
                raise BadResponseError(f"stream error: a {event_type} event whose data is "
                                       "not a JSON object")
            return
        kind = data.get("type", event_type)
        if kind == "error":
            raise ApiError.from_error_object(data)
        if kind == "message_start":
            message = data.get("message")
            if not isinstance(message, dict):
                raise BadResponseError("stream error: message_start without a message")
            self.message = dict(message)
            content = message.get("content")
            self.message["content"] = list(content) if isinstance(content, list) else []
            return
        if kind == "message_stop":
            if self.message is None:
                raise BadResponseError("stream error: message_stop before message_start")
            self.finished = True
            return
        if kind not in _PROTOCOL_EVENTS:
            return  # ping and event types added later carry nothing the reply needs
        if self.message is None:
            raise BadResponseError(f"stream error: {kind} before message_start")
        if kind == "content_block_start":
            self._block_start(data)
        elif kind == "content_block_delta":
            self._block_delta(data)
        elif kind == "content_block_stop":
            self._block_stop(data.get("index"))
        elif kind == "message_delta":
            for key, value in _obj(data.get("delta")).items():
                self.message[key] = value
            usage = data.get("usage")
            if isinstance(usage, dict):
                merged = _obj(self.message.get("usage")).copy()
                merged.update({k: v for k, v in usage.items() if v is not None})
                self.message["usage"] = merged

    def _block(self, index):
        content = self.message["content"]
        if not isinstance(index, int) or not 0 <= index < len(content) \
                or not isinstance(content[index], dict):
            raise BadResponseError(f"stream error: event for unknown content block {index!r}")
        return content[index]

    def _block_start(self, data):
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict):
            raise BadResponseError("stream error: content_block_start without a block")
        content = self.message["content"]
        block = dict(block)
        if isinstance(index, int) and index < len(content):
            content[index] = block
        else:
            content.append(block)
        if block.get("type") == "text" and self._on_text:
            self._on_text(_text(block, "text"))

    def _parts_for(self, index, key, block):
        parts = self._parts.setdefault((index, key), [])
        if not parts and block.get(key) and isinstance(block[key], str):
            parts.append(block[key])
        return parts

    def _block_delta(self, data):
        index = data.get("index")
        block = self._block(index)
        delta = _obj(data.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            text = _text(delta, "text")
            self._parts_for(index, "text", block).append(text)
            if self._on_text:
                self._on_text(text)
        elif kind == "input_json_delta":
            self._parts_for(index, "partial_json", block).append(
                _text(delta, "partial_json"))
        elif kind == "thinking_delta":
            text = _text(delta, "thinking")
            self._parts_for(index, "thinking", block).append(text)
            if self._on_thinking:
                self._on_thinking(text)
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature")
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))
        else:
            # compaction_delta and later kinds: keep their fields on the block
            for key, value in delta.items():
                if key != "type":
                    block[key] = value

    def _block_stop(self, index):
        if not isinstance(index, int):
            return
        self._flush_block(index)
        if self._on_thinking and self._block(index).get("type") == "thinking":
            self._on_thinking("\n")

    def _flush_block(self, index):
        block = self._block(index)
        for key in ("text", "thinking"):
            parts = self._parts.pop((index, key), None)
            if parts is not None:
                block[key] = "".join(parts)
        parts = self._parts.pop((index, "partial_json"), None)
        if parts is not None:
            raw = "".join(parts)
            try:
                block["input"] = json.loads(raw) if raw.strip() else {}
            except ValueError:
                # Cut off by max_tokens mid-call: keep what arrived, as text.
                block["input"] = raw

    def result(self):
        """The whole message, once message_stop has arrived."""
        for index in {index for index, _ in self._parts}:
            self._flush_block(index)
        return self.message


def iter_chunks(response, size=65536):
    """Bytes as the network delivers them, without waiting to fill a buffer.
    Read failures become NetworkError here, so a failed write to stdout (which
    happens in the caller, between reads) is never mistaken for one."""
    import requests
    import urllib3.exceptions

    raw = response.raw
    read = getattr(raw, "read1", None)
    chunks = None if read is not None else response.iter_content(chunk_size=None)
    while True:
        try:
            chunk = read(size) if chunks is None else next(chunks, b"")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
            from msgcli.transport import describe_network_error

            raise NetworkError(f"the stream broke: {describe_network_error(e)}; what was "
                               "printed is incomplete (not retried, to avoid printing "
                               "it twice)") from None
        if not chunk:
            return
        yield chunk


def replay(response, jsonl_out=None, on_text=None, on_thinking=None, after_read=None):
    """Consume an event-stream response and return the finished message.

    With `jsonl_out`, every event's JSON is written to it as one line as it arrives.
    `after_read` runs once the events of each network read are handled: the place to
    flush, so output leaves with the bytes that brought it, in one write per read."""
    parser = SSEParser()
    accumulator = MessageAccumulator(on_text=on_text, on_thinking=on_thinking)
    events = 0

    def handle(event):
        nonlocal events
        events += 1
        if jsonl_out is not None:
            line = event.data if "\n" not in event.data else \
                json.dumps(json.loads(event.data), separators=(",", ":"))
            jsonl_out.write(line + "\n")
        try:
            data = json.loads(event.data)
        except ValueError:
            raise BadResponseError(f"stream error: event {events} ({event.event}) is "
                                   "not JSON") from None
        accumulator.handle(event.event, data)

    try:
        for chunk in iter_chunks(response):
            for event in parser.feed(chunk):
                handle(event)
                if accumulator.finished:
                    if after_read is not None:
                        after_read()
                    return accumulator.result()
            if after_read is not None:
                after_read()
        for event in parser.close():
            handle(event)
    finally:
        response.close()
    if not accumulator.finished:
        raise NetworkError(f"the stream ended after {events} events without "
                           "message_stop; what was printed is incomplete")
    return accumulator.result()
