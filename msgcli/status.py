"""Exit statuses: msgcli's frozen contract with the scripts that call it.

Also the one table that maps a reply's stop_reason, an HTTP status or an API
error type to a status, with the note a person reads on stderr. Kept free of
imports beyond the standard library's enum, so `--help`, which prints the
table, costs nothing extra at start-up.
"""

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    MAX_TOKENS = 3
    REFUSAL = 4
    TOOL_USE = 5
    PAUSE_TURN = 6
    CONTEXT_WINDOW_EXCEEDED = 7
    OTHER_STOP_REASON = 8
    INCOMPLETE = 9
    API_REJECTED = 10
    AUTH = 11
    RATE_LIMITED = 12
    SERVER_ERROR = 13
    NETWORK = 14
    WRITE_ERROR = 15
    CONVERSATION_BUSY = 16
    BATCH_CANCELED = 17
    BATCH_EXPIRED = 18
    BATCH_NOT_ENDED = 19
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


# The documented meaning of every status, in the words README, --help and the
# man page use; tests/test_docs.py proves all three list every one of them.
EXIT_STATUS_MEANINGS = {
    ExitStatus.OK: "complete answer: end_turn or stop_sequence",
    ExitStatus.INTERNAL_ERROR: "internal error (a bug): one line on stderr, no traceback",
    ExitStatus.USAGE: "usage or input error: bad option, missing or invalid input, "
    "a file that cannot be read or written",
    ExitStatus.MAX_TOKENS: "max_tokens: the answer was cut off",
    ExitStatus.REFUSAL: "refusal",
    ExitStatus.TOOL_USE: "tool_use: the model asks for a tool call",
    ExitStatus.PAUSE_TURN: "pause_turn, still paused after 5 continuations",
    ExitStatus.CONTEXT_WINDOW_EXCEEDED: "model_context_window_exceeded",
    ExitStatus.OTHER_STOP_REASON: "any other stop_reason (values the API adds later)",
    ExitStatus.INCOMPLETE: "--jsonl or a batch: some requests did not complete; each result "
    "line says why",
    ExitStatus.API_REJECTED: "the API rejected the request (400, 404, 413, 422, other 4xx)",
    ExitStatus.AUTH: "authentication or permission: 401, 402, 403, or no credentials set",
    ExitStatus.RATE_LIMITED: "rate limited (429)",
    ExitStatus.SERVER_ERROR: "API server error or overloaded (5xx, 529), or a reply "
    "that is not a valid Messages API response",
    ExitStatus.NETWORK: "network failure: cannot connect, DNS, TLS, timeout, "
    "connection dropped, stream cut short, --deadline reached (with --jsonl: each line "
    "it cut or kept from being sent)",
    ExitStatus.WRITE_ERROR: "cannot write the answer: stdout is full, closed or failing "
    "(ENOSPC, EIO)",
    ExitStatus.CONVERSATION_BUSY: "conversation file busy: another run held its lock "
    "for 30 s (or the federation token cache's for 60 s); nothing was sent",
    ExitStatus.BATCH_CANCELED: "batch request canceled: its batch was canceled "
    "before the request ran",
    ExitStatus.BATCH_EXPIRED: "batch request expired: its batch did not reach it "
    "within 24 hours",
    ExitStatus.BATCH_NOT_ENDED: "batch not ended yet: --batch-results without --wait "
    "on a batch still in progress, or --deadline reached while --wait polled",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C, SIGINT)",
    ExitStatus.BROKEN_PIPE: "stdout closed early (broken pipe): exits quietly",
    ExitStatus.TERMINATED: "terminated (SIGTERM)",
}

# stop_reason -> (status, the note printed on stderr, or None for a clean stop)
STOP_REASONS = {
    "end_turn": (ExitStatus.OK, None),
    "stop_sequence": (ExitStatus.OK, None),
    "max_tokens": (ExitStatus.MAX_TOKENS,
                   "the answer was cut off at max_tokens; raise -t/--max-tokens"),
    "refusal": (ExitStatus.REFUSAL, "the model declined to answer (stop_reason refusal)"),
    "tool_use": (ExitStatus.TOOL_USE, None),
    "pause_turn": (ExitStatus.PAUSE_TURN,
                   "the model paused its turn (pause_turn) again after msgcli's 5 "
                   "continuations; send the conversation back to let it go on (see "
                   "-c/--conversation)"),
    "model_context_window_exceeded": (
        ExitStatus.CONTEXT_WINDOW_EXCEEDED,
        "the conversation filled the model's context window "
        "(model_context_window_exceeded)"),
}

_ERROR_TYPE_STATUS = {
    "invalid_request_error": ExitStatus.API_REJECTED,
    "not_found_error": ExitStatus.API_REJECTED,
    "request_too_large": ExitStatus.API_REJECTED,
    "authentication_error": ExitStatus.AUTH,
    "permission_error": ExitStatus.AUTH,
    "billing_error": ExitStatus.AUTH,
    "rate_limit_error": ExitStatus.RATE_LIMITED,
    "api_error": ExitStatus.SERVER_ERROR,
    "overloaded_error": ExitStatus.SERVER_ERROR,
    "timeout_error": ExitStatus.SERVER_ERROR,
}


def for_stop_reason(stop_reason):
    """(status, note) for a reply's stop_reason; unknown values get status 8."""
    if isinstance(stop_reason, str) and stop_reason in STOP_REASONS:
        return STOP_REASONS[stop_reason]
    return (ExitStatus.OTHER_STOP_REASON,
            f"the reply stopped for an unknown reason: stop_reason {stop_reason!r}")


def for_http_status(http_status):
    if http_status in (401, 402, 403):
        return ExitStatus.AUTH
    if http_status == 429:
        return ExitStatus.RATE_LIMITED
    if http_status >= 500:
        return ExitStatus.SERVER_ERROR
    return ExitStatus.API_REJECTED


def for_error_type(error_type):
    """The status of an API error that arrived inside a 200 (a stream's `error`
    event or an error object in a reply), where only its type tells."""
    return _ERROR_TYPE_STATUS.get(error_type, ExitStatus.SERVER_ERROR)
