"""Building and folding event streams for tests, independently of msgcli's code."""

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


def events_to_sse(events, crlf=False):
    nl = "\r\n" if crlf else "\n"
    out = []
    for event in events:
        data = json.dumps(event, ensure_ascii=False)
        out.append(f"event: {event['type']}{nl}data: {data}{nl}{nl}")
    return "".join(out).encode()


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
