"""The command line: click options in, typed Options to the run's conductor (core
for one request, jsonl.runner for --jsonl, batch.commands for the batch modes), a
status out.

Imports nothing but click, the option types and the exit-status table, so `--help`
and `--version` start as fast as click allows; the rest loads when a request is
made. Failures of every kind are turned into a line and a status by
msgcli.cli.failure_gate, in one place.
"""

import os
import sys

import click

from msgcli import __version__, end_of_startup
from msgcli.api import defaults
from msgcli.cli import modes, options
from msgcli.cli.helpformat import HelpContext
from msgcli.cli.params import (
    BaseUrl,
    FilePath,
    FiniteFloat,
    Header,
    Integer,
    JsonSource,
    MediaRef,
    ModelName,
    Names,
    OkStatus,
    Prices,
    Text,
    TextPairs,
    Thinking,
    ToolChoice,
)
from msgcli.status import EXIT_STATUS_MEANINGS

HELP_WIDTH = 80

# The help's sections, in the man page's order; every option is in one of them.
SECTIONS = (
    ("Input", ("messages", "conversation", "system", "image", "document", "document_title",
               "no_document_title", "tool_result",
               "tool_error", "no_stdin", "stdin", "stdin_timeout")),
    ("Model features", ("model", "max_tokens", "temperature", "top_p", "top_k", "stop",
                        "prefill", "thinking", "effort", "schema", "tools", "tool_choice",
                        "web_search", "web_fetch", "cache", "cache_ttl",
                        "cache_breakpoint", "extra")),
    ("Output", ("stream", "json_", "output", "ok", "no_newline", "hide_prefill",
                "show_thinking", "citations", "usage", "usage_json", "cost", "verbose",
                "count_tokens", "list_models", "dry_run")),
    ("Many prompts", ("jsonl", "parallel")),
    ("Batches", ("batch", "wait", "batch_results", "batch_status", "batch_cancel",
                 "batch_list")),
    ("Files", ("upload", "list_files", "file_info", "delete_file", "download_file",
               "upload_files")),
    ("Connection", ("platform", "base_url", "api_key_file", "api_version", "beta", "header",
                    "retries", "timeout", "max_wait", "deadline")),
)


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
    """click's Command with msgcli's process contract (click exits 1 on Ctrl-C and
    on a broken pipe; msgcli exits 130 and 141, and never shows a traceback), and
    help in sections with the exit-status table."""

    context_class = HelpContext

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        from msgcli.cli.failure_gate import guard
        from msgcli.inputs.reading import credentials
        from msgcli.output.console import Console
        from msgcli.output.redaction import Redactor

        if os.environ.get(complete_var or "_MSGCLI_COMPLETE"):
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        console = Console(Redactor(credentials()))

        argv = sys.argv[1:] if args is None else list(args)

        def run():
            # a copy: click's parser consumes the list, and the failure gate reads
            # argv to tell a flag from an environment variable
            with self.make_context(prog_name or "msgcli", list(argv), **extra) as ctx:
                opts = self.invoke(ctx)
            end_of_startup()
            if opts.platform is not None:  # a cloud platform, or federation
                from msgcli import platforms

                platforms.check(opts, modes.batch_command(opts))
            return conductor(opts).run(opts, console)

        code = guard(run, console, argv)
        if not standalone_mode:
            return code
        sys.exit(code)

    def make_context(self, info_name, args, parent=None, **extra):
        # click's own rule (fit the terminal, at most max_content_width, at least 50)
        extra.setdefault("terminal_width", max(min(_terminal_width(), HELP_WIDTH), 50))
        return super().make_context(info_name, args, parent, **extra)

    def format_options(self, ctx, formatter):
        # click 8.2+ gives arguments a help row too; PROMPT is in the usage line
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)
                   if isinstance(p, click.Option)}
        placed = {name for _, names in SECTIONS for name in names}
        general = [r for name, r in records.items() if name not in placed and r]
        for title, names in (("Options", None),) + SECTIONS:
            rows = general if names is None else [records[n] for n in names if records[n]]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx, formatter):
        with formatter.section("Exit status"):
            formatter.write_dl([(str(int(code)), meaning)
                                for code, meaning in EXIT_STATUS_MEANINGS.items()])
        with formatter.section("Environment"):
            formatter.write_text(
                "ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL; any option "
                "as MSGCLI_<OPTION>, e.g. MSGCLI_MODEL, MSGCLI_MAX_TOKENS (repeatable "
                "options: one value per line). MSGCLI_DEBUG=1 "
                "shows a traceback for an internal error. See man msgcli for the full "
                "manual.")


def conductor(opts):
    """The module that conducts this kind of run. Chosen here, not in core, as
    the many-request modes are built on core: core choosing them would be a cycle
    (and so would msgcli.cli.modes, which msgcli.cli.options imports)."""
    if modes.files_command(opts):
        from msgcli.files import commands as files_commands

        return files_commands
    if opts.batch or modes.batch_command(opts):
        from msgcli.batch import commands

        return commands
    if opts.jsonl or opts.parallel is not None:  # one request per input line
        from msgcli.jsonl import runner

        return runner
    from msgcli import core

    return core


def _seconds(value):
    return f"{value:g}"


@click.command(
    cls=MsgcliCommand,
    context_settings={"help_option_names": ["-h", "--help"],
                      "auto_envvar_prefix": "MSGCLI",
                      "max_content_width": HELP_WIDTH},
)
@click.argument("prompt", nargs=-1)
@click.option("-f", "--messages", metavar="FILE",
              type=FilePath(dir_okay=False, allow_dash=True),
              help="JSON messages array or request object ('-' = stdin).")
@click.option("-c", "--conversation", metavar="FILE", type=FilePath(dir_okay=False),
              help="Conversation file: read if it exists, reply appended, rewritten "
                   "atomically.")
@click.option("-s", "--system", metavar="TEXT", help="System prompt.")
@click.option("-m", "--model", metavar="TEXT", type=ModelName(),
              help="Model id, as the platform names it: on Bedrock "
                   "anthropic.claude-...-v1:0, an inference profile (us.anthropic..., "
                   f"global.anthropic...) or an ARN; on Vertex {defaults.VERTEX_DEFAULT_MODEL} "
                   "(claude-...@DATE). Each platform's default: man msgcli.  "
                   f"[default: {options.DEFAULT_MODEL}]")
@click.option("-t", "--max-tokens", type=Integer(0, options.MAX_API_INTEGER),
              metavar="INT",
              help="Most tokens to generate (0 pre-warms a --cache).  "
                   f"[default: {options.DEFAULT_MAX_TOKENS}]")
@click.option("--temperature", type=FiniteFloat(0), metavar="FLOAT",
              help="Sampling temperature.")
@click.option("--top-p", type=FiniteFloat(0), metavar="FLOAT", help="Nucleus sampling.")
@click.option("--top-k", type=Integer(0, options.MAX_API_INTEGER), metavar="INT",
              help="Top-k sampling.")
@click.option("-S", "--stop", multiple=True, type=Text(), metavar="TEXT",
              help="Stop sequence (repeatable).")
@click.option("-p", "--prefill", metavar="TEXT",
              help="Start of the answer; the reply continues it.")
@click.option("--hide-prefill", is_flag=True, help="Print only the continuation.")
@click.option("-i", "--image", multiple=True, type=MediaRef(),
              help="Image to send (JPEG, PNG, GIF, WebP; a file_... id; repeatable).")
@click.option("-d", "--document", multiple=True, type=MediaRef(),
              help="PDF or text document to send (a file_... id; repeatable); a file's "
                   "name is sent as its title.")
@click.option("--document-title", multiple=True, type=Text(), metavar="TEXT",
              help="Title for a -d document instead of its file name (repeatable: "
                   "the Nth titles the Nth -d; '' for none).")
@click.option("--no-document-title", is_flag=True,
              help="Send no -d document's title (a file's name is sent by default).")
@click.option("--thinking", type=Thinking(), metavar="BUDGET|adaptive|off",
              help="Extended thinking: a token budget, 'adaptive' or 'off'.")
@click.option("--show-thinking", is_flag=True, help="Write thinking text to stderr.")
@click.option("--effort", type=click.Choice(options.EFFORTS),
              help="How much effort the model spends: fewer tokens and faster "
                   "(low) or more thorough (max).")
@click.option("--schema", type=JsonSource(dict),
              help="JSON schema the answer must follow; prints one JSON line.")
@click.option("--tools", type=JsonSource(list), help="JSON array of tool definitions.")
@click.option("--tool-choice", type=ToolChoice(), metavar="auto|any|none|NAME",
              help="How tools are chosen.")
@click.option("--tool-result", nargs=2, multiple=True, type=TextPairs(), metavar="ID TEXT",
              help="Answer tool call ID with TEXT (repeatable).")
@click.option("--tool-error", nargs=2, multiple=True, type=TextPairs(), metavar="ID TEXT",
              help="Report tool call ID failed with TEXT (repeatable).")
@click.option("--web-search", is_flag=True, help="Let the model search the web.")
@click.option("--web-fetch", is_flag=True, help="Let the model fetch web pages.")
@click.option("--cache", is_flag=True,
              help="Cache the prompt's prefix (top-level cache_control).")
@click.option("--cache-ttl", type=click.Choice(options.CACHE_TTLS),
              help="Cache lifetime; implies --cache.  [default: 5m]")
@click.option("--cache-breakpoint", multiple=True,
              type=Names(options.CACHE_BREAKPOINTS), metavar="system,documents",
              help="Also cache up to the system prompt and/or the last -d document.")
@click.option("--extra", type=JsonSource(dict, paths=False),
              help="JSON object deep-merged into the request body.")
@click.option("--count-tokens", is_flag=True,
              help="Print the request's input token count instead of sending it.")
@click.option("-j", "--json", "json_", is_flag=True, envvar="MSGCLI_JSON",
              help="Print the response body as sent (JSONL events with --stream).")
@click.option("-o", "--output", metavar="FILE", type=FilePath(dir_okay=False),
              help="Write the answer to FILE atomically; an existing FILE is left "
                   "untouched when the run fails. With --jsonl: the results, "
                   "resumable.")
@click.option("--ok", multiple=True, type=OkStatus(),
              help="Count this stop reason or status as success (repeatable): exit 0 "
                   "and let -o write, e.g. --ok max_tokens.")
@click.option("-n", "--no-newline", is_flag=True, help="No trailing newline.")
@click.option("-u", "--usage", is_flag=True, help="Token usage on stderr.")
@click.option("--usage-json", is_flag=True,
              help="Usage as one JSON line on stderr (request-id, model, tokens).")
@click.option("--cost", metavar="FILE", type=Prices(),
              help="Price the usage from FILE (JSON prices per model); implies -u.")
@click.option("--citations", is_flag=True,
              help="Each citation of the answer as one JSON line on stderr.")
@click.option("--list-models", is_flag=True,
              help="Print the API's models as JSON lines (GET /v1/models) and cache "
                   "them for completion.")
@click.option("-v", "--verbose", is_flag=True,
              help="URL, status, request-id, attempts and timing on stderr.")
@click.option("--dry-run", is_flag=True,
              help="Print the request (key redacted) and exit without sending.")
@click.option("--stream/--no-stream", default=None,
              help="Print the answer as it is generated.  [default: no-stream]")
@click.option("--jsonl", is_flag=True,
              help="Many prompts: one request per stdin line (text, messages or "
                   "request object), one JSON result per line, in order; -o FILE "
                   "resumes.")
@click.option("-P", "--parallel", type=Integer(1, options.MAX_PARALLEL), metavar="N",
              help="With --jsonl, requests in flight at once (at most "
                   f"{options.MAX_PARALLEL}).  [default: {options.DEFAULT_PARALLEL}]")
@click.option("--platform", type=click.Choice(options.PLATFORMS), metavar="NAME",
              help="Where Claude is: anthropic (the Anthropic API), bedrock or "
                   "bedrock-mantle (Amazon Bedrock's InvokeModel or Messages endpoint), "
                   "vertex (Google Vertex AI), foundry (Microsoft Foundry). Model ids "
                   "and defaults differ by platform: see man msgcli, CLOUD PLATFORMS.  "
                   "[default: anthropic]")
@click.option("--base-url", type=BaseUrl(), envvar=["MSGCLI_BASE_URL", "ANTHROPIC_BASE_URL"],
              help=f"API base URL.  [default: {options.DEFAULT_BASE_URL}]")
@click.option("--api-version", default=options.DEFAULT_API_VERSION, metavar="TEXT",
              help=f"anthropic-version header.  [default: {options.DEFAULT_API_VERSION}]")
@click.option("--api-key-file", metavar="FILE", type=FilePath(dir_okay=False),
              help="Read the API key from FILE (mode 600), e.g. for cron.")
@click.option("--beta", multiple=True, type=Text(), metavar="NAME",
              help="anthropic-beta feature (repeatable).")
@click.option("-H", "--header", multiple=True, type=Header(),
              help="Extra HTTP header (repeatable).")
@click.option("--retries", type=Integer(0, options.MAX_RETRIES),
              default=options.DEFAULT_RETRIES,
              metavar="N",
              help="Retries on 408/409/429/5xx and network errors.  "
                   f"[default: {options.DEFAULT_RETRIES}]")
@click.option("--timeout", type=FiniteFloat(0, above=True, maximum=options.MAX_SECONDS),
              default=options.DEFAULT_TIMEOUT,
              metavar="SECONDS",
              help=f"Read timeout (connect: 5 s).  "
                   f"[default: {_seconds(options.DEFAULT_TIMEOUT)}]")
@click.option("--max-wait", type=FiniteFloat(0, maximum=options.MAX_SECONDS),
              default=options.DEFAULT_MAX_WAIT,
              metavar="SECONDS",
              help="Longest server-requested retry wait honoured; beyond it, give up.  "
                   f"[default: {_seconds(options.DEFAULT_MAX_WAIT)}]")
@click.option("--deadline", type=FiniteFloat(0, above=True, maximum=options.MAX_SECONDS),
              metavar="SECONDS",
              help="Give up (exit 14) when the run, retries and stream included, "
                   "takes longer; --jsonl: the lines left get status 14; --wait: "
                   "stop polling (exit 19).")
@click.option("--no-stdin", is_flag=True,
              help="Never read stdin (for loops: while read f; do msgcli ...).")
@click.option("--stdin", is_flag=True,
              help="Read stdin as well as -f/-c/-i/-d without a warning.")
@click.option("--stdin-timeout", type=FiniteFloat(0, maximum=options.MAX_SECONDS),
              default=options.DEFAULT_STDIN_TIMEOUT,
              metavar="SECONDS",
              help="With other input, how long to wait for a silent stdin pipe.  "
                   f"[default: {_seconds(options.DEFAULT_STDIN_TIMEOUT)}]")
@click.option("--batch", is_flag=True,
              help="With --jsonl: submit the lines as Message Batches (half the price, "
                   "answers within 24 h); prints each batch as one JSON line.")
@click.option("--wait", is_flag=True,
              help="With --batch or --batch-results: wait for the batches to end, "
                   "then print their results as --jsonl does.")
@click.option("--batch-results", is_flag=True,
              help="Print the results of batches ID... (the PROMPT words, or stdin).")
@click.option("--batch-status", is_flag=True,
              help="Print batches ID... as JSON lines.")
@click.option("--batch-cancel", is_flag=True,
              help="Cancel batches ID...; prints each as a JSON line.")
@click.option("--batch-list", is_flag=True,
              help="Print every batch of the workspace as JSON lines.")
@click.option("--upload", is_flag=True,
              help="Upload FILE... (the PROMPT words) to the Files API; prints each "
                   "file object as one JSON line.")
@click.option("--list-files", is_flag=True,
              help="Print every file of the workspace as JSON lines.")
@click.option("--file-info", is_flag=True,
              help="Print files ID... (the PROMPT words, or stdin) as JSON lines.")
@click.option("--delete-file", is_flag=True,
              help="Delete files ID...; prints each deletion as a JSON line.")
@click.option("--download-file", is_flag=True,
              help="Write the content of file ID to stdout, or to -o FILE atomically.")
@click.option("--upload-files", is_flag=True,
              help="Upload each local -d/-i file once (Files API, cached) and send "
                   "its id instead of base64.")
@click.version_option(__version__, "-V", "--version", prog_name="msgcli",
                      message="%(prog)s %(version)s")
def cli(**_):
    """Send a prompt to the Anthropic Messages API and print the answer.

    PROMPT words are joined with spaces. Text piped on stdin comes first, then a
    blank line, then PROMPT. Set ANTHROPIC_API_KEY.

    \b
    Examples:
      msgcli "Hello, Claude"
      git diff | msgcli -s "You review code." "Review this diff."
      msgcli --schema schema.json "Describe Paris" | jq .
      msgcli -i photo.jpg "What is in this image?"
    """
    ctx = click.get_current_context()
    return options.build(ctx, ctx.command)
