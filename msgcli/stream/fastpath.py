"""The fast path through an event stream: runs of ordinary text deltas in one pass.

Most of a long answer is `content_block_delta` events that carry a `text_delta`, which
the API sends in one exact shape. One compiled regular expression finds a run of them
at the start of what is left of a network read; their texts are decoded together and
given to the accumulator as one piece, which is what the plain path (msgcli.stream.sse, then
json, event by event) would have done piece by piece. Where the raw chunked reader
hands a read over still framed (msgcli.wire.chunked.Framed), the run is taken from the
chunked body itself, the chunk sizes proven with the events, so that the chunks of a
long answer are never decoded one by one.

The plain path defines the behaviour; this module only takes a shortcut to the same
result, and steps aside whenever the shortcut is not obviously the same: any other
event, CR line ends, a BOM, comments, an event split across reads, a text whose UTF-8
is invalid or split between deltas, a block the accumulator would refuse. Those bytes
go to the plain path. tests/test_fast_path.py compares both paths on random streams.

MSGCLI_NO_FAST_PATH=1 turns the shortcut off, for testing and comparison only.
"""

import json
import os
import re
from functools import cache, lru_cache

from msgcli.api.reply import loads

_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_MID = b',"delta":{"type":"text_delta","text":"'
_TAIL = b'"}}\n\n'
# A JSON string's inside: no raw control characters (json.loads refuses them), only
# complete escapes, and not starting with a UTF-8 continuation byte (so a character
# split between two deltas is never joined into a valid one here). Unrolled, with
# possessive loops, so that a near miss cannot backtrack.
_STRING = (rb'(?![\x80-\xbf])[^"\\\x00-\x1f]*+'
           rb'(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+')
_INDEX = rb'(0|[1-9][0-9]{0,8})'


def _event(index, capture):
    text = b"(" + _STRING + b")" if capture else _STRING
    return re.escape(_HEAD) + index + re.escape(_MID) + text + re.escape(_TAIL)


@cache
def _run_patterns():
    """(a run: text deltas for one block, back to back (\\1: the same index every
    time); one such event, its text captured). Compiled when first needed: a long
    answer rarely needs them (see _whole), and compiling them is most of what
    importing this module would cost."""
    run = re.compile(_event(_INDEX, False) + b"(?:" + _event(rb"\1", False) + b")*+")
    return run, re.compile(_event(rb"[0-9]+", True))

# The texts alone: found at the speed of a substring search, then proven (see _whole).
_TEXT_AT = re.compile(rb'"text":"(' + _STRING + b")" + re.escape(_TAIL))
_DIGITS = re.compile(_INDEX)
# Where the next candidate starts after an event the plain path takes.
_NEXT = re.compile(rb"\n\n(?=" + re.escape(_HEAD) + rb"[0-9]+"
                   + re.escape(rb',"delta":{"type":"text_delta"') + b")")
_DATA_LINE = _HEAD[len(b"event: content_block_delta\ndata: "):]
_DATA_END = _TAIL[:-1]


def enabled():
    return os.environ.get("MSGCLI_NO_FAST_PATH", "") in ("", "0")


class TextRuns:
    """Takes runs of text deltas for `replay`, keeping the SSE parser's and the
    accumulator's state what the plain path would have left."""

    def __init__(self, parser, accumulator, jsonl_out=None):
        self._parser = parser
        self._accumulator = accumulator
        self._jsonl_out = jsonl_out

    def take(self, chunk, pos):
        """Handle the run of text deltas at chunk[pos:], if there is one the plain
        path would handle the same way. Returns (where the run ends, its events)."""
        if not self._parser.between_events() or len(chunk) - pos > self._parser.limit:
            return pos, 0
        found = _whole(chunk, pos)
        if found is None:
            run_pattern, texts_pattern = _run_patterns()
            run = run_pattern.match(chunk, pos)
            if run is None:
                return pos, 0
            digits, end = run.group(1), run.end()
            texts = texts_pattern.findall(chunk, pos, end)
        else:
            digits, end, texts = found
        return (end, len(texts)) if self._give(digits, texts) else (pos, 0)

    def take_framed(self, data, start):
        """Handle the whole chunks at data[start:] (a chunked body's read, from a
        chunk boundary) that are each one text delta for one block, exactly as the
        API frames them, before anything decodes them. Returns (where they end, their
        events, their body bytes)."""
        if not self._parser.between_events() or len(data) - start > self._parser.limit:
            return start, 0, 0
        found = _framed(data, start)
        if found is None:
            return start, 0, 0
        digits, end, texts = found
        if not self._give(digits, texts):
            return start, 0, 0
        body = sum(map(len, texts)) + len(texts) * _event_bytes(digits)
        return end, len(texts), body

    def _give(self, digits, texts):
        """Give a run's texts to the accumulator (and the run to `jsonl_out`), or
        return False when the plain path must see them."""
        index = int(digits)
        if not self._accumulator.takes_text(index):
            return False  # the plain path raises the error this deserves
        text = _decoded(texts)
        if text is None:
            return False  # U+FFFD where the plain path puts it: leave it to that path
        if self._jsonl_out is not None:
            self._jsonl_out.run(_Run(digits, texts, text))
        self._accumulator.take_text(index, text)
        return True

    @staticmethod
    def plain_until(chunk, pos):
        """Where the plain path's share of chunk[pos:] ends: just before the next
        event that could begin a run (or at the end of the read)."""
        found = _NEXT.search(chunk, pos)
        return found.start() + 2 if found is not None else len(chunk)


def _decoded(texts):
    """The texts of a run as one string, or None when the plain path must decode
    them."""
    joined = b"".join(texts)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\\" in text:
        if "\\u" in text:
            # Two deltas' halves of a surrogate pair stay apart, each U+FFFD,
            # as they are when each delta is decoded alone (reply.loads).
            return "".join([loads(b'"' + t + b'"') for t in texts])
        return json.loads('"' + text + '"')
    return text


def _lines(digits, texts):
    """Each event's data line and a newline, built from the texts: the run is
    proven to be nothing but such events, and a join needs no search."""
    data = _DATA_LINE + digits + _MID
    return (data + (_DATA_END + data).join(texts) + _DATA_END).decode("utf-8")


class _Run:
    """A run of text deltas as jsonredact.JsonEvents takes it: its lines and text,
    whole or in part, and any one event as the plain path would have given it."""

    def __init__(self, digits, texts, text):
        self.digits, self.texts, self._text = digits, texts, text

    def __len__(self):
        return len(self.texts)

    def text(self, a, b):
        return self._text if (a, b) == (0, len(self.texts)) else _decoded(self.texts[a:b])

    def lines(self, a, b):
        return _lines(self.digits, self.texts[a:b])

    def event(self, i):
        """(the event's line without its newline, its value)."""
        delta = {"type": "text_delta", "text": _decoded(self.texts[i:i + 1])}
        return self.lines(i, i + 1)[:-1], {"type": "content_block_delta",
                                             "index": int(self.digits), "delta": delta}


def _whole(chunk, pos):
    """(index digits, end, texts) when every complete event from `pos` up to the last
    text delta's end is a text delta for one block, as a read in the middle of a long
    answer is (the events after the last, such as the stream's end, are the plain
    path's); else None.

    The texts are found by a search for `"text":"`, which skips the rest of each
    event at C speed; the events built back from them must then be, byte for byte,
    what the read holds, which proves that they are nothing but such events."""
    last = chunk.rfind(_TAIL, pos)
    end = last + len(_TAIL)
    start = pos + len(_HEAD)
    if last < 0 or not chunk.startswith(_HEAD, pos):
        return None
    digits = chunk[start:chunk.find(b",", start, start + 11)]
    if not _DIGITS.fullmatch(digits):
        return None
    texts = _TEXT_AT.findall(chunk, pos, end)
    between = _TAIL + _HEAD + digits + _MID
    built = _HEAD + digits + _MID + between.join(texts) + _TAIL
    if len(built) != end - pos or not chunk.startswith(built, pos):
        return None
    return digits, end, texts


_CHUNK_END = _TAIL + b"\r\n"  # a text delta's end, and its chunk's


def _event_bytes(digits):
    """A text delta's length, less its text's."""
    return len(_HEAD) + len(digits) + len(_MID) + len(_TAIL)


class _Framings(dict):
    """For a text's length: the end of the chunk before, the size line of the
    chunk that carries the text, and the event up to the text (for one block)."""

    def __init__(self, digits):
        super().__init__()
        self.head = _HEAD + digits + _MID
        self.bytes = _event_bytes(digits)

    def __missing__(self, length):
        framing = self[length] = b"%s%x\r\n%s" % (_CHUNK_END, self.bytes + length, self.head)
        return framing


@lru_cache(maxsize=4)  # one block at a time, in practice: a server choosing cannot grow it
def _framings(digits):
    return _Framings(digits)


def _framed(data, start):
    """(index digits, end, texts) when the chunks at data[start:] up to the last
    text delta's chunk are each one text delta for one block, in the API's framing
    (the size in lower-case hexadecimal, the event alone in its chunk); else None.

    As in _whole, the texts are found by a search and the bytes built back from them,
    chunk sizes included, must be what the read holds."""
    head = data.find(b"\r\n", start, start + 10) + 2
    if head < 2 or not data.startswith(_HEAD, head):
        return None
    digits_at = head + len(_HEAD)
    digits = data[digits_at:data.find(b",", digits_at, digits_at + 11)]
    if not _DIGITS.fullmatch(digits) or \
            not data.startswith(_MID, digits_at + len(digits)):
        return None  # a thinking or tool delta, say: the decoding path's
    last = data.rfind(_CHUNK_END, start)
    if last < 0:
        return None
    end = last + len(_CHUNK_END)
    texts = _TEXT_AT.findall(data, start, end)
    if not texts:
        return None
    framings = _framings(digits)
    parts = [None] * (2 * len(texts))
    parts[0::2] = map(framings.__getitem__, map(len, texts))
    parts[1::2] = texts
    built = b"".join(parts)  # starts with a chunk end that is not there: skipped
    if len(built) != end - start or \
            not data.startswith(memoryview(built)[len(_CHUNK_END):], start):
        return None
    return digits, end, texts
