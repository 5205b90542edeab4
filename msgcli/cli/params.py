"""click parameter types, every one msgcli's options use: numbers that JSON and
timers can use (finite floats, whole numbers in ASCII digits, each within its
bounds), --thinking, JSON given inline or as a file, repeatable values given
through environment variables (-i/-d, -H, -S, ...), --ok, --base-url,
--tool-choice, -m (completed from the cached model list), --cache-breakpoint and
--cost's price file, each with its shell completion.

Imports nothing but click and msgcli's light option modules, so --help and
completion stay as fast as click.
"""

import math
import os

import click

from msgcli.cli.options import MAX_API_INTEGER, flag_of
from msgcli.status import ExitStatus


class FiniteFloat(click.ParamType):
    """A float that JSON and timers can use: no NaN, no infinity, within bounds."""

    name = "float"

    def __init__(self, minimum=None, above=False, maximum=None):
        self.minimum = minimum
        self.above = above
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None:
            if self.above and number <= self.minimum:
                self.fail(f"must be greater than {self.minimum:g}", param, ctx)
            if not self.above and number < self.minimum:
                self.fail(f"must be at least {self.minimum:g}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"must be at most {self.maximum:g}", param, ctx)
        return number


class Integer(click.ParamType):
    """An integer in ASCII digits, at least `minimum` and at most `maximum`.

    The digits are counted before they are converted: Python refuses to convert
    more than 4,300 of them (a ValueError that was an internal error, exit 1),
    and a value past `maximum` needs no conversion to be refused."""

    name = "integer"

    def __init__(self, minimum=None, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not (digits.isascii() and digits.isdigit()):
                self.fail(f"{value!r} is not a whole number", param, ctx)
            negative = text[:1] == "-"
            if too_many_digits(digits, self.maximum, self.minimum):
                self._out_of_range(negative, param, ctx)
            number = whole(digits, negative)
        if self.minimum is not None and number < self.minimum:
            self._out_of_range(True, param, ctx)
        if self.maximum is not None and number > self.maximum:
            self._out_of_range(False, param, ctx)
        return number

    def _out_of_range(self, below, param, ctx):
        if below and self.minimum is not None:
            self.fail(f"must be at least {self.minimum}", param, ctx)
        if not below and self.maximum is not None:
            self.fail(f"must be at most {self.maximum}", param, ctx)
        self.fail(f"has more than {_MOST_DIGITS} digits", param, ctx)


# Fewer digits than Python's own limit on converting text to int (4,300), so that a
# type without a bound still never meets it.
_MOST_DIGITS = 4000


def whole(digits, negative=False):
    """ASCII `digits` as an int, leading zeros dropped first: int() counts them
    towards its limit of 4,300 digits."""
    number = int(digits.lstrip("0") or "0")
    return -number if negative else number


def too_many_digits(digits, maximum=None, minimum=None):
    """Whether ASCII `digits` (no sign) hold more digits than any value from
    `minimum` to `maximum` has: out of range, known without converting them."""
    if maximum is None or minimum is None:
        most = _MOST_DIGITS
    else:
        most = min(len(str(max(abs(maximum), abs(minimum)))), _MOST_DIGITS)
    return len(digits.lstrip("0")) > most


class Thinking(click.ParamType):
    """--thinking: a budget in ASCII digits, 'adaptive' or 'off', as the request's
    thinking object."""

    name = "BUDGET|adaptive|off"

    def convert(self, value, param, ctx):
        if isinstance(value, dict):
            return value
        word = value.strip().lower()
        if word == "adaptive":
            return {"type": "adaptive"}
        if word in ("off", "disabled"):
            return {"type": "disabled"}
        if word.isascii() and word.isdigit():
            if too_many_digits(word, MAX_API_INTEGER, 0) or whole(word) > MAX_API_INTEGER:
                self.fail(f"the budget must be at most {MAX_API_INTEGER}", param, ctx)
            return {"type": "enabled", "budget_tokens": whole(word)}
        self.fail(f"{value!r}: give a token budget (e.g. 2048), 'adaptive' or 'off'",
                  param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        return [click.shell_completion.CompletionItem(w)
                for w in ("adaptive", "off", "2048", "8192") if w.startswith(incomplete)]


class JsonSource(click.ParamType):
    """Inline JSON, @FILE, or (with `paths`) a file name; parsed and of one kind."""

    def __init__(self, kind, paths=True):
        self.kind = kind
        self.paths = paths
        self.name = "FILE|JSON" if paths else "JSON|@FILE"

    def convert(self, value, param, ctx):
        if isinstance(value, self.kind):
            return value
        from msgcli.inputs.reading import decode_utf8, json_kind, parse_json_text, read_file_bytes

        flag = flag_of(param)
        stripped = value.lstrip()
        inline = stripped[:1] in ("{", "[")
        path = value[1:] if value.startswith("@") else None
        if path is None and not inline and self.paths and os.path.exists(value):
            path = value
        if path is not None:
            where = f"{flag} file {path!r}"
            parsed = parse_json_text(decode_utf8(read_file_bytes(path, f"{flag} file"),
                                                 where), where)
        else:
            where = flag
            try:
                parsed = parse_json_text(value, where)
            except click.UsageError:
                raise
            except Exception:
                if inline or not self.paths:
                    raise
                self.fail(f"{value!r} does not exist (and is not JSON)", param, ctx)
        if not isinstance(parsed, self.kind):
            kind = "object" if self.kind is dict else "array"
            self.fail(f"must be a JSON {kind}, not {json_kind(parsed)}", param, ctx)
        return parsed

    def shell_complete(self, ctx, param, incomplete):
        return [click.shell_completion.CompletionItem(incomplete, type="file")]


class EnvLines:
    """Mixed into the type of every repeatable option: through its environment
    variable, one value per line. click splits on whitespace, which turned
    MSGCLI_STOP='END OF ANSWER' into three stop sequences and MSGCLI_HEADER=
    'X-Team: infra' into two broken headers; a newline cannot occur in a stop
    sequence worth sending, a header, a file name or a beta name."""

    def split_envvar_value(self, rv):
        lines = [line[:-1] if line.endswith("\r") else line for line in (rv or "").split("\n")]
        if lines and lines[-1] == "":  # a final newline ends the last value
            lines.pop()
        return lines


class Text(EnvLines, click.ParamType):
    """A plain string, one per line when given through a variable."""

    name = "text"

    def convert(self, value, param, ctx):
        return value


class TextPairs(Text):
    """ID and TEXT of --tool-result/--tool-error: through a variable, on alternate
    lines. click pairs them up and would drop an unpaired last line silently."""

    def split_envvar_value(self, rv):
        lines = super().split_envvar_value(rv)
        if len(lines) % 2:
            raise click.BadParameter(f"takes an ID and a TEXT on alternate lines; got "
                                     f"{len(lines)} line{'s' * (len(lines) != 1)}")
        return lines


# --ok: statuses of a reply that has an answer to show, by name and number.
OK_NAMES = {
    "max_tokens": ExitStatus.MAX_TOKENS,
    "refusal": ExitStatus.REFUSAL,
    "tool_use": ExitStatus.TOOL_USE,
    "pause_turn": ExitStatus.PAUSE_TURN,
    "model_context_window_exceeded": ExitStatus.CONTEXT_WINDOW_EXCEEDED,
    "other": ExitStatus.OTHER_STOP_REASON,
}


class OkStatus(EnvLines, click.ParamType):
    """--ok: a stop reason (max_tokens, ...) or its exit status (3-8), as the
    ExitStatus to count as success. Failures with no answer (network, API errors)
    cannot be accepted: there is nothing to write."""

    name = "STATUS"

    def convert(self, value, param, ctx):
        if isinstance(value, ExitStatus):
            return value
        word = value.strip().lower()
        if word in OK_NAMES:
            return OK_NAMES[word]
        # the digits are compared, not converted: int() refuses thousands of them
        if word.isascii() and word.isdigit() and len(word.lstrip("0")) <= 1 and \
                int(word) in OK_NAMES.values():
            return ExitStatus(int(word))
        self.fail(f"{value!r}: give a stop reason with an answer ("
                  f"{', '.join(OK_NAMES)}) or its status (3-8)", param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        return [click.shell_completion.CompletionItem(w)
                for w in OK_NAMES if w.startswith(incomplete)]


class BaseUrl(click.ParamType):
    """--base-url: an http(s) URL, without a trailing / or /v1 (msgcli adds
    /v1/messages itself, and /v1/v1/messages is a 404 that costs a request)."""

    name = "URL"

    def convert(self, value, param, ctx):
        from urllib.parse import urlsplit

        url = value.strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is not None and "@" in parts.netloc:
            # requests would drop user:password silently, and Basic auth beside the
            # key is never what the API wants. Refused, never shown: it is a secret.
            self.fail("a user name or password in the URL is not supported (it is not "
                      "shown here); give the API key with ANTHROPIC_API_KEY or -H",
                      param, ctx)
        if parts is None or parts.scheme.lower() not in ("http", "https") \
                or not parts.netloc:
            hint = f"; did you mean http://{url} ?" if url and "://" not in url else ""
            self.fail(f"{value!r} is not an http:// or https:// URL{hint}", param, ctx)
        self._check_host(value, parts, param, ctx)
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            # msgcli appends /v1/messages to the URL as given: the path would land
            # inside the query or the fragment
            self.fail(f"{value!r}: a query (?...) or fragment (#...) in the base URL is "
                      "not supported", param, ctx)
        url = url.rstrip("/")
        if url.endswith("/v1"):
            url = url[:-3]
        return url


    def _check_host(self, value, parts, param, ctx):
        """A port out of range or a host name DNS cannot carry (an empty label, as
        in a..b) fails here, not as a network error or an internal one."""
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError as e:
            self.fail(f"{value!r}: {e}", param, ctx)
        host = parts.hostname or ""
        if not host:
            self.fail(f"{value!r} has no host name", param, ctx)
        if ":" not in host:  # an IPv6 address has no labels to check
            try:
                host.encode("idna")
            except UnicodeError:
                self.fail(f"{value!r}: the host name {host!r} has an empty label or "
                          "one over 63 characters", param, ctx)


class FilePath(click.Path):
    """click.Path, whose os.stat fails with ValueError, not OSError, on a name with
    a NUL or a lone surrogate (possible only in-process: argv holds neither)."""

    def convert(self, value, param, ctx):
        try:
            if isinstance(value, str) and b"\0" in os.fsencode(value):
                raise ValueError
        except ValueError:  # UnicodeEncodeError included
            self.fail("not a valid file name", param, ctx)
        return super().convert(value, param, ctx)


class ToolChoice(click.ParamType):
    """--tool-choice: auto, any, none or a tool's name (checked against the tools
    when the request is built)."""

    name = "auto|any|none|NAME"

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete):
        words = ["auto", "any", "none"]
        tools = ctx.params.get("tools") if ctx is not None else None
        if isinstance(tools, list):
            words += [t["name"] for t in tools
                      if isinstance(t, dict) and isinstance(t.get("name"), str)]
        return [click.shell_completion.CompletionItem(w) for w in words if w.startswith(incomplete)]


class MediaRef(EnvLines, click.ParamType):
    """-i/-d: a path, an http(s) URL or '-' for stdin; completes file names."""

    name = "PATH|URL|ID|-"

    def convert(self, value, param, ctx):
        if "\0" in value:
            self.fail("not a valid file name", param, ctx)
        return value

    def shell_complete(self, ctx, param, incomplete):
        return [click.shell_completion.CompletionItem(incomplete, type="file")]


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Header(EnvLines, click.ParamType):
    """-H 'Name: value' as (name, value). The value is never echoed in an error:
    it may be a credential."""

    name = "'NAME: VALUE'"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, rest = value.partition(":")
        name = name.strip()
        if not sep or not name or not set(name) <= _TOKEN_CHARS:
            self.fail("expected 'Name: value' (a name is letters, digits and -); the "
                      "value is not shown, as it may be a credential", param, ctx)
        return name, rest.strip()


class ModelName(click.ParamType):
    """-m/--model: any text; completes from the model list --list-models cached,
    never by a request per TAB."""

    name = "text"

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete):
        from msgcli.api.models import cached_ids

        return [click.shell_completion.CompletionItem(m)
                for m in cached_ids() if m.startswith(incomplete)]


class Names(EnvLines, click.ParamType):
    """A comma-separated list of names from `choices`, as a tuple (--cache-breakpoint)."""

    def __init__(self, choices):
        self.choices = choices
        self.name = ",".join(choices)

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
        unknown = [n for n in names if n not in self.choices]
        if unknown or not names:
            self.fail(f"{value!r}: give one or more of {', '.join(self.choices)}",
                      param, ctx)
        return names

    def shell_complete(self, ctx, param, incomplete):
        return [click.shell_completion.CompletionItem(n)
                for n in self.choices if n.startswith(incomplete)]


class Prices(JsonSource):
    """--cost: a JSON price file (format in msgcli.api.usage), checked before sending."""

    def __init__(self):
        super().__init__(dict)
        self.name = "FILE"

    def convert(self, value, param, ctx):
        prices = super().convert(value, param, ctx)
        from msgcli.api.usage import check_prices

        problem = check_prices(prices)
        if problem:
            self.fail(problem, param, ctx)
        return prices
