"""Which kind of run the options ask for, and what the batch modes refuse.

A run is one request, one request per stdin line (--jsonl), or the Message
Batches API (--jsonl --batch and the batch commands; msgcli.cli.command picks the module
that conducts each). Combinations the batch modes cannot honour are usage errors
(exit 2), found here once the options are parsed, before anything is read or
sent; the general ones are in msgcli.cli.options, what --jsonl refuses in
msgcli.jsonl.runner.check.
"""

import click


def check(o):
    _check_batch(o)


BATCH_COMMANDS = ("batch_results", "batch_status", "batch_cancel", "batch_list")


def batch_command(o):
    """The batch command given (--batch-results, --batch-status, ...), or None."""
    return next((name for name in BATCH_COMMANDS if getattr(o, name)), None)


def _flag_of(name):
    return "--" + name.replace("_", "-")


def _check_batch(o):
    given = [name for name in BATCH_COMMANDS if getattr(o, name)]
    if len(given) > 1:
        raise click.UsageError(f"use one of {', '.join(map(_flag_of, given))}, not several")
    command = given[0] if given else None
    if o.batch and command:
        raise click.UsageError(f"--batch submits new batches; {_flag_of(command)} works "
                               "on existing ones: use one or the other")
    if o.batch and not o.jsonl:
        raise click.UsageError("--batch submits the lines of --jsonl input: give --jsonl "
                               "too (msgcli --jsonl --batch < requests.jsonl)")
    if o.wait and not (o.batch or o.batch_results):
        raise click.UsageError("--wait goes with --batch or --batch-results")
    if not (o.batch or command):
        return
    name = "--batch" if o.batch else _flag_of(command)
    # a batch is sent whole, answered later and read back from the API, so nothing
    # streams, counts, appends to a conversation or resumes from an output file;
    # and concurrency is the batch engine's
    for flag, value in (("--stream", o.stream), ("--count-tokens", o.count_tokens),
                        ("-c/--conversation", o.conversation), ("-o/--output", o.output),
                        ("-P/--parallel", o.parallel),
                        ("--jsonl", command and o.jsonl)):
        if value:
            raise click.UsageError(f"{flag} does not go with {name}")
    if command == "batch_list" and o.prompt:
        raise click.UsageError("--batch-list takes no batch ids")
