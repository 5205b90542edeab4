"""The command line: options in, one call to core.run, an exit status out.

Imports nothing but click and the exit-status table, so `--help` and
`--version` start as fast as click allows; the rest loads when a request is made.
"""

import os
import sys

import click

from msgcli import __version__
from msgcli.status import EXIT_STATUS_MEANINGS, ExitStatus


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so cleanup code runs."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _exit_status_epilog():
    rows = "\n".join(f"  {int(code):>3}  {meaning}"
                     for code, meaning in EXIT_STATUS_MEANINGS.items())
    return ("\b\nExit status:\n" + rows + "\n\n\b\nEnvironment: ANTHROPIC_API_KEY, "
            "ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL;\nany option as "
            "MSGCLI_<OPTION>, e.g. MSGCLI_MODEL, MSGCLI_MAX_TOKENS.\n"
            "See man msgcli for the full manual.")


HELP_WIDTH = 100


def _terminal_width():
    """What click would ask shutil for, without importing shutil for --help."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


class MsgcliCommand(click.Command):
    """click's Command with msgcli's process contract: click exits 1 on Ctrl-C and
    on a broken pipe, msgcli exits 130/143 and 141, and never shows a traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        # click's own rule (fit the terminal, at most max_content_width, at least 50)
        extra.setdefault("terminal_width", max(min(_terminal_width(), HELP_WIDTH) - 2, 50))
        return super().make_context(info_name, args, parent, **extra)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        self._previous_sigterm = None
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                **extra)
        except click.exceptions.Abort:
            code = _interrupted()
        except KeyboardInterrupt:
            code = _interrupted()
        except Terminated:
            code = ExitStatus.TERMINATED
        except click.ClickException as e:
            e.show()
            code = e.exit_code
        except SystemExit as e:
            # click turns EPIPE into exit 1 after swapping in a quiet stdout
            code = e.code
            if code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
                code = ExitStatus.BROKEN_PIPE
        finally:
            if self._previous_sigterm is not None:
                import signal

                signal.signal(signal.SIGTERM, self._previous_sigterm)
        if code is None:
            code = 0
        if code == ExitStatus.BROKEN_PIPE:
            from msgcli.core import silence_stdout

            silence_stdout()
        sys.exit(int(code))


def _interrupted():
    try:
        sys.stderr.write("msgcli: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return ExitStatus.INTERRUPTED


def _positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter("must be greater than 0")
    return value


def _not_negative(ctx, param, value):
    if value is not None and value < 0:
        raise click.BadParameter("must not be negative")
    return value


@click.command(
    cls=MsgcliCommand,
    context_settings={"help_option_names": ["-h", "--help"],
                      "auto_envvar_prefix": "MSGCLI",
                      "max_content_width": HELP_WIDTH},
    epilog=_exit_status_epilog(),
)
@click.argument("prompt", nargs=-1)
@click.option("-f", "--messages", metavar="FILE",
              help="JSON messages array or request object ('-' = stdin).")
@click.option("-c", "--conversation", metavar="FILE",
              help="Conversation file: read if it exists, reply appended, rewritten "
                   "atomically.")
@click.option("-s", "--system", metavar="TEXT", help="System prompt.")
@click.option("-m", "--model", metavar="TEXT",
              help="Model name.  [default: claude-opus-4-5]")
@click.option("-t", "--max-tokens", type=int, metavar="INT", callback=_positive,
              help="Most tokens to generate.  [default: 4096]")
@click.option("--temperature", type=float, metavar="FLOAT", help="Sampling temperature.")
@click.option("--top-p", type=float, metavar="FLOAT", help="Nucleus sampling.")
@click.option("--top-k", type=int, metavar="INT", help="Top-k sampling.")
@click.option("-S", "--stop", multiple=True, metavar="TEXT",
              help="Stop sequence (repeatable).")
@click.option("-p", "--prefill", metavar="TEXT",
              help="Start of the answer; the reply continues it.")
@click.option("--hide-prefill", is_flag=True, help="Print only the continuation.")
@click.option("-i", "--image", multiple=True, metavar="PATH|URL|-",
              help="Image to send (JPEG, PNG, GIF, WebP; repeatable).")
@click.option("-d", "--document", multiple=True, metavar="PATH|URL|-",
              help="PDF or text document to send (repeatable).")
@click.option("--thinking", metavar="BUDGET|adaptive",
              help="Extended thinking: a token budget, 'adaptive' or 'off'.")
@click.option("--show-thinking", is_flag=True, help="Write thinking text to stderr.")
@click.option("--effort", type=click.Choice(["low", "medium", "high", "xhigh", "max"]),
              help="output_config.effort.")
@click.option("--schema", metavar="FILE|JSON",
              help="JSON schema the answer must follow; prints one JSON line.")
@click.option("--tools", metavar="FILE", help="JSON array of tool definitions.")
@click.option("--tool-choice", metavar="auto|any|none|NAME", help="How tools are chosen.")
@click.option("--tool-result", nargs=2, multiple=True, metavar="ID TEXT",
              help="Answer tool call ID with TEXT (repeatable).")
@click.option("--tool-error", nargs=2, multiple=True, metavar="ID TEXT",
              help="Report tool call ID failed with TEXT (repeatable).")
@click.option("--extra", metavar="JSON|@FILE",
              help="JSON object deep-merged into the request body.")
@click.option("--count-tokens", is_flag=True,
              help="Print the request's input token count instead of sending it.")
@click.option("-j", "--json", "json_", is_flag=True, envvar="MSGCLI_JSON",
              help="Print the response body as sent (JSONL events with --stream).")
@click.option("-n", "--no-newline", is_flag=True, help="No trailing newline.")
@click.option("-u", "--usage", is_flag=True, help="Token usage on stderr.")
@click.option("-v", "--verbose", is_flag=True,
              help="URL, status, request-id, attempts and timing on stderr.")
@click.option("--dry-run", is_flag=True,
              help="Print the request (key redacted) and exit without sending.")
@click.option("--stream/--no-stream", default=False,
              help="Print the answer as it is generated.  [default: no-stream]")
@click.option("--base-url", metavar="URL", envvar=["MSGCLI_BASE_URL", "ANTHROPIC_BASE_URL"],
              help="API base URL.  [default: https://api.anthropic.com]")
@click.option("--api-version", default="2023-06-01", show_default=True, metavar="TEXT",
              help="anthropic-version header.")
@click.option("--beta", multiple=True, metavar="NAME",
              help="anthropic-beta feature (repeatable).")
@click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'",
              help="Extra HTTP header (repeatable).")
@click.option("--retries", type=int, default=2, show_default=True, metavar="N",
              callback=_not_negative, help="Retries on 408/409/429/5xx and network errors.")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              metavar="SECONDS", callback=_positive,
              help="Read timeout (connect: 5 s).")
@click.option("--stdin-timeout", type=float, default=2.0, show_default=True,
              metavar="SECONDS", callback=_not_negative,
              help="With other input, how long to wait for a silent stdin pipe.")
@click.version_option(__version__, "-V", "--version", prog_name="msgcli",
                      message="%(prog)s %(version)s")
def cli(**options):
    """Send a prompt to the Anthropic Messages API and print the answer.

    PROMPT words are joined with spaces. Text piped on stdin comes first, then a
    blank line, then PROMPT. Set ANTHROPIC_API_KEY.

    \b
    Examples:
      msgcli "Hello, Claude"
      git diff | msgcli -s "You review code." "Review this diff."
      msgcli -p '{' -S '}' "Give me JSON" | jq .
      msgcli -i photo.jpg "What is in this image?"
    """
    # Until a request is on its way, SIGTERM's default action (exit 143) is right.
    import signal

    from msgcli import core

    try:
        click.get_current_context().command._previous_sigterm = \
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (embedded use): keep the default
        pass
    options["json"] = options.pop("json_")
    return core.run(**options)


def main():
    cli.main(prog_name="msgcli")
