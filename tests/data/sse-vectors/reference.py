"""Reference event-stream parser: a literal transcription of the HTML Standard.

Source: HTML Living Standard, section 9.2 "Server-sent events",
  9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting an event stream"
  https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
and the WHATWG Encoding Standard's "UTF-8 decode" (BOM sniff + UTF-8 decoder with
replacement), https://encoding.spec.whatwg.org/#utf-8-decode

It is deliberately independent of msgcli and of the Anthropic SDK, written for
clarity, not speed, and used to check the "events" in vectors.json.  It parses a
whole, finished stream (bytes) and returns the events the user agent would
dispatch, in order, as dicts {"event": type, "data": data, "lastEventId": id}.

Only the parsing rules are modelled: reconnection, the `retry` delay's effect,
CORS and the network are out of scope.  The reconnection time is tracked (as
`Parser.reconnection_time`) only because the standard's field rules set it.
"""

from __future__ import annotations

LF = "\n"
CR = "\r"


# --- Encoding Standard: UTF-8 decode ------------------------------------------------

def utf8_decode(stream: bytes) -> str:
    """Encoding Standard "UTF-8 decode": strip one leading UTF-8 BOM (EF BB BF) if
    present, then run the UTF-8 decoder with error mode "replacement"."""
    if stream[:3] == b"\xef\xbb\xbf":
        stream = stream[3:]
    return _utf8_decoder(stream)


def _utf8_decoder(data: bytes) -> str:
    """Encoding Standard 8.1.1 "UTF-8 decoder", transcribed step by step.
    Each error emits one U+FFFD (the "maximal subpart" behaviour)."""
    out = []
    code_point = 0
    bytes_seen = 0
    bytes_needed = 0
    lower = 0x80
    upper = 0xBF
    i = 0
    n = len(data)
    while True:
        if i >= n:  # end-of-queue
            if bytes_needed != 0:
                bytes_needed = 0
                out.append("\ufffd")
            return "".join(out)
        byte = data[i]
        i += 1
        if bytes_needed == 0:
            if byte <= 0x7F:
                out.append(chr(byte))
            elif 0xC2 <= byte <= 0xDF:
                bytes_needed = 1
                code_point = byte & 0x1F
            elif 0xE0 <= byte <= 0xEF:
                if byte == 0xE0:
                    lower = 0xA0
                if byte == 0xED:
                    upper = 0x9F
                bytes_needed = 2
                code_point = byte & 0xF
            elif 0xF0 <= byte <= 0xF4:
                if byte == 0xF0:
                    lower = 0x90
                if byte == 0xF4:
                    upper = 0x8F
                bytes_needed = 3
                code_point = byte & 0x7
            else:
                out.append("\ufffd")
            continue
        if not (lower <= byte <= upper):
            code_point = bytes_needed = bytes_seen = 0
            lower, upper = 0x80, 0xBF
            i -= 1  # restore byte to the queue
            out.append("\ufffd")
            continue
        lower, upper = 0x80, 0xBF
        code_point = (code_point << 6) | (byte & 0x3F)
        bytes_seen += 1
        if bytes_seen != bytes_needed:
            continue
        out.append(chr(code_point))
        code_point = bytes_needed = bytes_seen = 0


# --- HTML Standard 9.2.5 / 9.2.6 ----------------------------------------------------

class Parser:
    def __init__(self) -> None:
        # "data buffer", "event type buffer", "last event ID buffer": initially "".
        self.data_buffer = ""
        self.event_type_buffer = ""
        self.last_event_id_buffer = ""
        # The EventSource object's "last event ID string" and reconnection time.
        self.last_event_id_string = ""
        self.reconnection_time = None  # user-agent-defined initial value
        self.dispatched: list[dict] = []

    # 9.2.5: stream = [ bom ] *event ; end-of-line = ( cr lf / cr / lf )
    def feed_text(self, text: str) -> None:
        """Split decoded text into lines (CRLF, LF or CR each end a line) and process
        each complete line.  Text after the last line ending is an incomplete line:
        at end of file it is discarded, along with any pending event."""
        i = 0
        start = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c == CR:
                self.process_line(text[start:i])
                if i + 1 < n and text[i + 1] == LF:
                    i += 1
                start = i + 1
            elif c == LF:
                self.process_line(text[start:i])
                start = i + 1
            i += 1
        # text[start:] is an unterminated final line: "Once the end of the file is
        # reached, any pending data must be discarded. (If the file ends in the middle
        # of an event, before the final empty line, the incomplete event is not
        # dispatched.)"

    # 9.2.6
    def process_line(self, line: str) -> None:
        if line == "":
            # "If the line is empty (a blank line): Dispatch the event"
            self.dispatch()
        elif line.startswith(":"):
            # "If the line starts with a U+003A COLON character (:): Ignore the line."
            return
        elif ":" in line:
            # "Collect the characters on the line before the first U+003A COLON
            # character (:), and let field be that string.  Collect the characters on
            # the line after the first U+003A COLON character (:), and let value be
            # that string.  If value starts with a U+0020 SPACE character, remove it
            # from value."
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
            self.process_field(field, value)
        else:
            # "Otherwise, the string is not empty but does not contain a U+003A COLON
            # character (:): Process the field using the whole line as the field name,
            # and the empty string as the field value."
            self.process_field(line, "")

    def process_field(self, field: str, value: str) -> None:
        if field == "event":
            self.event_type_buffer = value
        elif field == "data":
            # "Append the field value to the data buffer, then append a single U+000A
            # LINE FEED (LF) character to the data buffer."
            self.data_buffer += value + LF
        elif field == "id":
            # "If the field value does not contain U+0000 NULL, then set the last event
            # ID buffer to the field value. Otherwise, ignore the field."
            if "\0" not in value:
                self.last_event_id_buffer = value
        elif field == "retry":
            # "If the field value consists of only ASCII digits, then interpret the
            # field value as an integer in base ten, and set the event stream's
            # reconnection time to that integer. Otherwise, ignore the field."
            if value != "" and all("0" <= ch <= "9" for ch in value):
                self.reconnection_time = int(value, 10)
        else:
            # "Otherwise: The field is ignored."
            pass

    def dispatch(self) -> None:
        # 1. "Set the last event ID string of the event source to the value of the
        #    last event ID buffer. The buffer does not get reset."
        self.last_event_id_string = self.last_event_id_buffer
        # 2. "If the data buffer is an empty string, set the data buffer and the event
        #    type buffer to the empty string and return."
        if self.data_buffer == "":
            self.data_buffer = ""
            self.event_type_buffer = ""
            return
        # 3. "If the data buffer's last character is a U+000A LINE FEED (LF)
        #    character, then remove the last character from the data buffer."
        if self.data_buffer.endswith(LF):
            self.data_buffer = self.data_buffer[:-1]
        # 4.-6. Create a MessageEvent of type "message", data = data buffer,
        #    lastEventId = last event ID string; if the event type buffer is not
        #    empty, the type is the event type buffer.
        event_type = "message"
        if self.event_type_buffer != "":
            event_type = self.event_type_buffer
        self.dispatched.append({
            "event": event_type,
            "data": self.data_buffer,
            "lastEventId": self.last_event_id_string,
        })
        # 7. "Set the data buffer and the event type buffer to the empty string."
        self.data_buffer = ""
        self.event_type_buffer = ""


def parse(stream: bytes) -> list[dict]:
    """Events dispatched for a complete event stream given as bytes."""
    parser = Parser()
    parser.feed_text(utf8_decode(stream))
    return parser.dispatched


if __name__ == "__main__":  # python reference.py < stream
    import json
    import sys
    print(json.dumps(parse(sys.stdin.buffer.read()), ensure_ascii=False, indent=1))
