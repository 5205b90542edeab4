"""Assembling the HTTP request: body, headers and URL, exactly as the API expects.

Flags override a messages file's fields, which override the built-in defaults;
--extra sits between the file and the flags.
"""

import json
import os
import re

from msgcli import __version__
from msgcli.api import caching, files, server_tools, versions
from msgcli.api.defaults import DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS, DEFAULT_MODEL
from msgcli.api.limits import MAX_REQUEST_BYTES, megabytes
from msgcli.errors import CredentialsError, InputError
from msgcli.inputs.reading import LargeText

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
# The Messages fields the token count refuses, dropped when counting: those of SDK
# 2.16's messages.create (and beta.messages.create) that its count_tokens does not
# take, and the sampling fields SDK 2.x passes only through extra_body (a test checks
# the list against the SDK). Only these: a field the endpoint takes, or a newer one
# (speed, given with --extra), is counted as it would be sent.
COUNT_TOKENS_REFUSED = frozenset({
    "container", "diagnostics", "fallback_credit_token", "fallbacks", "inference_geo",
    "max_tokens", "metadata", "service_tier", "stop_sequences", "stream", "temperature",
    "thread", "top_k", "top_p"})
SECRET_HEADERS = frozenset({"x-api-key", "authorization"})


def deep_merge(base, override):
    """`override` laid over `base`; nested objects merge, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_body(file_fields, messages, flags, extra=None):
    """Layers, lowest first: built-in defaults, the messages file's own fields,
    --extra, then the flags the user gave (None means not given)."""
    body = {"model": DEFAULT_MODEL, "max_tokens": DEFAULT_MAX_TOKENS}
    body.update(file_fields)
    if extra:
        body = deep_merge(body, extra)
    body = deep_merge(body, {k: v for k, v in flags.items() if v is not None})
    body["messages"] = messages
    return body


def count_tokens_body(body):
    return {k: v for k, v in body.items() if k not in COUNT_TOKENS_REFUSED}


def check_body(body):
    """Checks the API would fail on anyway, made here to fail early and clearly."""
    messages = body.get("messages")
    if not messages:
        raise InputError("nothing to send: give a PROMPT, pipe text on stdin, or use "
                         "-f/--messages or -c/--conversation")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget, max_tokens = thinking.get("budget_tokens"), body.get("max_tokens")
        if isinstance(budget, int) and isinstance(max_tokens, int):
            if budget < 1024:
                raise InputError(f"--thinking budget {budget} is below the API's "
                                 "minimum of 1024 tokens")
            if budget >= max_tokens:
                raise InputError(f"--thinking budget {budget} must be less than "
                                 f"--max-tokens ({max_tokens})")


# Strings this long (base64 images and documents, big prompts) are encoded on their
# own, a piece at a time; a piece without quotes, backslashes or control characters
# is its own JSON.
_LARGE_STRING = 64 * 1024
_PIECE = 64 * 1024
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _json_pieces(text):
    """`text` (a str or a LargeText) as the UTF-8 bytes of a JSON string, a piece at
    a time. json escapes character by character, so the pieces join into exactly
    json.dumps(str(text))."""
    yield b'"'
    for whole in text.pieces if isinstance(text, LargeText) else (text,):
        for start in range(0, len(whole), _PIECE):
            piece = whole[start:start + _PIECE]
            if piece.isascii() and not _NEEDS_ESCAPE.search(piece):
                yield piece.encode("ascii")
            else:
                yield json.dumps(piece, ensure_ascii=False)[1:-1].encode("utf-8")
    yield b'"'


def _utf8_pieces(text):
    for start in range(0, len(text), _PIECE):
        yield text[start:start + _PIECE].encode("utf-8")


def _part_chunks(i, part):
    if i % 2:  # a large string
        return _json_pieces(part)
    return (part,) if isinstance(part, bytes) else _utf8_pieces(part)


def json_chunks(parts):
    """The UTF-8 bytes of json_parts() (its JSON text maybe encoded already), a
    piece at a time."""
    for i, part in enumerate(parts):
        yield from _part_chunks(i, part)


class EncodedBody:
    """A JSON request body as byte chunks, made as they are sent.

    json.dumps(...).encode() would hold a big prompt or a 5 MB base64 image three
    times at once (the dict's string, the JSON text, the bytes). Here each large
    string is encoded by itself, 64 KiB at a time, while requests sends the
    chunks in turn with a Content-Length (and again for a retry): the string in the
    body is the only whole copy. So is long JSON text between them (a messages
    file of many turns), kept as text and encoded a piece at a time as well."""

    def __init__(self, parts):
        self.parts = parts  # json_parts(), its short JSON text encoded already
        # The first encoding, thrown away, measures the body and finds text that
        # cannot be UTF-8 before anything is sent.
        self.length = sum(len(p) if isinstance(p, bytes) or i % 2 == 0 and p.isascii()
                          else sum(map(len, _part_chunks(i, p)))
                          for i, p in enumerate(parts))

    def __len__(self):
        return self.length

    def __iter__(self):
        return json_chunks(self.parts)


def json_parts(value, **options):
    """`value` as json.dumps(value, **options) would write it, in parts: the JSON
    text around its large strings (str or LargeText, never copied) and those
    strings in turn, for json_chunks() to encode a piece at a time."""
    large = []
    marks = []  # made at the first large string: most bodies (--jsonl's) have none

    def set_aside(value):
        if isinstance(value, dict):
            return {k: set_aside(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [set_aside(v) for v in value]
        if isinstance(value, LargeText) or \
                isinstance(value, str) and len(value) >= _LARGE_STRING:
            if not marks:
                # a nonce per call: no text the user sends can look like the placeholder
                marks.append(f"\ue000msgcli-large-string-{os.urandom(8).hex()}-")
            large.append(value)
            return f"{marks[0]}{len(large) - 1}\ue000"
        return value

    skeleton = json.dumps(set_aside(value), **options)
    if not large:
        return [skeleton]
    # (the pattern is new each call: compiling it costs more than a small body)
    parts = []
    for i, piece in enumerate(re.split(f'"{marks[0]}\\d+\ue000"', skeleton)):
        parts.append(piece)
        if i < len(large):
            parts.append(large[i])
    return parts


def encode_body(body):
    try:
        parts = json_parts(body, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False)
    except ValueError:
        raise InputError("the request holds a number JSON cannot carry (NaN or "
                         "Infinity); check the messages file and --extra") from None
    try:
        data = EncodedBody([p.encode("utf-8") if i % 2 == 0 and len(p) < _LARGE_STRING
                            else p for i, p in enumerate(parts)])
    except UnicodeEncodeError:
        raise InputError("the request holds text that is not valid Unicode (a lone "
                         "surrogate, as from a \\ud800 escape)") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise InputError(f"the request is {megabytes(len(data))}; the API accepts at "
                         f"most {megabytes(MAX_REQUEST_BYTES)}")
    return data


_built_headers = {}  # the last headers built, by their arguments: --jsonl's lines share them


def build_headers(api_version, api_key=None, auth_token=None, betas=(), extra=()):
    key = (api_version, api_key, auth_token, tuple(betas), tuple(map(tuple, extra)))
    headers = _built_headers.get(key)
    if headers is None:
        headers = _new_headers(api_version, api_key, auth_token, betas, extra)
        _built_headers.clear()
        _built_headers[key] = headers
    return dict(headers)


def _new_headers(api_version, api_key, auth_token, betas, extra):
    headers = {
        "accept": "application/json",
        "anthropic-version": api_version,
        "content-type": "application/json",
        "user-agent": f"msgcli/{__version__}",
    }
    if api_key:
        headers["x-api-key"] = api_key
    if auth_token:
        headers["authorization"] = f"Bearer {auth_token}"
    beta_names = [b.strip() for spec in betas for b in spec.split(",") if b.strip()]
    if beta_names:
        headers["anthropic-beta"] = ",".join(beta_names)
    for name, value in extra:
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = value
    for name, value in headers.items():
        check_header_value(name, value)
    return headers


def check_header_value(name, value, source=None, error=InputError):
    """HTTP carries header values as Latin-1 without control characters: anything
    else is refused as an `error` naming `source` (by default the option or variable
    that sets the header here), never showing the value, which may be a secret."""
    try:
        value.encode("latin-1")
        bad = any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value)
    except UnicodeEncodeError:
        bad = True
    if bad:
        source = source or {
            "x-api-key": "ANTHROPIC_API_KEY", "authorization": "ANTHROPIC_AUTH_TOKEN",
            "anthropic-beta": "--beta", "anthropic-version": "--api-version"}.get(
                name.lower(), f"-H {name!r}")
        raise error(f"{source}: the value has characters an HTTP header cannot "
                    "carry (non-Latin-1 or control characters)")


_check_header_value = check_header_value  # the name its callers knew


def build_url(base_url, path):
    # No ?beta=true on beta calls: SDKs before 2.x added it, SDK 2.x (2.16 checked)
    # does not. The anthropic-beta header is what selects a beta feature; the query
    # only named the beta operation in the published spec.
    return base_url.rstrip("/") + path


def flag_fields(opts, tools_from_file=None):
    """The body fields the flags set; None means not given, so the file's value
    (or the default) stays."""
    output_config = {}
    if opts.effort:
        output_config["effort"] = opts.effort
    if opts.schema is not None:
        output_config["format"] = {"type": "json_schema", "schema": opts.schema}
    tools = server_tools.with_server_tools(
        opts, opts.tools if opts.tools is not None else tools_from_file) \
        if (opts.web_search or opts.web_fetch) else opts.tools
    return {
        "model": opts.model,
        "max_tokens": opts.max_tokens,
        "system": opts.system,
        "temperature": opts.temperature,
        "top_p": opts.top_p,
        "top_k": opts.top_k,
        "stop_sequences": list(opts.stop) or None,
        "thinking": opts.thinking,
        "output_config": output_config or None,
        "tools": tools,
        "tool_choice": tool_choice(opts.tool_choice, tools if tools is not None
                                   else tools_from_file),
        "cache_control": caching.top_level(opts),
        # False is a value: --no-stream overrides "stream": true in a file
        "stream": None if opts.stream is None or opts.count_tokens else opts.stream,
    }


def tool_choice(choice, tools):
    if not choice:
        return None
    if choice in ("auto", "any", "none"):
        return {"type": choice}
    names = {t.get("name") for t in tools if isinstance(t.get("name"), str)} \
        if isinstance(tools, list) and all(isinstance(t, dict) for t in tools) else None
    if names is None:
        raise InputError(f"--tool-choice {choice!r} names a tool, but no tools are "
                         "defined: give --tools (or tools in the messages file)")
    if choice not in names:
        raise InputError(f"--tool-choice {choice!r}: no tool of that name in --tools")
    return {"type": "tool", "name": choice}


class Request:
    """One API call, ready to send: where, how, and the body both as a value (for
    --dry-run and for the record) and as the bytes that go on the wire."""

    secret_headers = SECRET_HEADERS
    auth = None  # a platform's request is authorised by it when sent (msgcli.platforms)
    stream_decoder = None  # how a platform's stream that is not SSE becomes SSE

    def __init__(self, url, headers, body=None, data=None, method="POST"):
        self.url = url
        self.headers = headers
        self.body = body
        self.data = data
        self.method = method

    def with_body(self, body):
        """The same call with another body (a paused turn's continuation)."""
        return Request(self.url, self.headers, body, encode_body(body))

    def shown(self):
        """What --dry-run shows."""
        return self

    def require_credentials(self):
        require_credentials(self.headers)


def require_credentials(headers):
    """No call is made without a credential among `headers`: exit 11 before sending."""
    if not any(k.lower() in SECRET_HEADERS for k in headers):
        raise CredentialsError("no credentials: set ANTHROPIC_API_KEY (or "
                               "ANTHROPIC_AUTH_TOKEN) in the environment")


def headers_for(opts, credentials, redactor=None, uses_files=False):
    """The headers of every call these options make (messages, token counts,
    batches, models, files): version, credentials, betas and -H. The secret values
    given with -H join `redactor`, so they are never shown. `uses_files`: the call
    is a Files API call or refers to a file, so the files beta joins --beta's when
    the API version needs it (msgcli.api.files)."""
    if redactor is not None:
        for name, value in opts.header:
            if name.lower() in SECRET_HEADERS:
                redactor.add(value)
                redactor.add(value.partition(" ")[2])
    betas = files.betas_for(opts.api_version, opts.beta) if uses_files else opts.beta
    return build_headers(opts.api_version, credentials[0], credentials[1], betas,
                         opts.header)


def messages_with_prefill(history_messages, turn, prefill):
    messages = list(history_messages) + ([turn] if turn else [])
    if prefill is not None:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def build(opts, history, turn, credentials, redactor=None):
    """Step two of a run: the Request for this history and new turn.

    `credentials` is (api key, auth token); secret header values given with -H are
    added to `redactor` so they are never shown."""
    messages = messages_with_prefill(history.messages, turn, opts.prefill)
    tools_elsewhere = (opts.extra or {}).get("tools", history.fields.get("tools"))
    body = build_body(history.fields, messages, flag_fields(opts, tools_elsewhere),
                      opts.extra)
    caching.mark_breakpoints(body, opts, turn)
    if opts.show_thinking:
        caching.show_thinking(body)
    check_body(body)
    path = MESSAGES_PATH
    if opts.count_tokens:
        body = count_tokens_body(body)
        path = COUNT_TOKENS_PATH
    versions.refuse_what_it_rejects(body, opts)
    # a -d/-i file id, or a file block in -f's turns, needs the files beta
    headers = headers_for(opts, credentials, redactor,
                          uses_files=files.refers_to_files(body))
    url = build_url(opts.base_url or DEFAULT_BASE_URL, path)
    return Request(url, headers, body, encode_body(body))
