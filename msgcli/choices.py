"""click types for the options of newer API features: a model (completed from the
model list --list-models cached, never by a request per TAB), a list of names such
as --cache-breakpoint's, and --cost's price file. Light on imports, as --help
loads them.
"""

import click

from msgcli.options import JsonSource


class ModelName(click.ParamType):
    """-m/--model: any text; completes from the model list --list-models cached,
    never from a request."""

    name = "text"

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete):
        from msgcli.models import cached_ids

        return [click.shell_completion.CompletionItem(m)
                for m in cached_ids() if m.startswith(incomplete)]


class Names(click.ParamType):
    """A comma-separated list of names from `choices`, as a tuple."""

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
    """--cost: a JSON price file (format in msgcli.usage), checked before sending."""

    def __init__(self):
        super().__init__(dict)
        self.name = "FILE"

    def convert(self, value, param, ctx):
        prices = super().convert(value, param, ctx)
        from msgcli.usage import check_prices

        problem = check_prices(prices)
        if problem:
            self.fail(problem, param, ctx)
        return prices
