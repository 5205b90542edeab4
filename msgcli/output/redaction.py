"""Redaction: no credential leaves the process, whatever a server echoes back.

The Redactor replaces every secret msgcli knows (the key, tokens, secret -H values)
and anything shaped like an Anthropic key in text; HoldBack keeps back a possible
secret's start across writes, so a key split over two pieces of a stream is still
found. What msgcli writes as JSON (the -j reply, its stream's events, every
--jsonl and batch result line) needs more: a secret
may hide behind escapes (\\u0073k-...), or come in pieces that a reader joins (the
text deltas of a stream, the text blocks of a message), and the redacted line must
stay valid JSON and, where there is no secret, be byte for byte what it was.
"""

REDACTED = "[REDACTED]"
# Shorter values would mangle ordinary text; real keys and tokens are far longer.
_MIN_SECRET_LENGTH = 8
# Anthropic keys start so: a key pasted into the wrong option is redacted from a
# message even when it is not the configured one.
KEY_PREFIX = "sk-ant-"
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def redact_key_pattern(text):
    """Every token that starts like an Anthropic key, whatever key is configured."""
    start = text.find(KEY_PREFIX)
    while start != -1:
        end = start + len(KEY_PREFIX)
        while end < len(text) and text[end] in _KEY_CHARS:
            end += 1
        text = text[:start] + REDACTED + text[end:]
        start = text.find(KEY_PREFIX, start + len(REDACTED))
    return text


# Every secret any Redactor of this process was given: an excerpt of a server's
# body (api.reply, wire.neterrors) is redacted with them before it is cut, where
# no Redactor is at hand, so that the cut cannot leave a secret's start behind.
_KNOWN = []


class Redactor:
    def __init__(self, secrets=()):
        self.secrets = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret):
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)
            global _KNOWN
            if secret not in _KNOWN:  # replaced whole: another thread may read it
                _KNOWN = sorted([*_KNOWN, secret], key=len, reverse=True)

    def escaped(self, text, key_pattern=False):
        """`text` with every secret redacted as it is and however text quoted from
        elsewhere writes it: a JSON string's escapes (\\u0073, \\/), a Python
        repr's or an escaped control character's (\\x0d, \\r), and those again
        escaped (\\\\u0073). With `key_pattern`, anything shaped like a key too."""
        return _redact_escaped(self.secrets, text, key_pattern)

    def __call__(self, text):
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def held_back(self, text):
        """How many trailing characters of `text` could begin a secret that the next
        write completes; a streamed secret split across deltas is held until known."""
        longest = 0
        for secret in self.secrets:
            position = text.find(secret[0], max(len(text) - len(secret) + 1, 0))
            while position != -1:
                if secret.startswith(text[position:]):
                    longest = max(longest, len(text) - position)
                    break
                position = text.find(secret[0], position + 1)
        return longest


_HEX = {d: f"[{d}{d.upper()}]" if d.isalpha() else d for d in "0123456789abcdef"}
_SHORT = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f", "/": "/",
          "\\": "\\", '"': '"', "'": "'"}


def _hex(code, width):
    return "".join(_HEX[d] for d in f"{code:0{width}x}")


def _char_pattern(char):
    """A regular expression for `char` as it is or written as an escape, behind
    any number of backslashes (an escape escaped again is still the character)."""
    import re

    code = ord(char)
    forms = [f"U{_hex(code, 8)}"]
    if code < 0x10000:
        forms.append(f"u{_hex(code, 4)}")
    else:  # JSON writes it as a surrogate pair
        high, low = divmod(code - 0x10000, 0x400)
        forms.append(f"u{_hex(0xd800 + high, 4)}\\\\+u{_hex(0xdc00 + low, 4)}")
    if code < 0x100:
        forms.append(f"x{_hex(code, 2)}")
    if char in _SHORT:
        forms.append(re.escape(_SHORT[char]))
    # escapes first: a backslash in a secret takes a whole run of them
    return f"(?:\\\\+(?:{'|'.join(forms)})|{re.escape(char)})"


_escaped_patterns = {}  # by the secrets: a Redactor's, or all those known


def _redact_escaped(secrets, text, key_pattern=False):
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "\\" in text:
        key = tuple(secrets)
        patterns = _escaped_patterns.get(key)
        if patterns is None:
            import re

            patterns = (
                re.compile("|".join("".join(map(_char_pattern, s)) for s in key))
                if key else None,
                re.compile("".join(map(_char_pattern, KEY_PREFIX)) + "[A-Za-z0-9_-]*"))
            if len(_escaped_patterns) > 16:
                _escaped_patterns.clear()
            _escaped_patterns[key] = patterns
        for pattern in patterns[:2 if key_pattern else 1]:
            if pattern is not None:
                text = pattern.sub(REDACTED, text)
    return redact_key_pattern(text) if key_pattern else text


def redact_known(text):
    """`text` (a server's) with every secret known (_KNOWN) redacted however it is
    escaped, and anything shaped like a key: for what is escaped or cut before a
    Console, which redacts too, could see it whole."""
    return _redact_escaped(_KNOWN, text, key_pattern=True)


def excerpt(source, size):
    """At most about `size` characters of `source` (a server's body, bytes or text,
    or an exception's text) on one line for an error message: redacted first,
    with every secret known (_KNOWN) however it is escaped and anything shaped like
    a key, then cut, never inside a REDACTED, so that no secret's start is left at
    the cut."""
    longest = max(map(len, _KNOWN), default=len(KEY_PREFIX))
    length = 2 * size + 16 * longest + 64
    while True:
        piece = source[:length]
        if isinstance(piece, bytes):
            piece = piece.decode("utf-8", "replace")
        text = _redact_escaped(_KNOWN, piece, key_pattern=True)
        # a secret that the window's end cuts in two is not found; it starts
        # at most 12 characters a character (two backslashes, u, four digits, twice)
        # before that end: what comes that far before it is past the cut
        if length >= len(source) or len(text) - 12 * longest >= size:
            break
        length *= 2
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    at = text.rfind(REDACTED, 0, size + len(REDACTED) - 1)
    end = at + len(REDACTED) if at != -1 and at < size < at + len(REDACTED) else size
    return text[:end]


class HoldBack:
    """Redaction across writes, for text that arrives in pieces (streamed answer
    and thinking): a tail that could begin a secret is held until the next piece
    shows whether it does. Used by Stdout and by Console.thinking alike."""

    def __init__(self, redactor):
        self._redact = redactor
        self._pending = ""

    def feed(self, text):
        """The redacted text that can be written now."""
        text = self._redact(self._pending + text)
        keep = self._redact.held_back(text) if self._redact.secrets else 0
        self._pending = text[len(text) - keep:] if keep else ""
        return text[:len(text) - keep] if keep else text

    def last_char(self, written):
        """The answer's last character so far, held back or `written` last."""
        return self._pending[-1] if self._pending else written

    def drain(self):
        """What was held back: the stream ended, so it began no secret."""
        pending, self._pending = self._pending, ""
        return pending

# the secrets last seen, and each as it is and as written inside a JSON string: one
# slot, replaced whole, since --jsonl's workers read it at once
_forms = ((), ())


def _json_forms(redactor):
    import json  # here: --help loads the redactor, never json

    global _forms
    key, forms = _forms
    if key != tuple(redactor.secrets):
        key = tuple(redactor.secrets)
        # inside a JSON string a secret with a quote, a backslash or a control
        # character is written escaped: that form is redacted too
        forms = sorted({form for s in key
                        for form in (s, json.dumps(s, ensure_ascii=False)[1:-1])},
                       key=len, reverse=True)
        _forms = (key, forms)
    return forms


def redact_json(redactor, text, value=None):
    """`text`, one or more JSON texts, with every secret in every string redacted
    and still valid JSON (REDACTED needs no escape), byte for byte as it was where
    there is no secret. `value`, the text parsed, shows a secret an escape hides
    from a search of the text, or one split between a message's text blocks: then
    the text is written again from the value, redacted."""
    import json  # here: --help loads the redactor, never json

    if not redactor.secrets:
        return text
    if value is not None:
        joined = _across_blocks(redactor, value)
        # a string that holds a backslash (written as two, or as a \u escape) may
        # quote a secret escaped, as an error's excerpt does
        if "\\\\" in text or "\\u" in text:
            joined = _escaped_strings(redactor, joined)
        if joined is not value or "\\u" in text or "\\/" in text:
            try:
                plain = json.dumps(joined, ensure_ascii=False, separators=(",", ":"))
            except (ValueError, TypeError, RecursionError):
                plain = text
            if joined is not value or _plain(redactor, plain) != plain:
                text = plain + ("\n" if text.endswith("\n") else "")
    return _plain(redactor, text)


def _plain(redactor, text):
    for form in _json_forms(redactor):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def across(redactor, pieces):
    """`pieces` (strings shown one after the other, such as the text deltas of a
    stream) with every secret in their concatenation redacted, REDACTED put in the
    piece where the secret began; the same list when there was none."""
    for secret in redactor.secrets:
        text = "".join(pieces)
        spans = []
        at = text.find(secret)
        while at != -1:
            spans.append((at, at + len(secret)))
            at = text.find(secret, at + len(secret))
        if spans:
            pieces = _cut(text, [len(p) for p in pieces], spans)
    return pieces


def _cut(text, lengths, spans):
    """The pieces of `text` (of these lengths) with the spans taken out, REDACTED
    where each began."""
    pieces, start = [], 0
    for length in lengths:
        end, kept, pos = start + length, [], start
        for a, b in spans:
            if b <= start or a >= end:
                continue
            if a > pos:
                kept.append(text[pos:a])
            if a >= start:
                kept.append(REDACTED)
            pos = max(pos, min(b, end))
        kept.append(text[pos:end])
        pieces.append("".join(kept))
        start = end
    return pieces



def _across_blocks(redactor, value):
    """`value` with a secret split across the text blocks of a message (its own,
    or a result line's "message") redacted, as in the answer's text, which joins
    them; `value` itself when there is none."""
    if not isinstance(value, dict):
        return value
    inner = value.get("message")
    if isinstance(inner, dict):
        new = _across_blocks(redactor, inner)
        return value if new is inner else {**value, "message": new}
    content = value.get("content")
    if not isinstance(content, list):
        return value
    at = [i for i, b in enumerate(content) if isinstance(b, dict) and
          b.get("type") == "text" and isinstance(b.get("text"), str)]
    texts = [content[i]["text"] for i in at]
    cut = across(redactor, texts) if len(at) > 1 else texts
    if cut is texts:
        return value
    content = list(content)
    for i, text in zip(at, cut, strict=True):
        content[i] = {**content[i], "text": text}
    return {**value, "content": content}


def _escaped_strings(redactor, value):
    """`value` with a secret written escaped in one of its strings redacted; `value`
    itself when there is none."""
    if isinstance(value, str):
        return redactor.escaped(value) if "\\" in value else value
    if isinstance(value, list):
        new = [_escaped_strings(redactor, v) for v in value]
        return value if all(a is b for a, b in zip(new, value, strict=True)) else new
    if isinstance(value, dict):
        items = [(_escaped_strings(redactor, k), _escaped_strings(redactor, v))
                 for k, v in value.items()]
        same = all(a is k and b is v for (a, b), (k, v) in zip(items, value.items(),
                                                                 strict=True))
        return value if same else dict(items)
    return value


def _pieces(data):
    """(channel, string) of an event whose strings a reader joins with those of
    the events before: the text, thinking and tool input a stream sends in deltas
    (and a text block's opening text, which the answer's text begins with)."""
    if not isinstance(data, dict):
        return ()
    kind = data.get("type")
    if kind == "content_block_delta" and isinstance(data.get("delta"), dict):
        delta = data["delta"]
        return [(key, delta[key]) for key in ("text", "thinking", "partial_json")
                if isinstance(delta.get(key), str)]
    if kind == "content_block_start" and isinstance(data.get("content_block"), dict) \
            and isinstance(data["content_block"].get("text"), str):
        return [("text", data["content_block"]["text"])]
    return ()


class _Held:
    __slots__ = ("line", "data", "pieces", "changed")

    def __init__(self, line, data):
        self.line, self.data, self.pieces, self.changed = line, data, {}, False

    def text(self, redactor):
        import json  # here: --help loads the redactor, never json

        if not self.changed:
            return redact_json(redactor, self.line, self.data)
        data = dict(self.data)
        if data.get("type") == "content_block_delta":
            data["delta"] = {**data["delta"], **self.pieces}
        else:
            data["content_block"] = {**data["content_block"], **self.pieces}
        return redact_json(redactor, json.dumps(data, separators=(",", ":")), data)


class JsonEvents:
    """An event stream written as JSON lines (-j): every string redacted, and a
    secret split across deltas redacted as the text path redacts it across writes.
    An event whose text, thinking or tool input ends in what could begin a secret
    is held, unchanged, with every event after it, until the next piece of that
    kind shows whether it does; without a secret the lines are the server's, byte
    for byte."""

    def __init__(self, redactor, write):
        self._redact = redactor
        self._write = write
        self._queue = []   # held events, in order
        self._tails = {}   # channel: the held events whose piece may begin a secret

    def event(self, line, data):
        """One event: its JSON text (one line) and its parsed value."""
        if not self._redact.secrets:
            self._write(line + "\n")
            return
        held = _Held(line, data)
        for channel, piece in _pieces(data):
            held.pieces[channel] = self._redact(piece)
            held.changed |= held.pieces[channel] is not piece
            self._hold(channel, held)
        self._queue.append(held)
        self._release()

    def _hold(self, channel, held):
        tail = self._tails.setdefault(channel, [])
        tail.append(held)
        texts = [h.pieces[channel] for h in tail]
        if len(tail) > 1:
            cut = across(self._redact, texts)
            if cut is not texts:
                for h, old, new in zip(tail, texts, cut, strict=True):
                    if old != new:
                        h.pieces[channel], h.changed = new, True
                texts = cut
        keep = self._redact.held_back("".join(texts))
        start, pos = sum(map(len, texts)) - keep, 0
        while tail and (keep == 0 or pos + len(tail[0].pieces[channel]) <= start):
            pos += len(tail.pop(0).pieces[channel])

    def _release(self, everything=False):
        waiting = set()
        if not everything:
            for tail in self._tails.values():
                waiting.update(map(id, tail))
        while self._queue and id(self._queue[0]) not in waiting:
            self._write(self._queue.pop(0).text(self._redact) + "\n")

    def run(self, run):
        """A run of text deltas (msgcli.stream.fastpath): its lines are written as they
        are, but for the events that settle what is held, or whose text could
        begin a secret, which are looked at one by one."""
        a, b = 0, len(run)
        if self._queue and not any(t for k, t in self._tails.items() if k != "text"):
            # the held text and the run together: when they make no secret and what
            # could begin one lies in the run, what was held is released as it is
            text = run.text(a, b)
            joined = "".join(h.pieces["text"] for h in self._tails.get("text", ())) + text
            if self._redact(joined) is joined and self._redact.held_back(joined) <= len(text):
                self.close()
        while a < b and self._queue:
            self.event(*run.event(a))
            a += 1
        if a == b:
            return
        text = run.text(a, b)
        if self._redact(text) is not text:
            for i in range(a, b):
                self.event(*run.event(i))
            return
        keep = self._redact.held_back(text)
        c = b
        while keep and c > a and len(run.text(c, b)) < keep:
            c -= 1
        if c > a:
            self._write(run.lines(a, c))
        for i in range(c, b):
            self.event(*run.event(i))

    def close(self):
        """The stream ended (or failed): what was held began no secret."""
        self._tails.clear()
        self._release(everything=True)
