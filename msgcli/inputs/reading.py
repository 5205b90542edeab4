"""Bounded reading of what the user names: files and stdin, as bytes, then as UTF-8
text and JSON.

Everything here fails with InputError (exit 2) naming what and where. Every read
is bounded: a file, a device or a pipe is read up to the API's request limit and
one byte more, so an endless input (/dev/zero) is refused, never held.
"""

import os
import stat
import sys

from msgcli.api.limits import MAX_REQUEST_BYTES, megabytes
from msgcli.errors import InputError


def _stdin_buffer():
    stdin = sys.stdin
    if stdin is None:
        return None
    return getattr(stdin, "buffer", stdin)


def stdin_is_terminal():
    stdin = sys.stdin
    try:
        return stdin is None or stdin.isatty()
    except ValueError:  # a closed stdin has nothing to read: treat it as no input
        return True


def _wait_readable(buffer, timeout):
    """True when stdin has data or EOF within `timeout` seconds, or cannot be polled.

    Only pipes and sockets can stay open without ever delivering anything (a CI
    runner's unused stdin); files and /dev/null answer at once."""
    try:
        fd = buffer.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return True
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return True
    import select

    readable, _, _ = select.select([fd], [], [], timeout)
    return bool(readable)


def _over(what, limit):
    return InputError(f"{what} is over {megabytes(limit)}; the API accepts requests "
                      f"of at most {megabytes(MAX_REQUEST_BYTES)}")


def _read_bounded(f, what, limit):
    # A buffer of the limit, even for a file of known size: glibc maps a buffer
    # this big (32 MiB) and never touches its unused pages, whereas freeing one of
    # a 20 MB file's size raises glibc's mmap threshold, so that the text and the
    # value decoded from it come from the heap, which keeps them: +15 MB of peak
    # RSS for `-f` with a 20 MB file.
    data = f.read(limit + 1)
    if len(data) > limit:
        raise _over(what, limit)
    return data


def _readable_stdin(wait, console):
    if stdin_is_terminal():
        return None
    buffer = _stdin_buffer()
    if wait is not None and not _wait_readable(buffer, wait):
        if console is not None:
            console.line(f"warning: stdin sent nothing in {wait:g} s; ignoring it "
                         "(raise --stdin-timeout to wait longer, or redirect it "
                         "from /dev/null)")
        return None
    return buffer


def read_stdin_bytes(what, wait=None, console=None, limit=MAX_REQUEST_BYTES):
    """Read all of stdin. With `wait` (seconds), give up on a pipe that delivers
    nothing, not even EOF, in that time and return None."""
    buffer = _readable_stdin(wait, console)
    if buffer is None:
        return None
    try:
        return _read_bounded(buffer, f"{what} on stdin", limit)
    except OSError as e:
        raise InputError(f"cannot read {what} from stdin: {e.strerror or e}") from None


# stdin's text is read and decoded this much at a time; a longer text stays in
# these pieces (LargeText) rather than joined into one string.
TEXT_PIECE_BYTES = 1024 * 1024


class LargeText:
    """A text too big to copy, kept as the strings it was decoded in.

    Python makes one string from bytes only while both are whole, and one string
    from pieces only while both are whole: a 20 MB stdin would be held twice. As
    pieces, each piece of bytes is dropped once decoded, and the request encoder
    (request.EncodedBody) sends the pieces in turn. str() joins them (a second
    copy), for what must show the text as one string: --dry-run, -c's file."""

    __slots__ = ("pieces",)

    def __init__(self, pieces):
        self.pieces = [p for p in pieces if p]

    def __str__(self):
        return "".join(self.pieces)

    def __len__(self):
        return sum(map(len, self.pieces))

    def __eq__(self, other):
        return isinstance(other, (str, LargeText)) and str(self) == str(other)

    __hash__ = None

    def isspace(self):
        return bool(self.pieces) and all(p.isspace() for p in self.pieces)

    def count(self, char):  # one character: a piece boundary cannot split it
        return sum(p.count(char) for p in self.pieces)

    def endswith(self, suffix):  # one character, as count
        return bool(self.pieces) and self.pieces[-1].endswith(suffix)

    def rstrip(self, chars):
        pieces = list(self.pieces)
        while pieces and not pieces[-1].rstrip(chars):
            pieces.pop()
        if pieces:
            pieces[-1] = pieces[-1].rstrip(chars)
        return LargeText(pieces)

    def __add__(self, other):
        return LargeText(self.pieces + (other.pieces if isinstance(other, LargeText)
                                        else [other]))


def json_default(value):
    """For json.dumps(default=): a LargeText as the string it is."""
    if isinstance(value, LargeText):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def read_stdin_text(what, where, wait=None, console=None, strip_newlines=False,
                    limit=MAX_REQUEST_BYTES):
    """All of stdin as text (None as read_stdin_bytes), read and decoded a piece
    at a time (TEXT_PIECE_BYTES), so that the bytes are never whole beside the
    text: a str when it fits in one piece, else a LargeText. As decode_utf8: no
    leading BOM, trailing newlines dropped if asked, the same errors."""
    buffer = _readable_stdin(wait, console)
    if buffer is None:
        return None
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces, total, bad = [], 0, None
    while True:
        try:
            chunk = buffer.read(min(TEXT_PIECE_BYTES, limit + 1 - total))
        except OSError as e:
            raise InputError(f"cannot read {what} from stdin: {e.strerror or e}") from None
        total += len(chunk)
        if total > limit:
            raise _over(f"{what} on stdin", limit)
        if bad is None:  # past a bad byte, read on only to tell a too big input
            bad = _decode_piece(decoder, chunk, pieces, total - len(chunk))
        if not chunk:
            break
    if bad is not None:
        raise InputError(f"{where} is not valid UTF-8: bad byte at line {bad[1] + 1} "
                         f"(byte offset {bad[0]})")
    if pieces and pieces[0].startswith("\ufeff"):
        pieces[0] = pieces[0][1:]
    text = LargeText(pieces)
    if strip_newlines:
        text = text.rstrip("\n")
    return text if len(text.pieces) > 1 else "".join(text.pieces)


def _decode_piece(decoder, chunk, pieces, offset):
    """Decode one chunk (b"" at the end) onto `pieces`; on invalid UTF-8, its
    (byte offset, newlines before it) instead, with `pieces` emptied."""
    pending = len(decoder.getstate()[0])
    try:
        piece = decoder.decode(chunk, final=not chunk)
    except UnicodeDecodeError as e:
        lines = sum(p.count("\n") for p in pieces) + e.object.count(b"\n", 0, e.start)
        pieces.clear()
        return offset - pending + e.start, lines
    if piece:
        pieces.append(piece)
    return None


def decode_utf8(data, where, strip_newlines=False):
    """`data` as text, without a leading BOM (and, if asked, trailing newlines).

    Decoded through a memoryview, so that a big input is never copied as bytes:
    the bytes and the text are the only copies, and only while this runs."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    end = len(data)
    while strip_newlines and end > start and data[end - 1] == 0x0A:
        end -= 1
    try:
        return str(memoryview(data)[start:end], "utf-8")
    except UnicodeDecodeError as e:
        offset = start + e.start
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(f"{where} is not valid UTF-8: bad byte at line {line} "
                         f"(byte offset {offset})") from None


def read_file_bytes(path, what, limit=MAX_REQUEST_BYTES):
    """A file's bytes, or an InputError saying why not."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:  # a device or a pipe says 0: the bounded read catches it
                raise InputError(
                    f"{what} {path!r} is {megabytes(size)}; the API accepts requests "
                    f"of at most {megabytes(limit)}")
            return _read_bounded(f, f"{what} {path!r}", limit)
    except IsADirectoryError:
        raise InputError(f"{what} {path!r} is a directory, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path!r} does not exist") from None
    except PermissionError:
        raise InputError(f"{what} {path!r} cannot be read: permission denied") from None
    except OSError as e:
        raise InputError(f"{what} {path!r} cannot be read: {e.strerror or e}") from None
    except ValueError:  # a NUL byte in the path
        raise InputError(f"{what} {path!r} is not a valid file name") from None


def parse_json_text(text, where):
    import json  # not at --help, which reads credentials from here (see credentials)

    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{where}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    except MemoryError:
        raise InputError(f"{where}: JSON too large to hold in memory") from None


def json_kind(value):
    """What a parsed JSON value is, in words, for a message saying what was expected."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")


def credentials(key_file=None):
    """(API key, auth token), the one place they are read: --api-key-file wins
    over ANTHROPIC_API_KEY; empty means unset. Without `key_file`, what the
    environment holds (all the redactor can know before options are parsed)."""
    key = read_key_file(key_file) if key_file else os.environ.get("ANTHROPIC_API_KEY")
    return key or None, os.environ.get("ANTHROPIC_AUTH_TOKEN") or None


def read_key_file(path):
    """The API key kept in a file, refused when others could read it (as ssh
    refuses a loose private key): a key shown to the group is a key given away."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise InputError(f"--api-key-file {path!r} does not exist") from None
    except OSError as e:
        raise InputError(f"--api-key-file {path!r} cannot be read: {e.strerror or e}") \
            from None
    except ValueError:
        raise InputError(f"--api-key-file {path!r} is not a valid file name") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"--api-key-file {path!r} is not a regular file")
        if info.st_mode & 0o077:
            raise InputError(f"--api-key-file {path!r} is accessible by others (mode "
                             f"{stat.S_IMODE(info.st_mode):04o}): chmod 600 {path}")
        data = _read_bounded(f, f"--api-key-file {path!r}", 64 * 1024)
    key = decode_utf8(data, f"--api-key-file {path!r}").strip()
    if not key or any(c.isspace() for c in key):
        raise InputError(f"--api-key-file {path!r} must hold the key alone, on one line")
    return key


def ids_given(opts, what, example):
    """The ids a command works on (batches, files): the PROMPT words, or else stdin's
    lines, each an id or a JSON object holding one (as msgcli prints them, so its
    output can be piped in); in order, each once."""
    words = list(opts.prompt)
    if not words and not opts.no_stdin:
        data = read_stdin_bytes(what) or b""
        for line in decode_utf8(data, "stdin").splitlines():
            line = line.strip()
            if line.startswith("{"):
                value = parse_json_text(line, "stdin")
                line = value.get("id") if isinstance(value, dict) else None
            if line:
                words.append(line)
    if not words:
        raise InputError(f"give the {what} ({example}) as arguments or on stdin")
    return list(dict.fromkeys(words))
