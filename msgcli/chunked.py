"""HTTP/1.1 chunked transfer coding, decoded over whole socket reads.

The API sends an event stream one event per HTTP chunk. Read through urllib3 and
http.client, every chunk costs a dozen Python calls; read here, one socket read
brings every chunk that has arrived, and its framing is taken off in one loop.

Only msgcli.transport uses this, and only on a reply nothing has read yet, whose
socket file it finds through urllib3's private `_fp` (see transport.raw_chunks):
whenever that is not exactly what is expected, the public path reads instead.
It decodes as http.client does (chunk extensions ignored, a size line ends at LF,
the two bytes after a chunk's data skipped, trailers not read), and fails as it
does: a malformed size or an early end of the connection is ChunkedError.
"""

_MAX_SIZE_LINE = 65536  # http.client's _MAXLINE


class ChunkedError(Exception):
    """The reply's chunked framing is malformed or ends early."""


def dechunk(read, size=65536):
    """Yield the body bytes of a chunked reply as the reads of `read(size)` bring
    them (never an empty piece); return after the last chunk."""
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
                if out:
                    yield b"".join(out)
                return
            pos = newline + 1
            if pos + left + 2 <= end:  # the whole chunk and its CRLF: the usual case
                out.append(data[pos:pos + left])
                pos += left + 2
                left = 0
        if out:
            yield out[0] if len(out) == 1 else b"".join(out)
