"""Where bytes go: the answer to stdout, everything a person should read to stderr.

Both streams pass through a redactor, so a credential never leaves the process
even when a server echoes it back. stdout is written as UTF-8 bytes to the binary
buffer; a stream flushes it after each network read, so a pipe sees words as they
arrive.
"""

import json
import sys

REDACTED = "[REDACTED]"
# Shorter values would mangle ordinary text; real keys and tokens are far longer.
_MIN_SECRET_LENGTH = 8


class Redactor:
    def __init__(self, secrets=()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH},
                              key=len, reverse=True)

    def add(self, secret):
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)

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


class Stdout:
    """The answer channel. Text is redacted across write boundaries; a stream
    flushes it after each network read (see streaming.replay)."""

    def __init__(self, redactor):
        self._out = getattr(sys.stdout, "buffer", sys.stdout)
        self._redact = redactor
        self._pending = ""
        self.last_char = ""

    def write(self, text):
        if not text:
            return
        text = self._redact(self._pending + text)
        keep = self._redact.held_back(text) if self._redact.secrets else 0
        self._pending = text[len(text) - keep:] if keep else ""
        text = text[:len(text) - keep] if keep else text
        if text:
            self._out.write(text.encode("utf-8", "surrogatepass"))
            self.last_char = text[-1]

    def flush(self):
        self._out.flush()

    def close(self):
        if self._pending:
            pending, self._pending = self._pending, ""
            self._out.write(pending.encode("utf-8", "surrogatepass"))
            self.last_char = pending[-1]
        self._out.flush()


class Console:
    """stderr: one-line messages prefixed with the program's name, redacted."""

    def __init__(self, redactor):
        self._redact = redactor

    def line(self, text):
        self.raw(f"msgcli: {text}\n")

    def raw(self, text):
        stream = sys.stderr
        if stream is None:
            return
        stream.write(self._redact(text))
        stream.flush()


def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tool_calls(message):
    return [
        {"id": b.get("id"), "name": b.get("name"), "input": b.get("input")}
        for b in message.get("content") or ()
        if isinstance(b, dict) and b.get("type") == "tool_use"
    ]


class TextRenderer:
    """Turns a reply into stdout text. The streaming and the whole-reply paths both
    feed it, which is what makes their output identical byte for byte.

    - the prefill is written just before the first text (or at the end if none);
    - with a schema the text is held and written as one compact JSON line;
    - a `tool_use` stop adds one JSON line per tool call after the text;
    - one trailing newline unless `newline` is false or the text already ends so.
    """

    def __init__(self, stdout, prefill="", newline=True, hold=False):
        self._out = stdout
        self._prefill = prefill
        self._newline = newline
        self._hold = hold
        self._held = []
        self._started = False

    def _start(self):
        if not self._started:
            self._started = True
            if self._prefill:
                self._emit(self._prefill)

    def _emit(self, text):
        if self._hold:
            self._held.append(text)
        else:
            self._out.write(text)

    def feed(self, text):
        if text:
            self._start()
            self._emit(text)

    def finish(self, message):
        self._start()
        if self._hold:
            text = "".join(self._held)
            try:
                text = compact_json(json.loads(text))
            except ValueError:
                pass  # a cut-off document is shown as it came; the exit status says why
            self._out.write(text)
        calls = tool_calls(message) if message.get("stop_reason") == "tool_use" else []
        if calls:
            if self._out.last_char not in ("", "\n"):
                self._out.write("\n")
            for call in calls:
                self._out.write(compact_json(call) + "\n")
        elif self._newline and self._out.last_char not in ("", "\n"):
            self._out.write("\n")
        self._out.close()


def format_usage(usage):
    if not isinstance(usage, dict):
        return "usage: not reported"
    parts = [f"{k}={v}" for k, v in usage.items() if isinstance(v, (int, float))]
    return "usage: " + (" ".join(parts) if parts else "not reported")
