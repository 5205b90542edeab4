"""click types for options that choose among names: a model (completed from the
model list --list-models cached, never by a request per TAB) and a list of names
such as --cache-breakpoint's. Light on imports, as --help loads them.
"""

import click


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
