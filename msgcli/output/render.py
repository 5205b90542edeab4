"""Turning a reply into what the user sees: the answer text (or JSON) on stdout,
thinking and usage on stderr.

The streaming and the whole-reply paths both feed one TextRenderer, which is what
makes their output identical byte for byte.
"""

import json

from msgcli.inputs.reading import json_default
from msgcli.output.redaction import REDACTED, JsonEvents, redact_json


def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tool_calls(message):
    return [
        {"id": b.get("id"), "name": b.get("name"), "input": b.get("input")}
        for b in message.get("content") or ()
        if isinstance(b, dict) and b.get("type") == "tool_use"
    ]


class TextRenderer:
    """Turns a reply into answer text.

    - the prefill is written just before the first text (or at the end if none);
    - with a schema the text is held and written as one compact JSON line;
    - a `tool_use` stop adds one JSON line per tool call after the text;
    - one trailing newline unless `newline` is false or the text already ends so.
    """

    def __init__(self, out, prefill="", newline=True, hold=False, may_pause=False):
        self._out = out
        self._may_pause = may_pause
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
        paused = self._may_pause and message.get("stop_reason") == "pause_turn"
        if paused:
            pass  # the answer goes on in the continuation: no newline yet
        elif calls:
            if self._out.last_char not in ("", "\n"):
                self._out.write("\n")
            for call in calls:
                self._out.write(compact_json(call) + "\n")
        elif self._newline and self._out.last_char not in ("", "\n"):
            self._out.write("\n")
        if paused:  # what may begin a secret stays held: the continuation may end it
            self._out.flush()
        else:
            self._out.close()


def text_renderer(opts, out, part=0):
    """The renderer for part `part` of an answer (parts > 0 continue a paused turn:
    the prefill was shown with part 0)."""
    from msgcli.api.server_tools import MAX_CONTINUATIONS

    shown_prefill = "" if (opts.hide_prefill or opts.prefill is None or part) \
        else opts.prefill
    return TextRenderer(out, prefill=shown_prefill, newline=not opts.no_newline,
                        hold=opts.schema is not None, may_pause=part < MAX_CONTINUATIONS)


def whole(opts, raw, message, out, console, part=0):
    """Show a whole reply: its raw JSON with -j, otherwise its text."""
    if opts.show_thinking:
        for block in message["content"]:
            if block.get("type") == "thinking" and block.get("thinking"):
                console.thinking(block["thinking"] + "\n")
    if opts.json:
        text = redact_json(out.redactor, raw.decode("utf-8", "replace"), message)
        out.write(text)
        if not opts.no_newline and not text.endswith("\n"):
            out.write("\n")
        out.close()
        return
    renderer = text_renderer(opts, out, part)
    renderer.feed("".join(b["text"] for b in message["content"] if b.get("type") == "text"))
    renderer.finish(message)


class _ReadOutput(list):
    """What one network read produced, written at once when the read is handled."""

    write = list.append


def stream(opts, chunks, out, console, part=0):
    """Show an event stream as it arrives; return the message it built.

    Each network read's output goes out in one write and one flush, so a
    credential split across deltas is redacted as it would be in one piece."""
    from msgcli.stream.accumulator import replay

    renderer = None if opts.json else text_renderer(opts, out, part)
    pending = _ReadOutput()
    events = JsonEvents(out.redactor, pending.append) if opts.json else None

    def write_pending():
        if pending:
            text = "".join(pending)
            pending.clear()
            if renderer:
                renderer.feed(text)
            else:
                out.write(text)

    def after_read():
        write_pending()
        out.flush()

    try:
        message = replay(
            chunks, events,
            on_text=pending.append if renderer else None,
            on_thinking=console.thinking if opts.show_thinking else None,
            after_read=after_read)
    finally:
        if events is not None:
            events.close()  # the stream is over: what was held began no secret
        write_pending()  # what came before a failure in the same read
    console.end_thinking()
    if renderer:
        renderer.finish(message)
    else:
        out.close()
    return message


def count(opts, raw, tokens, out):
    text = raw.decode("utf-8", "replace").rstrip("\n") if opts.json else str(tokens)
    if opts.json:
        text = redact_json(out.redactor, text, _parsed(text))
    out.write(text if opts.no_newline else text + "\n")
    out.close()


def _parsed(text):
    """A JSON text's value, or None (then only what is not escaped is redacted)."""
    from msgcli.api.reply import loads

    try:
        return loads(text)
    except (ValueError, RecursionError):
        return None


def dry_run(opts, req, out):
    """The request that would be sent, credentials redacted."""
    if opts.json:
        out.write(json.dumps(req.body, ensure_ascii=False, indent=2, default=json_default) + "\n")
    else:
        lines = [f"{req.method} {req.url}"]
        for name, value in req.headers.items():
            shown = REDACTED if name.lower() in req.secret_headers else value
            lines.append(f"{name}: {shown}")
        if req.body is not None:  # a GET has none
            lines += ["", json.dumps(req.body, ensure_ascii=False, indent=2, default=json_default)]
        out.write("\n".join(lines) + "\n")
    out.close()


def usage_line(usage, prices=None, message=None, requested=None):
    """-u: every numeric usage field (cache counts included), and with --cost the
    price."""
    if not isinstance(usage, dict):
        return "usage: not reported"
    parts = [f"{k}={v}" for k, v in usage.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if prices is not None:
        from msgcli.api.usage import record

        line = record(message or {"usage": usage}, None, prices, requested)
        priced = line["cost"]
        why = "the counts are too large to price" if isinstance(
            prices.get(line.get("model")), dict) or isinstance(prices.get(requested), dict) \
            else "the --cost file has no price for this model"
        parts.append(f"cost={priced:g}" if priced is not None else f"cost=unknown ({why})")
    return "usage: " + (" ".join(parts) if parts else "not reported")
