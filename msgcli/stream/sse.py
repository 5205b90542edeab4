"""The event-stream wire format, read as the HTML standard reads it.

Knows nothing of the Messages API. Follows the standard's parsing rules: one
leading byte-order mark is dropped; lines end at CRLF, LF or CR (a CR at the
end of a network read ends its line at once, and an LF that follows it in the
next read is skipped); `data` lines join with newlines; an event is dispatched
at a blank line, and an incomplete event at the end of the stream is dropped.
Invalid UTF-8 becomes U+FFFD. Work is linear in the bytes received, and a line
or an event longer than the documented limit is a bad reply (exit 13).
"""

from msgcli.api.limits import MAX_SSE_EVENT_BYTES, MAX_SSE_LINE_BYTES, megabytes
from msgcli.errors import BadResponseError

_BOM = b"\xef\xbb\xbf"


class SSEEvent:
    __slots__ = ("event", "data")

    def __init__(self, event, data):
        self.event = event
        self.data = data


class SSEParser:
    def __init__(self, max_line=MAX_SSE_LINE_BYTES, max_event=MAX_SSE_EVENT_BYTES):
        self._max_line = max_line
        self._max_event = max_event
        self._partial = []  # pieces of an unfinished line, joined once it ends
        self._partial_size = 0
        self._head = b""  # the first bytes, until they show whether a BOM starts them
        self._started = False
        self._skip_lf = False
        self._event = ""
        self._data = []
        self._data_size = 0

    @property
    def limit(self):
        """The fewest bytes that could make a line or an event too long."""
        return min(self._max_line, self._max_event)

    def between_events(self):
        """True when the next byte starts an event: no line or event is unfinished
        (msgcli.stream.fastpath may then take whole events itself)."""
        return self._started and not (self._partial or self._skip_lf or self._event
                                      or self._data)

    def feed(self, chunk):
        """Parse bytes as they come; yield each complete event."""
        if not self._started:
            chunk = self._head + chunk
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._head = chunk
                return
            self._started = True
            self._head = b""
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM):]
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not chunk:
            return
        lines = chunk.splitlines(keepends=True)
        last = lines[-1]
        tail = None
        if last[-1:] == b"\r":
            self._skip_lf = True
        elif last[-1:] != b"\n":
            tail = lines.pop()
        if self._partial and lines:
            self._keep_partial(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial.clear()
            self._partial_size = 0
        if tail is not None:
            self._keep_partial(tail)
        data = self._data
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            # data lines, most of a stream, are parsed inline: this loop runs per line
            if line.startswith(b"data:"):
                if len(line) > self._max_line:
                    self._too_long()
                value = line[6:] if line[5:6] == b" " else line[5:]
                self._data_size += len(value) + 1
                if self._data_size > self._max_event:
                    raise BadResponseError(
                        f"stream error: an event is over {megabytes(self._max_event)}")
                data.append(value.decode("utf-8", "replace"))
            elif not line:
                event = self._dispatch()
                if event is not None:
                    yield event
            else:
                if len(line) > self._max_line:
                    self._too_long()
                self._field(line)

    def close(self):
        """End of stream: an event without its closing blank line is incomplete
        and, as the standard says, dropped."""
        self._partial.clear()
        self._data.clear()

    def _keep_partial(self, piece):
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size > self._max_line:
            self._too_long()

    def _too_long(self):
        raise BadResponseError(f"stream error: a line is over {megabytes(self._max_line)}")

    def _field(self, raw):
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._data_size += len(value) + 1
        # id and retry mean nothing for a one-shot POST; other fields are ignored

    def _dispatch(self):
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data))
        self._event = ""
        self._data.clear()
        self._data_size = 0
        return event
