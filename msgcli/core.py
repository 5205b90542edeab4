"""One run of msgcli, from parsed options to an exit status.

This is the one place where failures become a line on stderr and an exit code
(signals and click's own usage errors are handled around it, in cli.main).
"""

import json
import os
import sys
from types import SimpleNamespace

from msgcli import request, status
from msgcli.errors import (
    ApiError,
    BadResponseError,
    CredentialsError,
    InputError,
    MsgcliError,
)
from msgcli.inputs import (
    Conversation,
    decode_utf8,
    join_prompt,
    load_conversation,
    parse_json_text,
    read_file_bytes,
    read_stdin_bytes,
    stdin_is_terminal,
)
from msgcli.output import Console, Redactor, Stdout, TextRenderer, format_usage, tool_calls
from msgcli.status import ExitStatus

_STOP_NOTES = {
    "max_tokens": "the answer was cut off at max_tokens; raise -t/--max-tokens",
    "refusal": "the model declined to answer (stop_reason refusal)",
    "pause_turn": "the model paused its turn (pause_turn); send the conversation "
                  "back to let it continue (see -c/--conversation)",
    "model_context_window_exceeded": "the conversation filled the model's context "
                                     "window (model_context_window_exceeded)",
}


def run(**options):
    opts = SimpleNamespace(**options)
    redactor = Redactor([os.environ.get("ANTHROPIC_API_KEY"),
                         os.environ.get("ANTHROPIC_AUTH_TOKEN")])
    console = Console(redactor)
    current = Run(opts, console, redactor)
    try:
        return current.execute()
    except MsgcliError as e:
        current.flush_partial_output()
        console.line(e.message)
        return e.exit_code
    except BrokenPipeError:
        silence_stdout()
        return ExitStatus.BROKEN_PIPE
    except Exception as e:  # the contract: a bug is one line and exit 1, never a traceback
        console.line(f"internal error: {type(e).__name__}: {e}; please report this bug")
        return ExitStatus.INTERNAL_ERROR


def silence_stdout():
    """After EPIPE, point fd 1 at /dev/null so the interpreter's final flush at
    exit has nowhere to fail ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def load_json_option(value, option, expect):
    """An option given as inline JSON, @FILE, or (for file-like options) a path."""
    text = value
    where = option
    stripped = value.lstrip()
    if not stripped.startswith(("{", "[")):
        path = value[1:] if value.startswith("@") else value
        where = f"{option} file {path!r}"
        text = decode_utf8(read_file_bytes(path, f"{option} file"), where)
    parsed = parse_json_text(text, where)
    if not isinstance(parsed, expect):
        kind = "object" if expect is dict else "array"
        raise InputError(f"{where}: must be a JSON {kind}")
    return parsed


class Run:
    def __init__(self, opts, console, redactor):
        self.opts = opts
        self.console = console
        self.redactor = redactor
        self.stdin_used = False
        self.stdout = None

    def open_stdout(self):
        self.stdout = Stdout(self.redactor)
        return self.stdout

    def flush_partial_output(self):
        """A failed stream keeps what it printed, including text held back in case
        it began a credential."""
        if self.stdout is not None:
            try:
                self.stdout.close()
            except (OSError, ValueError):
                pass

    # -- input -----------------------------------------------------------------

    def load_history(self):
        o = self.opts
        if o.messages and o.conversation:
            raise InputError("use either -f/--messages or -c/--conversation, not both")
        if o.conversation:
            if "\0" in o.conversation:
                raise InputError(f"conversation file {o.conversation!r} is not a valid "
                                 "file name")
            if not os.path.exists(o.conversation):
                return Conversation([], {}, is_object=False)
            data = read_file_bytes(o.conversation, "conversation file")
            return load_conversation(data, o.conversation)
        if o.messages == "-":
            self.stdin_used = True
            data = read_stdin_bytes("messages")
            if data is None:
                raise InputError("-f - reads messages from stdin, but stdin is a terminal")
            if not data.strip():
                raise InputError("-f -: stdin is empty, expected a JSON messages array")
            return load_conversation(data, "stdin")
        if o.messages:
            return load_conversation(read_file_bytes(o.messages, "messages file"),
                                     o.messages)
        return Conversation([], {})

    def media_blocks(self):
        if not (self.opts.image or self.opts.document):
            return []
        from msgcli import media

        refs = list(self.opts.image) + list(self.opts.document)
        if refs.count("-") > 1:
            raise InputError("stdin ('-') can feed only one image or document")
        if "-" in refs:
            self.stdin_used = True
        return [media.image_block(r) for r in self.opts.image] + \
               [media.document_block(r) for r in self.opts.document]

    def tool_result_blocks(self):
        blocks = []
        for is_error, pairs in ((False, self.opts.tool_result), (True, self.opts.tool_error)):
            for tool_use_id, text in pairs:
                block = {"type": "tool_result", "tool_use_id": tool_use_id,
                         "content": text}
                if is_error:
                    block["is_error"] = True
                blocks.append(block)
        return blocks

    def stdin_text(self, has_other_input):
        if self.stdin_used:
            return ""
        if stdin_is_terminal():
            if not has_other_input:
                raise InputError("no prompt: give PROMPT words, pipe text on stdin, or "
                                 "use -f/--messages (see msgcli --help)")
            return ""
        wait = self.opts.stdin_timeout if has_other_input else None
        data = read_stdin_bytes("prompt", wait=wait, console=self.console)
        if data is None:
            return ""
        text = decode_utf8(data, "stdin")
        if not text.strip() and not has_other_input:
            raise InputError("stdin is empty and no PROMPT was given: nothing to send")
        return text

    def user_turn(self, history):
        o = self.opts
        blocks = self.tool_result_blocks() + self.media_blocks()
        has_other = bool(o.prompt or blocks or history.messages)
        text = join_prompt(self.stdin_text(has_other), o.prompt)
        if not blocks:
            return {"role": "user", "content": text} if text else None
        if text:
            blocks.append({"type": "text", "text": text})
        return {"role": "user", "content": blocks}

    # -- request -------------------------------------------------------------

    def flags(self):
        o = self.opts
        output_config = {}
        if o.effort:
            output_config["effort"] = o.effort
        if o.schema:
            output_config["format"] = {
                "type": "json_schema", "schema": load_json_option(o.schema, "--schema", dict)}
        thinking = None
        if o.thinking:
            value = o.thinking.strip().lower()
            if value == "adaptive":
                thinking = {"type": "adaptive"}
            elif value in ("off", "disabled"):
                thinking = {"type": "disabled"}
            elif value.isdigit():
                thinking = {"type": "enabled", "budget_tokens": int(value)}
            else:
                raise InputError(f"--thinking {o.thinking!r}: give a token budget "
                                 "(e.g. 2048), 'adaptive' or 'off'")
        tools = load_json_option(o.tools, "--tools", list) if o.tools else None
        if tools is not None and not all(isinstance(t, dict) for t in tools):
            raise InputError("--tools: every tool definition must be a JSON object")
        return {
            "model": o.model,
            "max_tokens": o.max_tokens,
            "system": o.system,
            "temperature": o.temperature,
            "top_p": o.top_p,
            "top_k": o.top_k,
            "stop_sequences": list(o.stop) or None,
            "thinking": thinking,
            "output_config": output_config or None,
            "tools": tools,
            "tool_choice": self.tool_choice(tools),
            "stream": True if (o.stream and not o.count_tokens) else None,
        }

    def tool_choice(self, tools):
        choice = self.opts.tool_choice
        if not choice:
            return None
        if choice in ("auto", "any", "none"):
            return {"type": choice}
        if tools is not None and choice not in {t.get("name") for t in tools}:
            raise InputError(f"--tool-choice {choice!r}: no tool of that name in --tools")
        return {"type": "tool", "name": choice}

    def build(self):
        o = self.opts
        history = self.load_history()
        turn = self.user_turn(history)
        messages = list(history.messages) + ([turn] if turn else [])
        if o.prefill is not None:
            if not o.prefill.strip():
                raise InputError("-p/--prefill is empty")
            if o.prefill != o.prefill.rstrip():
                raise InputError("-p/--prefill cannot end with whitespace (the API "
                                 "rejects a final assistant turn that does)")
            messages.append({"role": "assistant", "content": o.prefill})
        extra = load_json_option(o.extra, "--extra", dict) if o.extra else None
        body = request.build_body(history.fields, messages, self.flags(), extra)
        request.check_body(body)
        return history, turn, body

    # -- run -----------------------------------------------------------------

    def execute(self):
        o = self.opts
        history, turn, body = self.build()
        if o.count_tokens:
            body = request.count_tokens_body(body)
        extra_headers = [request.parse_header(h) for h in o.header]
        for name, value in extra_headers:
            if name.lower() in request.SECRET_HEADERS:
                self.redactor.add(value)
                self.redactor.add(value.partition(" ")[2])
        api_key = os.environ.get("ANTHROPIC_API_KEY") or None
        auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
        headers = request.build_headers(o.api_version, api_key, auth_token, o.beta,
                                        extra_headers)
        path = request.COUNT_TOKENS_PATH if o.count_tokens else request.MESSAGES_PATH
        url = request.build_url(o.base_url or request.DEFAULT_BASE_URL, path,
                                beta="anthropic-beta" in headers)
        data = request.encode_body(body)
        if o.dry_run:
            stdout = self.open_stdout()
            if o.json:
                stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
            else:
                stdout.write(request.describe("POST", url, headers, body))
            stdout.close()
            return ExitStatus.OK
        if not any(k.lower() in request.SECRET_HEADERS for k in headers):
            raise CredentialsError("no credentials: set ANTHROPIC_API_KEY (or "
                                   "ANTHROPIC_AUTH_TOKEN) in the environment")

        from msgcli.transport import Transport

        transport = Transport(o.retries, o.timeout, self.console, verbose=o.verbose)
        try:
            streaming = bool(body.get("stream"))
            response = transport.post(url, headers, data, stream=streaming)
            if o.count_tokens:
                return self.show_count(transport.read_body(response), response)
            # A server or proxy that does not stream answers a stream request with the
            # whole message as JSON; it prints as the stream would have printed.
            if streaming and "json" not in response.headers.get("content-type", ""):
                message = self.show_stream(response)
            else:
                message = self.show_whole(transport.read_body(response), response)
        finally:
            transport.close()
        return self.finish(history, turn, message)

    def renderer(self, stdout):
        o = self.opts
        shown_prefill = "" if (o.hide_prefill or o.prefill is None) else o.prefill
        return TextRenderer(stdout, prefill=shown_prefill, newline=not o.no_newline,
                            hold=bool(o.schema))

    def show_thinking(self, text):
        self.console.raw(text)

    def show_whole(self, raw, response):
        message = parse_message(raw, response.status_code)
        if self.opts.show_thinking:
            for block in message["content"]:
                if block.get("type") == "thinking" and block.get("thinking"):
                    self.show_thinking(block["thinking"] + "\n")
        stdout = self.open_stdout()
        if self.opts.json:
            text = raw.decode("utf-8", "replace")
            stdout.write(text)
            if not self.opts.no_newline and not text.endswith("\n"):
                stdout.write("\n")
            stdout.close()
        else:
            renderer = self.renderer(stdout)
            renderer.feed("".join(b["text"] for b in message["content"]
                                  if b.get("type") == "text"))
            renderer.finish(message)
        return message

    def show_stream(self, response):
        from msgcli.streaming import replay

        stdout = self.open_stdout()
        renderer = None if self.opts.json else self.renderer(stdout)
        message = replay(
            response, stdout if self.opts.json else None,
            on_text=renderer.feed if renderer else None,
            on_thinking=self.show_thinking if self.opts.show_thinking else None,
            after_read=stdout.flush)
        if renderer:
            renderer.finish(message)
        else:
            stdout.close()
        return message

    def show_count(self, raw, response):
        value = parse_json_object(raw, response.status_code)
        tokens = value.get("input_tokens")
        if not isinstance(tokens, int):
            raise BadResponseError("the count_tokens reply has no input_tokens number")
        stdout = self.open_stdout()
        if self.opts.json:
            stdout.write(raw.decode("utf-8", "replace").rstrip("\n") + "\n")
        else:
            stdout.write(f"{tokens}\n")
        stdout.close()
        return ExitStatus.OK

    def finish(self, history, turn, message):
        o = self.opts
        stop_reason = message.get("stop_reason")
        code = status.for_stop_reason(stop_reason)
        if o.usage:
            self.console.line(format_usage(message.get("usage")))
        note = _STOP_NOTES.get(stop_reason) if isinstance(stop_reason, str) else None
        if code == ExitStatus.TOOL_USE and not tool_calls(message):
            note = "the reply stopped for tool_use but holds no tool call"
        if note is None and code == ExitStatus.OTHER_STOP_REASON:
            note = f"the reply stopped for an unknown reason: stop_reason {stop_reason!r}"
        if note:
            self.console.line(note)
        if o.conversation and stop_reason != "refusal" and message.get("content"):
            from msgcli import conversation

            history.messages = history.messages + ([turn] if turn else []) + \
                [conversation.assistant_turn(message, o.prefill)]
            conversation.write_atomic(o.conversation,
                                      conversation.dumps(history.to_json_value()))
        return code


def parse_json_object(raw, http_status):
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        snippet = " ".join(raw[:80].decode("utf-8", "replace").split())
        what = "an empty body" if not raw.strip() else f"a body that is not JSON: {snippet!r}"
        raise BadResponseError(f"the server answered HTTP {http_status} with {what}") \
            from None
    if not isinstance(value, dict):
        raise BadResponseError(f"the server answered HTTP {http_status} with JSON that "
                               "is not an object")
    return value


def parse_message(raw, http_status):
    """The reply as a Message, checked enough that output code can trust its shape."""
    value = parse_json_object(raw, http_status)
    if value.get("type") == "error" or ("error" in value and "content" not in value):
        raise ApiError.from_error_object(value, http_status)
    content = value.get("content")
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise BadResponseError(f"the server answered HTTP {http_status} with JSON that "
                               "is not a message: no 'content' array of blocks")
    for block in content:
        if block.get("type") == "text" and not isinstance(block.get("text"), str):
            raise BadResponseError("the reply has a text block without text")
    return value
