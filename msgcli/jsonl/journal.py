"""Where --jsonl results go: stdout, or -o FILE, which makes a run resumable.

FILE is an append-only journal while a run goes on: each result is appended as
soon as every earlier one is, and fsynced, so a kill -9 or a power loss loses at
most the requests in flight. Beside it, FILE.resume holds one line per line of
FILE: the input line number, the status, a SHA-256 of the request (custom_id,
API path, headers other than credentials, body) and a digest of the result line. A
re-run reads both, and for each input line takes the last result written for it:
if that result has status 0, the same request hash and an intact digest, the line
is not sent again. Anything else (a changed line or flag, a failure, a result
line torn by a crash, a FILE from elsewhere without FILE.resume) is redone.

When the run ends, FILE is rewritten atomically to hold exactly one line per
input line reached, in input order (lines not reached keep their earlier result),
with FILE.resume to match.

The index of earlier results costs 26 bytes per input line (26 MB for a million
lines); the results themselves stay on disk.
"""

import hashlib
import os
import sys
from array import array

from msgcli.errors import InputError
from msgcli.output import atomic

SUFFIX = ".resume"
_HASH_BYTES = 16  # request hashes are the first 128 bits of a SHA-256


def request_hash(custom_id, req):
    """What identifies a line's request: the same line sent with the same flags
    hashes the same, whatever the credentials, the host (--base-url) or the
    version of msgcli (user-agent) are."""
    from urllib.parse import urlsplit

    where = urlsplit(req.url)
    h = hashlib.sha256()
    h.update(custom_id.encode("utf-8", "surrogatepass") + b"\0" +
             f"{where.path}?{where.query}".encode() + b"\0")
    for name in sorted(req.headers, key=str.lower):
        if name.lower() not in req.secret_headers and name.lower() != "user-agent":
            h.update(f"{name.lower()}: {req.headers[name]}\n".encode("latin-1"))
    for chunk in req.data:
        h.update(chunk)
    return h.hexdigest()[:32]


def _digest(line_bytes):
    return hashlib.sha256(line_bytes).hexdigest()[:16]


class StdoutResults:
    """Results to stdout, in order; nothing to resume."""

    resumable = False  # no request hash needed

    def __init__(self):
        stream = sys.stdout
        self._out = getattr(stream, "buffer", stream)

    def previous(self, lineno, req_hash):
        return False

    def append(self, lineno, status, req_hash, line_bytes):
        if self._out is None:
            raise OSError(9, "stdout is closed")
        self._out.write(line_bytes + b"\n")

    def sync(self):
        if self._out is not None:
            self._out.flush()

    def finish(self, complete):
        self.sync()

    def close(self):
        pass


class FileResults:
    """-o FILE: the journal, its index of what earlier runs left, the final rewrite."""

    resumable = True

    def __init__(self, path):
        if "\0" in path:
            raise InputError(f"output file {path!r} is not a valid file name")
        self.path = path
        self.sums_path = path + SUFFIX
        self._offsets = array("q")   # per input line number: FILE offset of its last result
        self._statuses = bytearray()  # ... its status (255: none)
        self._hashes = bytearray()    # ... and its request hash (16 bytes; zeros: none)
        self._reached = bytearray()   # line numbers this run has written or kept
        self._rewrite = False
        self._lines, self._entries = [], []  # appended, not yet written
        try:
            self._sums = open(self.sums_path, "a+b")
            self._lock()
            self._load()
            self._file = open(path, "ab")
        except OSError as e:
            raise InputError(f"cannot write output file {path!r}: "
                             f"{e.strerror or e}") from None
        self._end = self._file.seek(0, os.SEEK_END)

    def _lock(self):
        import fcntl

        try:
            fcntl.flock(self._sums.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"output file {self.path!r} is being written by another "
                             "msgcli run") from None

    def _grow(self, lineno):
        while len(self._statuses) <= lineno:
            more = max(lineno + 1 - len(self._statuses), len(self._statuses))
            self._offsets.extend([0] * more)
            self._hashes.extend(bytes(_HASH_BYTES * more))
            self._statuses.extend(b"\xff" * more)
            self._reached.extend(b"\0" * more)

    def _load(self):
        """Index FILE and FILE.resume, paired line by line; a pair that does not
        check out (a torn line, FILE replaced) is ignored, i.e. redone. The two are
        then realigned, so that what is appended pairs up again."""
        try:
            results = open(self.path, "rb")
        except FileNotFoundError:
            self._sums.seek(0)
            self._sums.truncate()
            return
        self._sums.seek(0)
        offset = unpaired = good_end = 0
        torn = False
        with results:
            for line in results:
                entry = self._sums.readline()
                start, offset = offset, offset + len(line)
                self._rewrite = True
                if entry.endswith(b"\n"):
                    good_end = self._sums.tell()
                else:
                    unpaired += 1
                torn = not line.endswith(b"\n")
                fields = entry.split()
                if len(fields) != 4 or torn or \
                        fields[3].decode("ascii", "replace") != _digest(line[:-1]):
                    continue
                try:
                    lineno, status = int(fields[0]), int(fields[1])
                except ValueError:
                    continue
                if lineno < 1 or not 0 <= status < 255:
                    continue
                self._grow(lineno)
                self._offsets[lineno] = start
                self._statuses[lineno] = status
                self._set_hash(lineno, fields[2].decode("ascii", "replace")
                               if status == 0 else None)
        # entries past FILE's end, or torn, go; missing ones are stood in for
        self._sums.truncate(good_end)
        self._sums.seek(0, os.SEEK_END)
        self._sums.write(b"0 255 - -\n" * unpaired)
        if torn:
            with open(self.path, "ab") as f:
                f.write(b"\n")

    def _set_hash(self, lineno, req_hash):
        try:
            value = bytes.fromhex(req_hash) if req_hash else b""
        except ValueError:
            value = b""
        start = lineno * _HASH_BYTES
        self._hashes[start:start + _HASH_BYTES] = value.ljust(_HASH_BYTES, b"\0")[:_HASH_BYTES]

    def _hash(self, lineno):
        value = bytes(self._hashes[lineno * _HASH_BYTES:(lineno + 1) * _HASH_BYTES])
        return value.hex() if any(value) else None

    def previous(self, lineno, req_hash):
        """True when line `lineno` already has a status-0 result for this request
        (it is kept, not sent again)."""
        if lineno < len(self._statuses) and self._statuses[lineno] == 0 and \
                self._hash(lineno) == req_hash:
            self._grow(lineno)
            self._reached[lineno] = 1
            return True
        return False

    def append(self, lineno, status, req_hash, line_bytes):
        self._grow(lineno)
        self._lines.append(line_bytes + b"\n")
        self._entries.append(f"{lineno} {int(status)} {req_hash or '-'} "
                             f"{_digest(line_bytes)}\n".encode("ascii"))
        self._offsets[lineno] = self._end
        self._statuses[lineno] = min(int(status), 254)
        self._reached[lineno] = 1
        self._end += len(line_bytes) + 1
        self._set_hash(lineno, req_hash if status == 0 else None)

    def sync(self):
        """Make what was appended durable: FILE.resume first, so that every line
        that reaches FILE, even just before a kill -9 or a power loss, is already
        vouched for (an entry whose line never arrived is dropped on loading)."""
        for f, pending in ((self._sums, self._entries), (self._file, self._lines)):
            if pending:
                f.write(b"".join(pending))
                pending.clear()
                f.flush()
                os.fsync(f.fileno())

    def finish(self, complete):
        """Rewrite FILE in input order, one line per input line: when the run is
        complete, exactly the lines of this input; otherwise also the earlier
        results of lines this run did not reach."""
        self.sync()
        if not self._rewrite:
            return  # a first run wrote FILE in order already
        keep = [n for n in range(1, len(self._statuses)) if self._statuses[n] != 255
                and (self._reached[n] or not complete)]
        sums = []
        with open(self.path, "rb") as results, atomic.replacing(self.path, "output file") as out:
            for lineno in keep:
                results.seek(self._offsets[lineno])
                line = results.readline()[:-1]
                out.write(line + b"\n")
                sums.append(f"{lineno} {self._statuses[lineno]} "
                            f"{self._hash(lineno) or '-'} {_digest(line)}\n")
            # FILE.resume first: should a crash come between the two renames, the
            # digests no longer match and those lines are merely redone
            atomic.write(self.sums_path, "".join(sums), "output file")
        self._rewrite = False

    def close(self):
        for f in (getattr(self, "_file", None), self._sums):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
