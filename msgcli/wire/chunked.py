"""HTTP/1.1 chunked transfer coding, decoded over whole socket reads.

The API sends an event stream one event per HTTP chunk. Read through urllib3 and
http.client, every chunk costs a dozen Python calls; read here, one socket read
brings every chunk that has arrived, and its framing is taken off in one loop.

Only msgcli.wire.transport uses this, and only on a reply nothing has read yet, whose
socket file raw_chunked_read finds through urllib3's private `_fp`: whenever that is
not exactly what is expected, the public path (urllib3's own reads) reads instead.
It decodes as http.client does (chunk extensions ignored, a size line ends at LF,
the two bytes after a chunk's data skipped, trailers not read), and fails as it
does: a malformed size or an early end of the connection is ChunkedError.

An event stream's reader may also be handed each read still framed (Framed), from
its first chunk boundary: msgcli.stream.fastpath then takes whole chunks of text deltas
without their ever being decoded, and what it leaves is decoded here.
"""

import http.client
import os
import re

from urllib3.exceptions import ProtocolError

_MAX_SIZE_LINE = 65536  # http.client's _MAXLINE
_HEX = re.compile(rb"[0-9A-Fa-f]*")


class Framed:
    """Part of one network read, handed to a consumer that may take whole chunks
    itself (msgcli.stream.fastpath): `before` is what was decoded ahead of data[start:],
    which starts at a chunk boundary. A consumer that takes the chunks up to `end`
    sets `end` and `taken` (their body bytes); decoding goes on from `end`. The
    read's last piece has `last` set and nothing framed (start == len(data)): a
    consumer flushes its output on it, once per read."""

    __slots__ = ("before", "data", "start", "end", "taken", "last")

    def __init__(self, before, data, start, last=False):
        self.before = before
        self.data = data
        self.start = self.end = start
        self.taken = 0
        self.last = last


class ChunkedError(ProtocolError):
    """The reply's chunked framing is malformed or ends early (a ProtocolError, as
    urllib3 reports the same)."""


def _whole_chunks(data):
    """The complete chunks at the start of `data` (which starts with a size line),
    unframed by C-level calls: (their data, bytes consumed, whether the last chunk
    came), or None when the framing needs dechunk's careful loop (extensions, a bare
    LF, a CRLF inside the data, a size that is not plain hexadecimal).

    Split at CRLF, plain framing alternates size lines and data. If a chunk's data
    held a CRLF, its piece would be shorter than its size, so checking every size
    against its piece proves the framing was read right."""
    parts = data.split(b"\r\n")
    pairs = (len(parts) - 1) // 2  # size line and data, both ended by a CRLF
    if not pairs:
        return None
    sizes = parts[0:2 * pairs:2]
    pieces = parts[1:2 * pairs:2]
    if not _HEX.fullmatch(b"".join(sizes)):
        return None
    try:  # a stream's chunk sizes repeat: each distinct one is parsed once
        table = {size: int(size, 16) for size in set(sizes)}
    except ValueError:  # an empty size line
        return None
    declared = list(map(table.__getitem__, sizes))
    ended = 0 in declared
    if ended:
        pairs = declared.index(0)
        declared, pieces = declared[:pairs], pieces[:pairs]
        consumed = sum(map(len, parts[:2 * pairs])) + 4 * pairs
    else:  # all but the unfinished end: cheaper to measure the end
        rest = parts[2 * pairs:]
        consumed = len(data) - sum(map(len, rest)) - 2 * (len(rest) - 1)
    if declared != list(map(len, pieces)):
        return None
    return pieces, consumed, ended


def dechunk(read, size=65536, framed=False):
    """Yield the body bytes of a chunked reply as the reads of `read(size)` bring
    them (never an empty piece); return after the last chunk. With `framed`, a read
    that reaches a chunk boundary is handed over as Framed pieces instead (see
    there), the chunks the consumer does not take decoded here as usual."""
    framing = b""  # an unfinished size line
    left = 0  # data bytes of the current chunk still to come
    skip = 0  # bytes of the CRLF after a chunk's data still to come
    while True:
        data = read(size)
        if not data:
            raise ChunkedError("the connection closed before the last chunk")
        if framing:
            data, framing = framing + data, b""
        end = len(data)
        pos = 0
        out = []
        tried = False  # the C-level way, once per read, from the first size line
        offered = not framed  # handed to the consumer, once per read
        while pos < end:
            if left:
                if pos + left <= end:
                    out.append(data[pos:pos + left] if pos or pos + left < end else data)
                    pos += left
                    left = 0
                    skip = 2
                else:
                    out.append(data[pos:] if pos else data)
                    left -= end - pos
                    break
            if skip:
                taken = min(skip, end - pos)
                skip -= taken
                pos += taken
                continue
            if not offered:
                offered = True
                handed = Framed(b"".join(out), data, pos)
                out = []
                yield handed
                if handed.end != pos:
                    if not pos < handed.end <= end:
                        raise ValueError("a consumer took chunks outside the read")
                    pos = handed.end
                    continue
            if not tried:
                tried = True
                whole = _whole_chunks(data[pos:] if pos else data)
                if whole is not None:
                    pieces, consumed, ended = whole
                    out += pieces
                    pos += consumed
                    if ended:
                        yield from _read_end(out, offered and framed, data)
                        return
                    continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                framing = data[pos:]
                if len(framing) > _MAX_SIZE_LINE:
                    raise ChunkedError("a chunk size line is too long")
                break
            line = data[pos:newline]
            if b";" in line:
                line = line[:line.index(b";")]
            try:
                left = int(line, 16)
            except ValueError:
                raise ChunkedError("a chunk size is not a hexadecimal number") from None
            if left <= 0:
                if left < 0:
                    raise ChunkedError("a chunk size is negative")
                yield from _read_end(out, offered and framed, data)
                return
            pos = newline + 1
            if pos + left + 2 <= end:  # the whole chunk and its CRLF: the usual case
                out.append(data[pos:pos + left])
                pos += left + 2
                left = 0
        yield from _read_end(out, offered and framed, data)


def _read_end(out, handed, data):
    """What ends a read: its decoded bytes, if any; after a Framed piece, always a
    last one, so that the consumer knows the read is over."""
    if handed:
        yield Framed(out[0] if len(out) == 1 else b"".join(out), data, len(data), last=True)
    elif out:
        yield out[0] if len(out) == 1 else b"".join(out)


def enabled():
    """False with MSGCLI_NO_FAST_PATH=1 (for testing and comparison only): then
    urllib3's public reads are used, always."""
    return os.environ.get("MSGCLI_NO_FAST_PATH", "") in ("", "0")


def raw_chunked_read(response):
    """The socket file's read1 under a chunked reply nothing has read yet, or None.

    urllib3 reads an HTTP chunk per call, at a dozen Python calls each: msgcli.wire.chunked
    decodes whole socket reads instead. The socket file sits behind urllib3's private
    `_fp` (http.client's response, in urllib3 1.26 and 2), so this is a guarded
    shortcut: any condition not met, and the public path reads (CI runs both, on
    urllib3 1.26 and 2). Nothing has read yet when neither http.client nor urllib3 is
    inside a chunk (urllib3 1.26's read_chunked keeps its own chunk_left, and its
    tell() counts only read()) and urllib3 has counted no byte."""
    if not enabled():
        return None
    raw = response.raw
    inner = getattr(raw, "_fp", None)
    if not isinstance(inner, http.client.HTTPResponse) or inner.isclosed():
        return None
    if getattr(inner, "chunked", None) is not True or \
            getattr(inner, "chunk_left", 0) is not None or \
            getattr(raw, "chunk_left", None) is not None:
        return None  # not chunked, or a chunk already begun
    try:
        if raw.tell() != 0:
            return None  # urllib3 has read (and may hold) some of the body
    except (AttributeError, OSError, ValueError):
        return None
    read1 = getattr(getattr(inner, "fp", None), "read1", None)
    return read1 if callable(read1) else None


def reader(response, size, framed=False):
    """A function that returns the stream's next bytes, b"" at its end: the raw
    chunked reader where it may be used (with `framed`, giving Framed pieces too),
    else msgcli.wire.bodyread's (urllib3's public reads, on urllib3 1.26 and 2)."""
    raw_read = raw_chunked_read(response)
    if raw_read is None:
        from msgcli.wire import bodyread

        return bodyread.reader(response, size, fast=enabled())
    chunks = dechunk(raw_read, size, framed)
    return lambda: next(chunks, b"")
