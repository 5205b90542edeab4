"""The failures msgcli reports: each carries its exit status and one line of text.

They are raised where a failure is found and turned into output in one place,
msgcli.cli.failure_gate.
"""

from msgcli.status import ExitStatus


class MsgcliError(Exception):
    """A failure with a message for a person and an exit status for a script."""

    exit_code = ExitStatus.INTERNAL_ERROR

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(MsgcliError):
    """Bad input found before anything was sent: exit 2."""

    exit_code = ExitStatus.USAGE


class CredentialsError(MsgcliError):
    exit_code = ExitStatus.AUTH


class NetworkError(MsgcliError):
    exit_code = ExitStatus.NETWORK


class BadResponseError(MsgcliError):
    """The server answered, but not with what the Messages API promises."""

    exit_code = ExitStatus.SERVER_ERROR


_HINTS = {
    ExitStatus.AUTH: "check ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN",
    ExitStatus.RATE_LIMITED: "wait and retry, or raise --retries",
    ExitStatus.SERVER_ERROR: "the API is having trouble; try again later",
}


class ApiError(MsgcliError):
    """An error reported by the API, as an HTTP status or a stream `error` event."""

    def __init__(self, exit_code, http_status, error_type, message, request_id,
                 attempts=1, note=None):
        from msgcli.output.console import one_line

        # all three come from the server: shown as one line, control characters escaped
        error_type, message, request_id = (one_line(v) if v else v for v in
                                           (error_type, message, request_id))
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
        hint = None
        if http_status in (400, None):
            from msgcli.api import hints  # only an API error needs the table

            hint = hints.for_message(message)
        if hint is None and not note:  # a note already says what to change
            hint = "check --model and --base-url" if http_status == 404 \
                else _HINTS.get(exit_code)
        if hint:
            parts.append(f"; {hint}")
        super().__init__("".join(parts), exit_code)
