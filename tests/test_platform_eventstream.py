"""msgcli's own AWS event-stream decoder against botocore's: the same frames, headers
and payloads from any bytes split anywhere, and every corrupt frame refused by both."""

import os
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgcli.platforms import eventstream

botocore_eventstream = pytest.importorskip("botocore.eventstream")

EXAMPLES = int(os.environ.get("MSGCLI_HYPOTHESIS_EXAMPLES", "200"))

names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
values = st.one_of(
    st.tuples(st.just(0), st.just(b"")), st.tuples(st.just(1), st.just(b"")),
    st.tuples(st.just(2), st.binary(min_size=1, max_size=1)),
    st.tuples(st.just(3), st.binary(min_size=2, max_size=2)),
    st.tuples(st.just(4), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(5), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(6), st.binary(max_size=20).map(lambda b: len(b).to_bytes(2, "big") + b)),
    st.tuples(st.just(7), st.text(max_size=20).map(
        lambda t: len(t.encode()).to_bytes(2, "big") + t.encode())),
    st.tuples(st.just(8), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(9), st.binary(min_size=16, max_size=16)),
)


def frame(headers, payload):
    raw = b"".join(bytes([len(n.encode())]) + n.encode() + bytes([kind]) + value
                   for n, (kind, value) in headers.items())
    total = 12 + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw + payload
    return body + struct.pack(">I", zlib.crc32(body))


frames = st.lists(st.tuples(st.dictionaries(names, values, max_size=4),
                            st.binary(max_size=64)), min_size=1, max_size=4)


def ours(data, cuts):
    decoder = eventstream.FrameDecoder()
    found = []
    last = 0
    for cut in sorted(cuts) + [len(data)]:
        found += decoder.feed(data[last:cut])
        last = cut
    decoder.close()
    return [(headers, bytes(payload)) for headers, payload in found]


def theirs(data):
    buffer = botocore_eventstream.EventStreamBuffer()
    buffer.add_data(data)
    found = [(m.headers, bytes(m.payload)) for m in buffer]
    return found


def normal(headers):
    """botocore's value types, as ours: booleans, ints, bytes, strings; a timestamp
    becomes a datetime there and an int (milliseconds) here; a UUID bytes in both."""
    out = {}
    for name, value in headers.items():
        if hasattr(value, "timestamp"):
            value = round(value.timestamp() * 1000)
        out[name] = value
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames, st.lists(st.integers(0, 2000), max_size=8))
def test_same_frames_as_botocore_split_anywhere(spec, cuts):
    data = b"".join(frame(h, p) for h, p in spec)
    cuts = [c for c in cuts if c <= len(data)]
    try:
        expected = [(normal(h), p) for h, p in theirs(data)]
    except (OverflowError, ValueError, OSError):
        return  # a timestamp botocore's datetime cannot hold: nothing to compare
    got = [(normal(h), p) for h, p in ours(data, cuts)]
    assert got == expected


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames, st.data())
def test_a_flipped_bit_is_refused_by_both(spec, data):
    raw = bytearray(b"".join(frame(h, p) for h, p in spec))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(botocore_eventstream.ParserError):
        theirs(bytes(raw))  # botocore refuses it (a CRC or a length)...
    with pytest.raises(eventstream.EventStreamError):
        ours(bytes(raw), [])  # ...and so does msgcli, with a stream error


def test_every_split_of_a_bedrock_stream():
    """A real-shaped stream, split at every byte, gives the same SSE."""
    from tests.support.cloud_servers import stream_events

    data = b"".join(eventstream.chunk_frame(e) for e in stream_events("Hi there"))
    whole = b"".join(eventstream.to_sse([data]))
    for cut in range(1, len(data)):
        assert b"".join(eventstream.to_sse([data[:cut], data[cut:]])) == whole
    assert whole.count(b"event: ") == len(stream_events())
