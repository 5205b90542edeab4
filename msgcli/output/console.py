"""Where bytes go: the answer to stdout, everything a person should read to stderr.

Both streams pass through a redactor (msgcli.output.redaction), so a credential
never leaves the process even when a server echoes it back. stdout is written as
UTF-8 bytes to the binary buffer; a stream flushes it after each network read, so
a pipe sees words as they arrive. A failed write raises OSError, which
msgcli.cli.failure_gate turns into a status by its errno (EPIPE: 141, quietly;
anything else: 15).
"""

import errno
import sys

from msgcli.output.redaction import HoldBack, Redactor

_ESCAPES = {}  # translate tables, by the characters they keep


def _escapes(keep):
    """C0, DEL, C1, lone surrogates, and the line separators and bidirectional
    overrides a terminal could be made to act on or to show misleadingly."""
    if keep not in _ESCAPES:
        codes = [*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029, *range(0x202a, 0x202f),
                 *range(0x2066, 0x206a), *range(0xd800, 0xe000)]
        _ESCAPES[keep] = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
                          for c in codes if chr(c) not in keep}
    return _ESCAPES[keep]


def escape_controls(text, keep=""):
    """`text` with every control character written as a visible escape (ESC as
    \\x1b), so that nothing a server sends can drive the terminal: no window
    title (OSC 0), no clipboard write (OSC 52), no screen clearing (CSI 2J).
    Characters in `keep` (say a newline in thinking text) stay."""
    return text.translate(_escapes(keep))


def one_line(text):
    """Server-derived (or any) text as part of a one-line message: line breaks and
    tabs become one space each, other control characters are escaped."""
    if "\n" in text or "\r" in text or "\t" in text:
        text = " ".join(text.replace("\t", " ").splitlines())
    return escape_controls(text)


class Stdout:
    """The answer channel. Text is redacted across write boundaries; a stream
    flushes it after each network read (see events.replay)."""

    def __init__(self, redactor):
        stream = sys.stdout
        self._out = getattr(stream, "buffer", stream)
        self.redactor = redactor  # for JSON, which is redacted string by string first
        self._held = HoldBack(redactor)
        self.last_char = ""
        self.writes = 0

    def _write(self, text):
        if self._out is None:  # started with stdout closed (>&-)
            raise OSError(errno.EBADF, "stdout is closed")
        self._out.write(text.encode("utf-8", "surrogatepass"))
        self.last_char = text[-1]
        self.writes += 1

    def write(self, text):
        if not text:
            return
        text = self._held.feed(text)
        if text:
            self._write(text)
        self.last_char = self._held.last_char(self.last_char)  # the newline rule's

    def flush(self):
        if self._out is not None:
            self._out.flush()

    def fileno(self):
        return self._out.fileno()

    def close(self):
        """Write what was held back in case it began a secret, then flush."""
        pending = self._held.drain()
        if pending:
            self._write(pending)
        self.flush()


class Collector:
    """A stand-in for Stdout that keeps the text, for a result written elsewhere
    (-o): redacted across writes as Stdout's is, since a file leaks as stdout does."""

    def __init__(self, redactor=None):
        self.parts = []
        self.last_char = ""
        self.redactor = redactor if redactor is not None else Redactor()
        self._held = HoldBack(self.redactor)

    def write(self, text):
        self._keep(self._held.feed(text) if text else "")
        self.last_char = self._held.last_char(self.last_char)

    def _keep(self, text):
        if text:
            self.parts.append(text)
            self.last_char = text[-1]

    def flush(self):
        pass

    def close(self):
        self._keep(self._held.drain())

    def text(self):
        return "".join(self.parts)


class Console:
    """stderr: one-line messages prefixed with the program's name, redacted (the
    configured secrets and anything shaped like a key) and with control characters
    escaped; thinking text, redacted across pieces with its control characters
    other than newline and tab escaped; and, only when stderr is a terminal, one
    transient status line that each message (or the answer) clears first."""

    def __init__(self, redactor):
        self.redactor = redactor
        self._status_shown = False
        self._tty = None
        # the answer channel (output.Stdout), when a run has one: a message after
        # partial text on the same terminal starts on a line of its own
        self.answer = None
        self._answer_seen = None
        # a waiting line ticks from another thread (msgcli.output.progress)
        self._lock = _NoLock()
        self._thinking = HoldBack(redactor)
        self._thinking_open = False  # thinking written without its final newline

    def threaded(self):
        """Make writes safe from a second thread; called before one starts."""
        if isinstance(self._lock, _NoLock):
            import threading

            self._lock = threading.Lock()

    def is_terminal(self):
        if self._tty is None:
            try:
                self._tty = bool(sys.stderr is not None and sys.stderr.isatty())
            except (AttributeError, ValueError):
                self._tty = False
        return self._tty

    def line(self, text):
        self.end_thinking()
        with self._lock:
            self._clear_status()
            if self._thinking_open:  # thinking cut short: the message on its own line
                self._thinking_open = False
                head = "\n"
            else:
                head = self._after_answer()
            # redacted before its control characters are escaped, which would hide
            # a secret holding one (escaped() also finds one the text quotes escaped)
            text = one_line(self.redactor.escaped(text, key_pattern=True))
            self._write(head + f"msgcli: {text}\n")

    def _after_answer(self):
        answer = self.answer
        if not hasattr(answer, "fileno") or answer.last_char in ("", "\n"):
            return ""
        mark = (answer.writes, answer.last_char)
        if mark == self._answer_seen or not self.is_terminal() or \
                not _same_terminal(answer.fileno):
            return ""
        self._answer_seen = mark
        return "\n"

    def thinking(self, text):
        """A piece of thinking text (stream deltas, or a whole block)."""
        if text:
            self.raw(self._thinking.feed(escape_controls(text, keep="\n\t")))
            self._thinking_open = not text.endswith("\n")

    def end_thinking(self):
        """Write what thinking held back, the stream having ended."""
        pending = self._thinking.drain()
        if pending:
            with self._lock:
                self._write(pending)

    def status(self, text):
        """Show `text` as the transient status line (a no-op off a terminal)."""
        if self.is_terminal():
            with self._lock:
                self._write(f"\r\x1b[K{one_line(text)}")
                self._status_shown = True

    def clear_status(self):
        with self._lock:
            self._clear_status()

    def _clear_status(self):
        if self._status_shown:
            self._status_shown = False
            self._write("\r\x1b[K")

    def raw(self, text):
        if not text:
            return
        with self._lock:
            self._clear_status()
            self._write(text)

    def _write(self, text):
        stream = sys.stderr
        if stream is None:
            return
        try:
            stream.write(self.redactor(text))
            stream.flush()
        except (OSError, ValueError):
            pass  # nowhere left to say it; the exit status still does


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _same_terminal(fileno):
    """Whether the answer's file and stderr are one terminal (then their lines
    share a screen)."""
    import os

    try:
        out, err = os.fstat(fileno()), os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, TypeError, ValueError):
        return False
    return (out.st_dev, out.st_ino, out.st_rdev) == (err.st_dev, err.st_ino, err.st_rdev)
