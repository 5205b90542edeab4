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


# A run: text deltas for one block, back to back (\1: the same index every time).
_RUN = re.compile(_event(_INDEX, False) + b"(?:" + _event(rb"\1", False) + b")*+")
_TEXTS = re.compile(_event(rb"[0-9]+", True))
# Where the next candidate starts after an event the plain path takes.
_NEXT = re.compile(rb"\n\n(?=" + re.escape(_HEAD) + rb"[0-9]+"
                   + re.escape(rb',"delta":{"type":"text_delta"') + b")")
_EVENT_PREFIX = b"event: content_block_delta\ndata: "


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
        run = _RUN.match(chunk, pos)
        if run is None:
            return pos, 0
        index = int(run.group(1))
        if not self._accumulator.takes_text(index):
            return pos, 0  # the plain path raises the error this deserves
        end = run.end()
        texts = _TEXTS.findall(chunk, pos, end)
        joined = b"".join(texts)
        try:
            text = joined.decode("utf-8")
        except UnicodeDecodeError:
            return pos, 0  # U+FFFD where the plain path puts it: leave it to that path
        if "\\" in text:
            if "\\u" in text:
                # Two deltas' halves of a surrogate pair stay two lone surrogates,
                # as they are when each delta is decoded alone.
                text = "".join([json.loads(b'"' + t + b'"') for t in texts])
            else:
                text = json.loads('"' + text + '"')
        if self._jsonl_out is not None:
            lines = chunk[pos:end].replace(_EVENT_PREFIX, b"").replace(b"\n\n", b"\n")
            self._jsonl_out.write(lines.decode("utf-8"))
        self._accumulator.take_text(index, text)
        return end, len(texts)

    @staticmethod
    def plain_until(chunk, pos):
        """Where the plain path's share of chunk[pos:] ends: just before the next
        event that could begin a run (or at the end of the read)."""
        found = _NEXT.search(chunk, pos)
        return found.start() + 2 if found is not None else len(chunk)
