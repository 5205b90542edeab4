"""Assembling the HTTP request: body, headers and URL, exactly as the API expects."""

import json
import re

from msgcli import __version__
from msgcli.errors import InputError
from msgcli.inputs import MAX_REQUEST_BYTES, megabytes
from msgcli.output import REDACTED

# claude-sonnet-4-5 reaches end-of-life on 2026-11-30, and the 4.6 models and later
# refuse a prefill with HTTP 400; claude-opus-4-5 does every seed example and takes
# every flag msgcli has (effort, thinking, structured output).
DEFAULT_MODEL = "claude-opus-4-5"
DEFAULT_MAX_TOKENS = 4096
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
# The fields CountMessageTokensParams accepts (checked against the spec by a test);
# everything else in a Messages body is dropped when counting.
COUNT_TOKENS_FIELDS = frozenset({
    "cache_control", "messages", "model", "output_config", "system", "thinking",
    "tool_choice", "tools"})
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
    return {k: v for k, v in body.items() if k in COUNT_TOKENS_FIELDS}


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
# own; a string without quotes, backslashes or control characters is its own JSON.
_LARGE_STRING = 64 * 1024
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_MARK = "\ue000msgcli-large-string-{}\ue000"


class EncodedBody:
    """A JSON request body as a list of byte chunks.

    json.dumps(...).encode() would hold a 5 MB base64 image three times at once (the
    dict's string, the JSON text, the bytes). Here each large string is encoded by
    itself and never joined: requests sends the chunks in turn with a Content-Length,
    and can iterate them again for a retry."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.length = sum(len(c) for c in chunks)

    def __len__(self):
        return self.length

    def __iter__(self):
        return iter(self.chunks)

    def __bytes__(self):
        return b"".join(self.chunks)


def encode_body(body):
    large = []

    def set_aside(value):
        if isinstance(value, dict):
            return {k: set_aside(v) for k, v in value.items()}
        if isinstance(value, list):
            return [set_aside(v) for v in value]
        if isinstance(value, str) and len(value) >= _LARGE_STRING:
            large.append(value)
            return _MARK.format(len(large) - 1)
        return value

    skeleton = json.dumps(set_aside(body), ensure_ascii=False, separators=(",", ":"))
    chunks = []
    for i, piece in enumerate(re.split(r'"\ue000msgcli-large-string-\d+\ue000"', skeleton)):
        chunks.append(piece.encode("utf-8"))
        if i < len(large):
            text = large[i]
            if text.isascii() and not _NEEDS_ESCAPE.search(text):
                chunks += [b'"', text.encode("ascii"), b'"']
            else:
                chunks.append(json.dumps(text, ensure_ascii=False).encode("utf-8"))
    data = EncodedBody(chunks)
    if len(data) > MAX_REQUEST_BYTES:
        raise InputError(f"the request is {megabytes(len(data))}; the API accepts at "
                         f"most {megabytes(MAX_REQUEST_BYTES)}")
    return data


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_header(text):
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or not set(name) <= _TOKEN_CHARS:
        raise InputError(f"-H/--header {text!r} is not of the form 'Name: value' "
                         "(a name is letters, digits and -)")
    return name, value.strip()  # its characters are checked with all headers


def build_headers(api_version, api_key=None, auth_token=None, betas=(), extra=()):
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
        _check_header_value(name, value)
    return headers


def _check_header_value(name, value):
    """HTTP carries header values as Latin-1 without control characters."""
    try:
        value.encode("latin-1")
        bad = any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value)
    except UnicodeEncodeError:
        bad = True
    if bad:
        source = {"x-api-key": "ANTHROPIC_API_KEY", "authorization": "ANTHROPIC_AUTH_TOKEN",
                  "anthropic-beta": "--beta", "anthropic-version": "--api-version"}.get(
                      name.lower(), f"-H {name!r}")
        raise InputError(f"{source}: the value has characters an HTTP header cannot "
                         "carry (non-Latin-1 or control characters)")


def build_url(base_url, path, beta=False):
    # The official SDKs mark beta calls with ?beta=true; the API ignores it, and
    # it selects the beta request schema in the published spec.
    return base_url.rstrip("/") + path + ("?beta=true" if beta else "")


def describe(method, url, headers, body):
    """The request as text for --dry-run, credentials redacted."""
    lines = [f"{method} {url}"]
    for name, value in headers.items():
        shown = REDACTED if name.lower() in SECRET_HEADERS else value
        lines.append(f"{name}: {shown}")
    lines.append("")
    lines.append(json.dumps(body, ensure_ascii=False, indent=2))
    return "\n".join(lines) + "\n"
