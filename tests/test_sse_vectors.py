"""msgcli.stream.sse.SSEParser against the vendored conformance vectors (tests/data/sse-vectors:
web-platform-tests eventsource format cases, the SDK's SSE decoder tests and the HTML
standard's rules). Each vector is parsed whole, in its own chunking where it has one,
byte by byte, and split in two at every byte (bounded), and must give exactly the
standard's events (type and data; msgcli ignores ids and retry).

Deliberate differences from the standard: none in the events. The parser adds limits
of its own (a line or an event over msgcli.api.limits' bounds is exit 13), which no vector
comes near."""

import base64
import json
from pathlib import Path

import pytest

from msgcli.stream.sse import SSEParser

VECTORS = json.loads((Path(__file__).parent / "data" / "sse-vectors" / "vectors.json")
                     .read_text(encoding="utf-8"))
MAX_SPLITS = 2000  # two-piece splits per vector; the longest vector is 64 KB


def parse(chunks):
    parser = SSEParser()
    events = []
    for chunk in chunks:
        events += [(e.event, e.data) for e in parser.feed(chunk)]
    parser.close()
    return events


def chunkings(case):
    data = base64.b64decode(case["input_b64"])
    yield "whole", [data]
    if "chunks_b64" in case:
        yield "given chunks", [base64.b64decode(c) for c in case["chunks_b64"]]
    if len(data) <= MAX_SPLITS:
        yield "byte by byte", [data[i:i + 1] for i in range(len(data))]
    step = max(1, len(data) // MAX_SPLITS)
    for at in range(0, len(data) + 1, step):
        yield f"split at {at}", [data[:at], data[at:]]


def test_all_vectors_are_here():
    assert len(VECTORS) == 90
    assert len({c["name"] for c in VECTORS}) == 90


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_vector(case):
    expected = [(e["event"], e["data"]) for e in case["events"]]
    for how, chunks in chunkings(case):
        assert b"".join(chunks) == base64.b64decode(case["input_b64"])
        assert parse(chunks) == expected, f"{case['name']}, {how}"
