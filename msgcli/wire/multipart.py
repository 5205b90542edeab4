"""A file as a multipart/form-data body, read from disk as it is sent.

The Files API takes an upload as one form field, `file`. Built whole in memory, a
200 MB upload would cost 200 MB or more of memory; here the body is a header, the
file read a piece at a time, and a trailer, with its length known beforehand, so
requests sends it with a Content-Length and iterates it afresh for a retry.
"""

import os
import time

PIECE = 1024 * 1024


def _quoted(name):
    """A file name for the part's header: quotes, backslashes and line breaks
    escaped as browsers do (the WHATWG rule), non-ASCII sent as UTF-8."""
    return (name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D")
            .replace("\n", "%0A"))


class FileBody:
    """The multipart body of one file upload. `progress(sent, total)` is called
    after each piece; the file's size is checked again as it is read, so a file
    that grows or shrinks while it is sent fails rather than sends a lie."""

    def __init__(self, path, size, filename, mime_type, field="file", progress=None):
        self.path, self.size, self.progress = path, size, progress
        self.boundary = "msgcli-" + os.urandom(16).hex()
        self.head = (f"--{self.boundary}\r\n"
                     f'Content-Disposition: form-data; name="{field}"; '
                     f'filename="{_quoted(filename)}"\r\n'
                     f"Content-Type: {mime_type}\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")

    @property
    def content_type(self):
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self):
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self):
        yield self.head
        sent = 0
        with open(self.path, "rb") as f:
            while sent < self.size:
                piece = f.read(min(PIECE, self.size - sent))
                if not piece:
                    break
                sent += len(piece)
                if self.progress is not None:
                    self.progress(sent, self.size)
                yield piece
            if sent != self.size or f.read(1):
                raise FileChangedError(self.path)
        yield self.tail


class FileChangedError(Exception):
    """The file's size changed while it was being sent."""

    def __init__(self, path):
        super().__init__(f"{path!r} changed size while it was being uploaded")
        self.path = path


class Rate:
    """'12.0 of 200.0 MB, 8.1 MB/s, 23 s left', at most every `every` seconds."""

    def __init__(self, show, name, every=0.25, clock=time.monotonic):
        self.show, self.name, self.every, self.clock = show, name, every, clock
        self.started = clock()
        self.last = None

    def __call__(self, sent, total):
        now = self.clock()
        if self.last is not None and now - self.last < self.every and sent < total:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = sent / elapsed
        left = f", {int((total - sent) / rate)} s left" if rate > 0 and sent < total else ""
        self.show(f"uploading {self.name}: {sent / 2**20:.1f} of {total / 2**20:.1f} MB, "
                  f"{rate / 2**20:.1f} MB/s{left}")
