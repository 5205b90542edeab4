"""The fast path through an event stream: runs of ordinary text deltas in one pass.

Most of a long answer is `content_block_delta` events that carry a `text_delta`, which
the API sends in one exact shape. One compiled regular expression finds a run of them
at the start of what is left of a network read; their texts are decoded together and
given to the accumulator as one piece, which is what the plain path (msgcli.sse, then
json, event by event) would have done piece by piece.

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
from functools import cache

from msgcli.reply import loads

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
        index = int(digits)
        if not self._accumulator.takes_text(index):
            return pos, 0  # the plain path raises the error this deserves
        joined = b"".join(texts)
        try:
            text = joined.decode("utf-8")
        except UnicodeDecodeError:
            return pos, 0  # U+FFFD where the plain path puts it: leave it to that path
        if "\\" in text:
            if "\\u" in text:
                # Two deltas' halves of a surrogate pair stay apart, each U+FFFD,
                # as they are when each delta is decoded alone (reply.loads).
                text = "".join([loads(b'"' + t + b'"') for t in texts])
            else:
                text = json.loads('"' + text + '"')
        if self._jsonl_out is not None:
            # each event's data line and a newline, built from the texts: the run is
            # proven to be nothing but such events, and a join needs no search
            data = _DATA_LINE + digits + _MID
            lines = data + (_DATA_END + data).join(texts) + _DATA_END
            self._jsonl_out.write(lines.decode("utf-8"))
        self._accumulator.take_text(index, text)
        return end, len(texts)

    @staticmethod
    def plain_until(chunk, pos):
        """Where the plain path's share of chunk[pos:] ends: just before the next
        event that could begin a run (or at the end of the read)."""
        found = _NEXT.search(chunk, pos)
        return found.start() + 2 if found is not None else len(chunk)


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
