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
    _check_files(o)
    refuse_files_on_other_platforms(o)


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


FILES_COMMANDS = ("upload", "list_files", "file_info", "delete_file", "download_file")


def files_command(o):
    """The file command given (--upload, --list-files, ...), or None."""
    return next((name for name in FILES_COMMANDS if getattr(o, name)), None)


def _check_files(o):
    given = [name for name in FILES_COMMANDS if getattr(o, name)]
    if len(given) > 1:
        raise click.UsageError(f"use one of {', '.join(map(_flag_of, given))}, not several")
    if not given:
        return
    name = _flag_of(given[0])
    # a file command makes no Messages request: what shapes one has no place here
    for flag, value in (("--jsonl", o.jsonl), ("--batch", o.batch),
                        ("--stream", o.stream), ("--count-tokens", o.count_tokens),
                        ("-c/--conversation", o.conversation), ("-f/--messages", o.messages),
                        ("-i/--image", o.image), ("-d/--document", o.document),
                        ("--upload-files", o.upload_files), ("--list-models", o.list_models),
                        ("-P/--parallel", o.parallel), ("--wait", o.wait),
                        ("-o/--output", o.output and given[0] != "download_file"),
                        (_flag_of(batch_command(o) or ""), batch_command(o))):
        if value:
            raise click.UsageError(f"{flag} does not go with {name}")
    if given[0] == "list_files" and o.prompt:
        raise click.UsageError("--list-files takes no file ids")


# Where the Files API is not offered (its docs: "not currently available on Amazon
# Bedrock or Vertex AI"); bedrock-mantle is Bedrock's own Messages endpoint.
def refuse_files_on_other_platforms(o):
    """A file command, --upload-files or a file_... id in -d/-i goes to the Anthropic
    API with a key or token only: Bedrock and Vertex have no Files API, and msgcli
    does not route the Files API through Foundry or federation (yet). A usage error,
    before any request."""
    platform = getattr(o, "platform", None)
    if platform is None:
        return
    import os

    from msgcli.api.files import is_file_id

    command = files_command(o)
    if command:
        uses = _flag_of(command)
    elif o.upload_files:
        uses = "--upload-files"
    else:  # an id given to -d/-i (an existing file of that name is a path)
        uses = next((f"{flag} {ref}" for flag, refs in (("-d", o.document), ("-i", o.image))
                     for ref in refs if is_file_id(ref) and not os.path.lexists(ref)), None)
    if uses:
        where = "with workload identity federation" if platform == "anthropic" \
            else f"on --platform {platform}"
        raise click.UsageError(f"{uses}: msgcli sends the Files API no requests {where}; "
                               "use the Anthropic API with a key or token")
