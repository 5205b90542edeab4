"""The --jsonl line format: one request per input line, one result per output line.

An input line is a JSON string (the user's text; PROMPT words follow after a blank
line, as with stdin), a JSON array (messages, as -f takes), or a JSON object (a
request object as -f takes, optionally with "custom_id", or the Message Batches
form {"custom_id": ..., "params": {...}}). Each line becomes exactly the request a
single run with -f would build; flags apply to every line as they apply to -f.

A result line holds, in this order: custom_id, status (the exit status a single
run would have had), stop_reason, text (what a single run prints, without the
trailing newline), usage, error (null or {type, message, http_status}) and
request_id; with -j also the whole reply as "message".

No threads here: the concurrent runner is msgcli.jsonl.runner; --batch reuses this too.
"""

import json
from typing import NamedTuple

from msgcli import core
from msgcli.api import request
from msgcli.api.limits import MAX_REQUEST_BYTES, megabytes
from msgcli.api.reply import ApiError
from msgcli.errors import BadResponseError, CredentialsError, InputError, NetworkError
from msgcli.inputs import conversation, reading
from msgcli.inputs import turn as inputs_turn
from msgcli.output import render
from msgcli.output.redaction import redact_json
from msgcli.status import ExitStatus


class BadLine(str):
    """A line that could not be read as text (not UTF-8, or over the size limit);
    read_lines yields it in place of the text so that parse_line reports it."""

    def __new__(cls, reason):
        line = super().__new__(cls, "")
        line.reason = reason
        return line


class LineRequest(NamedTuple):
    custom_id: str
    history: conversation.History
    turn: dict | None


def read_lines(binary_stream, limit=MAX_REQUEST_BYTES):
    """(line number, text) for each non-blank line, read one line at a time.

    A line over `limit` bytes is skipped to its end without being held, and
    yielded as a BadLine, as is a line that is not UTF-8."""
    lineno = 0
    while True:
        data = binary_stream.readline(limit + 1)
        if not data:
            return
        lineno += 1
        if len(data) > limit and not data.endswith(b"\n"):
            while True:  # drop the rest of the line, a bounded piece at a time
                rest = binary_stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield lineno, BadLine(f"the line is over {megabytes(limit)}; the API "
                                  f"accepts requests of at most "
                                  f"{megabytes(MAX_REQUEST_BYTES)}")
            continue
        if not data.strip():
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            yield lineno, BadLine(f"not valid UTF-8 (bad byte at offset {e.start})")
            continue
        if lineno == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield lineno, text


def _kind(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")


def custom_id_of(error, lineno):
    """The custom_id for the result of a line parse_line refused."""
    return getattr(error, "custom_id", None) or str(lineno)


def parse_line(text, lineno, prompt_words=()):
    """The LineRequest of one input line; InputError naming the line if invalid
    (with the line's custom_id as its `custom_id` attribute once known)."""
    where = f"line {lineno}"
    if isinstance(text, BadLine):
        raise InputError(f"{where}: {text.reason}")
    value = reading.parse_json_text(text, where)
    custom_id = str(lineno)
    if isinstance(value, str):
        user_text = inputs_turn.join_prompt(value, prompt_words)
        if not user_text.strip():
            raise InputError(f"{where}: empty prompt: nothing to send")
        return LineRequest(custom_id, conversation.History([], {}),
                           {"role": "user", "content": user_text})
    if isinstance(value, dict):
        value = dict(value)
        if "custom_id" in value:
            custom_id = value.pop("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                raise InputError(f"{where}: custom_id must be a non-empty string, "
                                 f"not {_kind(custom_id)}")
        if "params" in value:
            params = value.pop("params")
            if value:
                raise InputError(f"{where}: a line with 'params' holds only "
                                 f"'custom_id' and 'params', not {sorted(value)[0]!r}")
            if not isinstance(params, dict):
                raise InputError(f"{where}: 'params' must be a request object, "
                                 f"not {_kind(params)}")
            value = params
            where = f"{where}: params"
    elif not isinstance(value, list):
        raise InputError(f"{where}: expected a JSON string, messages array or request "
                         f"object, not {_kind(value)}")
    try:
        history = conversation.from_value(value, where)
    except InputError as e:
        e.custom_id = custom_id  # the result of a bad line still carries its id
        raise
    prompt = " ".join(prompt_words)
    turn = {"role": "user", "content": prompt} if prompt.strip() else None
    return LineRequest(custom_id, history, turn)


_media_cache = {}


def _blocks(opts, uploaded=None):
    """Tool results and media given as flags, added to every line's user turn
    (media files are read once per run, not once per line; with --upload-files
    `uploaded` holds their ids)."""
    key = (opts.image, opts.document, tuple(sorted((uploaded or {}).items())))
    if key not in _media_cache:
        _media_cache.clear()
        _media_cache[key] = inputs_turn.media_blocks(opts, uploaded)
    return inputs_turn.tool_result_blocks(opts) + list(_media_cache[key])


def build_request(opts, line_request, credentials, redactor=None, uploaded=None):
    """The Request a single run with -f would build for this line."""
    blocks = _blocks(opts, uploaded) if (opts.image or opts.document or opts.tool_result
                                         or opts.tool_error) else []
    turn = line_request.turn
    if blocks:
        text = turn["content"] if turn else ""
        turn = {"role": "user",
                "content": blocks + ([{"type": "text", "text": text}] if text else [])}
    return request.build(opts, line_request.history, turn, credentials, redactor)


def answer_line(opts, custom_id, message, text, request_id=None):
    """The result line of a request that was answered (`message`; None for a token
    count), for --jsonl and --batch alike: its status as a single run's, its text as
    a single run prints it, less the newline a tool call or a token count ends with
    (the line ends there)."""
    code = core.outcome(opts, message)[0] if message is not None else ExitStatus.OK
    if text.endswith("\n") and (message is None or render.tool_calls(message)):
        text = text[:-1]
    return result_line(custom_id, code, message, text=text, include_message=opts.json,
                       request_id=request_id)


def result_line(custom_id, status, message=None, error=None, text=None,
                include_message=False, request_id=None):
    """One result as a dict, keys in the documented order."""
    message = message if isinstance(message, dict) else None
    line = {
        "custom_id": custom_id,
        "status": int(status),
        "stop_reason": message.get("stop_reason") if message else None,
        "text": text,
        "usage": message.get("usage") if message else None,
        "error": error,
        "request_id": request_id,
    }
    if include_message:
        line["message"] = message
    return line


_ERROR_TYPES = ((InputError, "invalid_input"), (CredentialsError, "no_credentials"),
                (NetworkError, "network_error"), (BadResponseError, "bad_response"))


def error_fields(exc):
    """{type, message, http_status} for a failure."""
    if isinstance(exc, ApiError):
        return {"type": exc.error_type or "error",
                "message": exc.api_message or exc.message,
                "http_status": exc.http_status}
    kind = next((name for cls, name in _ERROR_TYPES if isinstance(exc, cls)), "error")
    return {"type": kind, "message": getattr(exc, "message", str(exc)),
            "http_status": None}


def error_result(custom_id, exc, include_message=False):
    """The result line of a request that failed with a MsgcliError or ApiError."""
    return result_line(custom_id, exc.exit_code, error=error_fields(exc),
                       include_message=include_message,
                       request_id=getattr(exc, "request_id", None))


def dumps(line, redactor):
    """A result as one line of JSON (UTF-8 as is, no trailing newline), every
    string in it redacted: the reply in "message", an error's message and the
    text alike may hold what a server echoed. Every result line, on stdout or in
    -o's journal, of --jsonl and of the batch modes, is made here."""
    return redact_json(redactor, json.dumps(line, ensure_ascii=False, separators=(",", ":")),
                       line)
