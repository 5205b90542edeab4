"""The options: each default and each maximum in one place, and the frozen Options
that the rest of msgcli reads, built once the click types (msgcli.cli.params)
have parsed and checked every value at the edge and msgcli.cli.modes has checked
how they combine.

A value that cannot be right (a NaN timeout, a thinking budget in superscript
digits, a header without a colon, text that is not UTF-8) is a usage error here,
exit 2, before anything is read or sent.
"""

from __future__ import annotations

import os

import click

from msgcli.api.defaults import (  # noqa: F401  (the defaults the options show)
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
)
from msgcli.cli import modes

DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 600.0
DEFAULT_STDIN_TIMEOUT = 2.0
DEFAULT_PARALLEL = 8  # --jsonl: see msgcli.jsonl.runner for why
DEFAULT_MAX_WAIT = 600.0  # the longest retry-after honoured: --timeout's default
CACHE_TTLS = ("5m", "1h")
CACHE_BREAKPOINTS = ("system", "documents")
# The longest wait --timeout and --stdin-timeout take (about 11.6 days): far beyond
# any real wait, and far below what select() and socket timeouts overflow at.
MAX_SECONDS = 1e6
EFFORTS = ("low", "medium", "high", "xhigh", "max")
# -P makes a worker thread, a queue slot and a pooled connection per request in
# flight. The API's rate limits make a few hundred the most any account keeps busy
# (4,000 requests a minute at ~10 s each is ~700 in flight; output-token limits
# bind long before), and 1024 is also the usual limit on a process's open files
# (ulimit -n), which as many connections would reach anyway. Past it, exit 2: a
# million made 931 MB of threads before the first request.
MAX_PARALLEL = 1024
# Each retry waits (backoff up to 8 s, or the server's retry-after up to
# --max-wait) and keeps its history: 100 is over 13 minutes of backoff alone, far
# past what a transient failure needs (use --deadline to bound a run by time).
MAX_RETRIES = 100
# -t, --top-k and the --thinking budget are only sent: the API checks them against
# the model (the largest context window is 1M tokens). This ceiling, 2,000 times
# that, keeps each a number that every JSON reader holds exactly, and refuses
# thousands of digits before Python's int() would (exit 1).
MAX_API_INTEGER = 2**31 - 1


class Options:
    """Every option after parsing, frozen. None means "not given" wherever a
    messages file or a default may supply the value instead.

    A plain annotated class rather than a NamedTuple or dataclass: building one of
    those for forty fields costs --help several milliseconds at start-up."""

    prompt: tuple = ()
    messages: str | None = None
    conversation: str | None = None
    system: str | None = None
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple = ()
    prefill: str | None = None
    hide_prefill: bool = False
    image: tuple = ()
    document: tuple = ()
    document_title: tuple = ()
    no_document_title: bool = False
    thinking: dict | None = None
    show_thinking: bool = False
    effort: str | None = None
    schema: dict | None = None
    tools: list | None = None
    tool_choice: str | None = None
    tool_result: tuple = ()
    tool_error: tuple = ()
    extra: dict | None = None
    count_tokens: bool = False
    json: bool = False
    output: str | None = None
    no_newline: bool = False
    usage: bool = False
    verbose: bool = False
    dry_run: bool = False
    stream: bool | None = None
    base_url: str | None = None
    api_version: str = DEFAULT_API_VERSION
    beta: tuple = ()
    header: tuple = ()
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    stdin_timeout: float = DEFAULT_STDIN_TIMEOUT
    no_stdin: bool = False
    stdin: bool = False
    ok: tuple = ()
    api_key_file: str | None = None
    jsonl: bool = False
    parallel: int | None = None
    batch: bool = False
    wait: bool = False
    batch_results: bool = False
    batch_status: bool = False
    batch_cancel: bool = False
    batch_list: bool = False
    max_wait: float = DEFAULT_MAX_WAIT
    deadline: float | None = None
    cache: bool = False
    cache_ttl: str | None = None
    cache_breakpoint: tuple = ()
    usage_json: bool = False
    cost: dict | None = None
    list_models: bool = False
    web_search: bool = False
    web_fetch: bool = False
    citations: bool = False
    upload: bool = False
    list_files: bool = False
    file_info: bool = False
    delete_file: bool = False
    download_file: bool = False
    upload_files: bool = False
    # None: the Anthropic API with a key or token (msgcli.platforms is never loaded);
    # otherwise the platform that msgcli.platforms loads (see platform_of)
    platform: str | None = None

    def __init__(self, **values):
        fields = type(self).__annotations__
        unknown = set(values) - set(fields)
        if unknown:
            raise TypeError(f"unknown options: {sorted(unknown)}")
        for name in fields:
            object.__setattr__(self, name, values.get(name, getattr(type(self), name)))

    def __setattr__(self, name, value):
        raise AttributeError("Options are frozen; use replace()")

    def replace(self, **changes):
        """A copy with some values changed."""
        return Options(**{**vars(self), **changes})

    def __repr__(self):
        return f"Options({vars(self)!r})"

    @property
    def stdin_taken(self):
        """Whether an option already reads stdin ('-'), so it is not also the prompt."""
        return self.messages == "-" or "-" in self.image or "-" in self.document


def flag_of(param):
    """How msgcli names an option in a message: -P/--parallel, --batch-results."""
    if param is None:
        return "value"
    if isinstance(param, click.Argument):
        return param.human_readable_name
    longs = [o for o in param.opts if o.startswith("--")]
    return "/".join(sorted(param.opts, key=len)) if len(param.opts) > 1 else \
        (longs or param.opts)[0]


def source_name(param, argv=()):
    """How the user gave a parameter: its flag, or, when the command line does not
    hold it, the environment variable it came from."""
    flag = flag_of(param)
    if param is None or isinstance(param, click.Argument) or not param.name:
        return flag
    for arg in argv:
        for opt in param.opts + param.secondary_opts:
            if arg == opt or arg.startswith(opt + "=") or \
                    (len(opt) == 2 and not arg.startswith("--") and arg.startswith(opt)):
                return flag
    envvar = getattr(param, "envvar", None)
    names = list(envvar) if isinstance(envvar, (list, tuple)) else [envvar]
    names.append(f"MSGCLI_{param.name.upper()}")
    return next((name for name in names if name and name in os.environ), flag)


def _not_utf8(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_text(ctx, command):
    """A non-UTF-8 byte in an argument arrives as a lone surrogate (Python's
    surrogateescape); it could never be sent, so it is an input error that names
    where it came from."""
    for param in command.params:
        value = ctx.params.get(param.name)
        values = value if isinstance(value, tuple) else (value,)
        flat = [v for item in values for v in (item if isinstance(item, tuple) else (item,))]
        if any(isinstance(v, str) and _not_utf8(v) for v in flat):
            raise click.BadParameter("is not valid UTF-8 (check the locale and the "
                                     "bytes given)", ctx=ctx, param=param)


PLATFORMS = ("anthropic", "bedrock", "bedrock-mantle", "vertex", "foundry")
# The SDK's and Claude Code's switches, honoured so that a job set up for them works
_PLATFORM_SWITCHES = (("CLAUDE_CODE_USE_BEDROCK", "bedrock"),
                      ("CLAUDE_CODE_USE_VERTEX", "vertex"),
                      ("CLAUDE_CODE_USE_FOUNDRY", "foundry"))


def _switched_on(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def platform_of(chosen, api_key_file=None):
    """The platform to load, or None for the Anthropic API with a key: --platform
    (MSGCLI_PLATFORM), else CLAUDE_CODE_USE_*; "anthropic" stays None unless workload
    identity federation is set up and no key or token wins over it (as in the SDK)."""
    if chosen is None:
        chosen = next((name for var, name in _PLATFORM_SWITCHES if _switched_on(var)),
                      "anthropic")
    if chosen != "anthropic":
        return chosen
    if os.environ.get("ANTHROPIC_FEDERATION_RULE_ID") and not (
            api_key_file or os.environ.get("ANTHROPIC_API_KEY")
            or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        return "anthropic"
    return None


def build(ctx, command):
    """The Options for a parsed command line."""
    _check_text(ctx, command)
    params = dict(ctx.params)
    params["platform"] = platform_of(params.get("platform"), params.get("api_key_file"))
    params["json"] = params.pop("json_", False)
    params["cache_breakpoint"] = tuple(dict.fromkeys(
        name for names in params.get("cache_breakpoint", ()) for name in names))
    options = Options(**params)
    modes.check(options, {param.name: flag_of(param) for param in command.params})
    return options
