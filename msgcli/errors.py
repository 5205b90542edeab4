"""The failures msgcli reports: each carries its exit status and one line of text.

They are raised where a failure is found and turned into output in one place,
msgcli.cli.failure_gate. An error the API reports is msgcli.api.reply.ApiError.
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


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that cleanup code runs."""


def on_sigterm(signum, frame):
    """The SIGTERM handler a run installs (see Terminated)."""
    raise Terminated()
