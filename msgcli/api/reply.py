"""What the server said: a whole reply parsed and checked once, here, so that the
code that shows it can trust its shape. Anything unexpected is a BadResponseError
(exit 13) with a short description; an error object is an ApiError.
"""

import json
import re

from msgcli.errors import BadResponseError, MsgcliError
from msgcli.status import ExitStatus, for_error_type

STREAM = "stream"
WHOLE = "whole"


_HINTS = {
    ExitStatus.AUTH: "check ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN",
    ExitStatus.RATE_LIMITED: "wait and retry, or raise --retries",
    ExitStatus.SERVER_ERROR: "the API is having trouble; try again later",
}


class ApiError(MsgcliError):
    """An error reported by the API, as an HTTP status or a stream `error` event.
    `hint` replaces the usual one (a platform's credentials are not the API key)."""

    def __init__(self, exit_code, http_status, error_type, message, request_id,
                 attempts=1, note=None, hint=None):
        from msgcli.output.console import one_line  # only an error needs it
        from msgcli.output.redaction import redact_known

        # all three come from the server: shown as one line, control characters
        # escaped, redacted first, since an escape would hide a secret holding one
        error_type, message, request_id = (one_line(redact_known(v)) if v else v
                                           for v in (error_type, message, request_id))
        self.http_status = http_status
        self.error_type = error_type
        self.api_message = message
        self.request_id = request_id
        where = f"HTTP {http_status}" if http_status else "in the stream"
        parts = [f"API error {where}: {error_type or 'unknown error'}"]
        if message:
            parts.append(f": {message}")
        if request_id:
            parts.append(f" (request-id {request_id})")
        if attempts > 1:
            parts.append(f" after {attempts} attempts")
        if note:
            parts.append(f"; {note}")
        if hint is None and http_status in (400, None):
            from msgcli.api import hints  # only an API error needs the table

            hint = hints.for_message(message)
        if hint is None and not note:  # a note already says what to change
            hint = "check --model and --base-url" if http_status == 404 \
                else _HINTS.get(exit_code)
        if hint:
            parts.append(f"; {hint}")
        super().__init__("".join(parts), exit_code)



def kind(http_status, content_type):
    """How to read a 2xx body: an event stream only when it says it is one; JSON
    when it says so (or says nothing); anything else, a captive portal's HTML page
    say, is not an API reply whatever was asked for."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "text/event-stream":
        return STREAM
    if not media_type or media_type == "application/json" or media_type.endswith("+json"):
        return WHOLE
    raise BadResponseError(f"the server answered HTTP {http_status} with {media_type}, "
                           "not an API reply; check --base-url and any proxy")


# The escape of a UTF-16 surrogate: alone (no pair), json.loads makes it a lone
# surrogate, which cannot be written as UTF-8, to a file or stdout, or sent back.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(raw):
    """json.loads of a reply or an event, with each lone surrogate made U+FFFD."""
    value = json.loads(raw)
    pattern = _SURROGATE_ESCAPE_BYTES if isinstance(raw, bytes) else _SURROGATE_ESCAPE
    return _without_lone_surrogates(value) if pattern.search(raw) else value


def _without_lone_surrogates(value):
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v)
                for k, v in value.items()}
    return value


def _snippet(raw, size=80):
    from msgcli.output.redaction import excerpt  # redacted before it is cut

    return excerpt(raw, size)


def json_object(raw, http_status):
    try:
        value = loads(raw)
    except RecursionError:
        raise BadResponseError(f"the server answered HTTP {http_status} with JSON nested "
                               "too deeply") from None
    except MemoryError:  # within the size limit, yet too many values for this memory
        raise BadResponseError(f"the server answered HTTP {http_status} with JSON too "
                               "large to hold in memory") from None
    except (ValueError, UnicodeDecodeError):
        what = "an empty body" if not raw.strip() else \
            f"a body that is not JSON: {_snippet(raw)!r}"
        raise BadResponseError(f"the server answered HTTP {http_status} with {what}") \
            from None
    if not isinstance(value, dict):
        raise BadResponseError(f"the server answered HTTP {http_status} with JSON that "
                               "is not an object")
    return value


def message(raw, http_status):
    """The reply as a Message whose content is a list of blocks with string texts."""
    value = json_object(raw, http_status)
    if value.get("type") == "error" or ("error" in value and "content" not in value):
        raise api_error(value, http_status)
    check_message(value, f"the server answered HTTP {http_status} with JSON that is "
                         "not a message")
    return value


def check_message(value, what="the reply"):
    content = value.get("content")
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise BadResponseError(f"{what}: no 'content' array of blocks")
    for block in content:
        for key in ("text", "thinking"):
            if block.get("type") == key and not isinstance(block.get(key), str):
                raise BadResponseError(f"the reply has a {key} block without {key} "
                                       "(missing or not a string)")


def input_tokens(raw, http_status):
    """The count from a count_tokens reply."""
    value = json_object(raw, http_status)
    tokens = value.get("input_tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        raise BadResponseError("the count_tokens reply has no input_tokens number")
    return tokens


def _error_fields(value):
    """(type, message) of an API error object {"type": "error", "error": {...}}."""
    error = value.get("error") if isinstance(value.get("error"), dict) else {}
    return str(error.get("type") or "error"), str(error.get("message") or "")


def api_error(value, http_status=None):
    """The ApiError for an error object that arrived inside a 2xx reply or a stream,
    where only its type tells its status."""
    error_type, message = _error_fields(value)
    request_id = value.get("request_id")
    return ApiError(for_error_type(error_type), http_status, error_type, message,
                    request_id if isinstance(request_id, str) else None)


def error_summary(body, content_type):
    """(error type, message) from an error response, whatever shape it has."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        value = None
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return _error_fields(value)
    if not body:
        return "empty response", "the server sent no body"
    kind_ = (content_type or "unknown type").split(";")[0]
    return "unexpected response", \
        f"the body is not an API error ({kind_}): {_snippet(body, 120)!r}"
