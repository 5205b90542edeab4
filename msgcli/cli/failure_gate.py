"""The one place a failure becomes one line on stderr and an exit status.

Whatever happens in a run, a usage error, an API error, Ctrl-C, SIGTERM, a closed
or full stdout, or a bug, ends here: the person reads one line (or nothing, for a
reader that closed the pipe), and the script gets the documented status. A bug is
"internal error", exit 1, never a traceback, unless MSGCLI_DEBUG=1 asks for one
to put in a bug report.
"""

import errno
import os
import sys

import click

from msgcli.errors import MsgcliError, Terminated
from msgcli.status import ExitStatus

BUG_REPORTS = "https://github.com/msgcli/msgcli/issues"


def debugging():
    return os.environ.get("MSGCLI_DEBUG", "") not in ("", "0")


def usage_message(error, argv=()):
    """A click usage error as one line; a value read from an environment variable
    is named by its variable, not by a flag the user never typed."""
    from msgcli.cli.options import source_name

    param = getattr(error, "param", None)
    if isinstance(error, click.BadParameter) and param is not None:
        return f"{source_name(param, argv)}: {error.message}; see msgcli --help"
    text = " ".join(error.format_message().split())
    return f"{text}; see msgcli --help" if isinstance(error, click.UsageError) else text


def silence_stdout():
    """Point fd 1 at /dev/null, so that the interpreter's final flush at exit has
    nowhere to fail ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def _flush_stdout():
    """Flush now, inside the gate, rather than at exit where a failure is a
    traceback-like warning."""
    stream = sys.stdout
    if stream is not None:
        stream.flush()


def _output_failure(error, console):
    if error.errno == errno.EPIPE:
        return ExitStatus.BROKEN_PIPE
    console.line(f"cannot write to stdout: {error.strerror or error}")
    return ExitStatus.WRITE_ERROR


def guard(action, console, argv=()):
    """Run `action` (which returns an exit status) and turn any failure into one."""
    try:
        code = action()
        _flush_stdout()
    except MsgcliError as e:
        console.line(e.message)
        code = e.exit_code
    except click.exceptions.Exit as e:  # --help and --version end this way
        code = e.exit_code
        try:
            _flush_stdout()
        except OSError as error:
            code = _output_failure(error, console)
    except click.exceptions.Abort:
        code = _interrupted(console)
    except click.ClickException as e:
        console.line(usage_message(e, argv))
        code = e.exit_code
    except KeyboardInterrupt:
        code = _interrupted(console)
    except Terminated:
        code = ExitStatus.TERMINATED
    except OSError as e:
        # msgcli wraps every read and network failure; what reaches here is a
        # failed write to stdout, or a bug, told apart by the error number
        if e.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF, errno.EDQUOT,
                       errno.EFBIG, errno.EINVAL):
            code = _output_failure(e, console)
        else:
            code = _bug(e, console)
    except Exception as e:
        code = _bug(e, console)
    if code in (ExitStatus.BROKEN_PIPE, ExitStatus.WRITE_ERROR):
        silence_stdout()
    return int(code or 0)


def _bug(error, console):
    if debugging():
        raise error
    console.line(f"internal error: {type(error).__name__}: {error}; please report this "
                 f"bug at {BUG_REPORTS} (MSGCLI_DEBUG=1 shows the traceback)")
    return ExitStatus.INTERNAL_ERROR


def _interrupted(console):
    console.line("interrupted")
    return ExitStatus.INTERRUPTED
