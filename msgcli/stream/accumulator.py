"""The Messages API event protocol: stream events folded into the Message the
non-streaming API would have returned, and the read loop that feeds them.

MessageAccumulator keeps nothing but that message, so memory stays flat however
long the stream runs. The wire format is msgcli.stream.sse's; reading the network is
msgcli.wire.transport's.
"""

import json

from msgcli.api.reply import api_error, check_message, loads
from msgcli.errors import BadResponseError, NetworkError
from msgcli.stream import fastpath
from msgcli.stream.sse import SSEParser

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
        if not isinstance(kind, str):
            raise BadResponseError("stream error: an event whose type is not a string")
        if kind == "error":
            raise api_error(data)
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
            if "content" in _obj(data.get("delta")):  # content comes only from blocks
                raise BadResponseError("stream error: a message_delta that replaces the "
                                       "message's content")
            for key, value in _obj(data.get("delta")).items():
                self.message[key] = value
            usage = data.get("usage")
            if isinstance(usage, dict):
                merged = _obj(self.message.get("usage")).copy()
                merged.update({k: v for k, v in usage.items() if v is not None})
                self.message["usage"] = merged

    def takes_text(self, index):
        """Whether a text delta for block `index` would be taken without complaint
        (msgcli.stream.fastpath asks before it calls take_text)."""
        if self.message is None or self.finished:
            return False
        content = self.message["content"]
        return 0 <= index < len(content) and isinstance(content[index], dict)

    def take_text(self, index, text):
        """The text of one or more text deltas for block `index`, in order."""
        self._parts_for(index, "text", self.message["content"][index]).append(text)
        if self._on_text:
            self._on_text(text)

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
        if isinstance(index, int) and 0 <= index < len(content):  # never negative
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
            self.take_text(index, _text(delta, "text"))
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
        """The whole message, once message_stop has arrived, checked as a whole
        reply is checked."""
        for index in {index for index, _ in self._parts}:
            self._flush_block(index)
        check_message(self.message, "stream error: the message built from the stream")
        return self.message


def replay(chunks, jsonl_out=None, on_text=None, on_thinking=None, after_read=None):
    """Consume an event stream's byte chunks and return the finished message.

    With `jsonl_out` (a jsonredact.JsonEvents), every event's JSON is given to it as one
    line as it arrives.
    `after_read` runs once the events of each network read are handled: the place to
    flush, so output leaves with the bytes that brought it, in one write per read.
    Runs of plain text deltas take msgcli.stream.fastpath's shortcut to the same result;
    a read handed over still chunk-framed (msgcli.wire.chunked.Framed) lets it take whole
    chunks before they are decoded."""
    parser = SSEParser()
    accumulator = MessageAccumulator(on_text=on_text, on_thinking=on_thinking)
    runs = fastpath.TextRuns(parser, accumulator, jsonl_out) if fastpath.enabled() else None
    events = 0
    for piece in chunks:
        framed = not isinstance(piece, bytes)
        chunk = piece.before if framed else piece
        pos, size = 0, len(chunk)
        while pos < size:
            stop = size
            if runs is not None:
                pos, taken = runs.take(chunk, pos)
                events += taken
                if pos == size:
                    break
                stop = runs.plain_until(chunk, pos)
            for event in parser.feed(chunk[pos:stop] if pos or stop < size else chunk):
                events += 1
                _handle(event, events, accumulator, jsonl_out)
                if accumulator.finished:
                    if after_read is not None:
                        after_read()
                    return accumulator.result()
            pos = stop
        if framed and not piece.last:
            if runs is not None:
                piece.end, taken, piece.taken = runs.take_framed(piece.data, piece.start)
                events += taken
            continue
        if after_read is not None:
            after_read()
    parser.close()
    raise NetworkError(f"the stream ended after {events} events without message_stop; "
                       "what was printed is incomplete")


def _handle(event, number, accumulator, jsonl_out):
    try:
        data = loads(event.data)
    except (ValueError, RecursionError, MemoryError):
        raise BadResponseError(f"stream error: event {number} ({event.event}) is "
                               "not JSON") from None
    if jsonl_out is not None:
        jsonl_out.event(event.data if "\n" not in event.data else
                        json.dumps(data, separators=(",", ":")), data)
    accumulator.handle(event.event, data)
