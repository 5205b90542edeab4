"""Reading a reply's body as it arrives, on every urllib3 msgcli supports (1.26 and 2).

The public path: urllib3's read1 where it has one (2.2 and later); else, for a chunked
reply, its read_chunked, a chunk as it arrives; else (urllib3 1.26 to 2.1 on a body
delimited by Content-Length or by the end of the connection) a byte at a time, giving
out what was read whenever the socket has nothing more, so a read only ever waits for
bytes the server has not sent. That last one is slow (~5 µs a byte: a 640 KB stream
took 3.5 s, not 0.15), so where it would be used and urllib3's underlying http.client
response is exactly what is expected, its read1 reads instead: a guarded shortcut
through urllib3's private `_fp`, stepping aside whenever a condition is not met
(MSGCLI_NO_FAST_PATH=1 too; CI runs both, on urllib3 1.26 and 2). msgcli.wire.chunked's
raw chunked reader comes before all these; this module holds what reads when it steps aside.

Content-Length is enforced on every path: urllib3 2 does it itself; 1.26 only when
asked (msgcli.wire.transport asks), and the shortcut, which goes around urllib3, counts for
itself.
"""

import http.client
import select

from urllib3.exceptions import IncompleteRead, ProtocolError


def _cut(received, expected):
    return ProtocolError("Connection broken: the body ended before its Content-Length",
                         IncompleteRead(received, expected - received))


def http_client_read1(response, fast=True):
    """http.client's read1 under a reply that is not chunked and that urllib3 has not
    read from, with msgcli's own Content-Length check, or None (then the public path)."""
    if not fast:
        return None
    raw = response.raw
    inner = getattr(raw, "_fp", None)
    if not isinstance(inner, http.client.HTTPResponse) or inner.isclosed():
        return None
    if getattr(inner, "chunked", None) is not False or getattr(raw, "chunked", None) \
            is not False:
        return None
    expected = getattr(raw, "length_remaining", None)
    try:
        if raw.tell() != 0:
            return None  # urllib3 has read (and may hold) some of the body
    except (AttributeError, OSError, ValueError):
        return None
    if expected is not None and not isinstance(expected, int):
        return None
    read1 = getattr(inner, "read1", None)
    if not callable(read1):
        return None
    received = 0

    def read(size):
        nonlocal received
        data = read1(size)
        if data:
            received += len(data)
        elif expected is not None and received < expected:
            raise _cut(received, expected)
        return data

    return read


def _bytewise(response, size):
    """urllib3's public read(1), gathered while the socket has more: a read waits
    only when everything read before it has been given out."""
    raw = response.raw
    try:
        ready = [raw.fileno()]
    except (AttributeError, OSError, ValueError):
        ready = None  # then every byte is given out as it is read

    def more_waiting():
        if ready is None:
            return False
        if raw.closed:  # at the end: the next read returns at once (and the fd is gone)
            return True
        try:
            return bool(select.select(ready, [], [], 0)[0])
        except (OSError, ValueError):
            return True  # closed under us: as above

    def read():
        out = bytearray()
        while len(out) < size:
            if out and not more_waiting():
                break
            data = raw.read(1)
            if not data:
                break
            out += data
        return bytes(out)

    return read


def reader(response, size, fast=True):
    """A function that returns the body's next bytes as they arrive, b"" at its end."""
    raw = response.raw
    if callable(getattr(raw, "read1", None)):  # urllib3 2.2 and later
        return lambda: raw.read1(size)
    if getattr(raw, "chunked", False) and callable(getattr(raw, "read_chunked", None)) \
            and raw.supports_chunked_reads():
        chunks = raw.read_chunked(size, decode_content=False)
        return lambda: next(chunks, b"")
    read1 = http_client_read1(response, fast)
    if read1 is not None:
        return lambda: read1(size)
    return _bytewise(response, size)
