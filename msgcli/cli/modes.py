"""Which kind of run the options ask for, and every combination of options that
no run can honour.

A run is one request, one request per stdin line (--jsonl), the Message Batches
API (--jsonl --batch and the batch commands) or the Files API (the file
commands); msgcli.cli.command picks the module that conducts each. Every
combination is checked here, once the options are parsed, before anything is
read or sent: a usage error, exit 2. Options are named as msgcli.cli.options
spells them (`flags`, by parameter name).
"""

import click


def check(o, flags):
    _check_general(o)
    _check_batch(o, flags)
    _check_files(o, flags)
    refuse_files_on_other_platforms(o, flags)
    _check_jsonl(o)


def _check_general(o):
    if o.messages and o.conversation:
        raise click.UsageError("use either -f/--messages or -c/--conversation, not both")
    if o.prefill is not None:
        if not o.prefill.strip():
            raise click.UsageError("-p/--prefill is empty")
        if o.prefill != o.prefill.rstrip():
            raise click.UsageError("-p/--prefill cannot end with whitespace (the API "
                                   "rejects a final assistant turn that does)")
    if o.no_stdin and o.stdin:
        raise click.UsageError("use either --stdin or --no-stdin, not both")
    if o.no_stdin and o.stdin_taken:
        raise click.UsageError("'-' reads stdin, but --no-stdin says not to")
    if o.document_title and o.no_document_title:
        raise click.UsageError("use either --document-title or --no-document-title, "
                               "not both")
    if len(o.document_title) > len(o.document):
        raise click.UsageError(
            f"--document-title: {len(o.document_title)} title"
            f"{'s' * (len(o.document_title) != 1)} for {len(o.document)} document"
            f"{'s' * (len(o.document) != 1)} (-d); each title goes to the -d of the "
            "same place")
    for name, path in (("-f/--messages", o.messages), ("-c/--conversation",
                                                        o.conversation)):
        if path and "\0" in path:
            raise click.UsageError(f"{name}: not a valid file name")


BATCH_COMMANDS = ("batch_results", "batch_status", "batch_cancel", "batch_list")


def _at_most_one(given, flags):
    if len(given) > 1:
        raise click.UsageError(f"use one of {', '.join(flags[n] for n in given)}, not several")


def batch_command(o):
    """The batch command given (--batch-results, --batch-status, ...), or None."""
    return next((name for name in BATCH_COMMANDS if getattr(o, name)), None)


def _check_batch(o, flags):
    given = [name for name in BATCH_COMMANDS if getattr(o, name)]
    _at_most_one(given, flags)
    command = given[0] if given else None
    if o.batch and command:
        raise click.UsageError(f"--batch submits new batches; {flags[command]} works "
                               "on existing ones: use one or the other")
    if o.batch and not o.jsonl:
        raise click.UsageError("--batch submits the lines of --jsonl input: give --jsonl "
                               "too (msgcli --jsonl --batch < requests.jsonl)")
    if o.wait and not (o.batch or o.batch_results):
        raise click.UsageError("--wait goes with --batch or --batch-results")
    if not (o.batch or command):
        return
    name = "--batch" if o.batch else flags[command]
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


def _check_files(o, flags):
    given = [name for name in FILES_COMMANDS if getattr(o, name)]
    _at_most_one(given, flags)
    if not given:
        return
    name = flags[given[0]]
    # a file command makes no Messages request: what shapes one has no place here
    for flag, value in (("--jsonl", o.jsonl), ("--batch", o.batch),
                        ("--stream", o.stream), ("--count-tokens", o.count_tokens),
                        ("-c/--conversation", o.conversation), ("-f/--messages", o.messages),
                        ("-i/--image", o.image), ("-d/--document", o.document),
                        ("--upload-files", o.upload_files), ("--list-models", o.list_models),
                        ("-P/--parallel", o.parallel), ("--wait", o.wait),
                        ("-o/--output", o.output and given[0] != "download_file"),
                        (flags.get(batch_command(o)), batch_command(o))):
        if value:
            raise click.UsageError(f"{flag} does not go with {name}")
    if given[0] == "list_files" and o.prompt:
        raise click.UsageError("--list-files takes no file ids")


# Where the Files API is not offered (its docs: "not currently available on Amazon
# Bedrock or Vertex AI"); bedrock-mantle is Bedrock's own Messages endpoint.
def refuse_files_on_other_platforms(o, flags):
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
        uses = flags[command]
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


def _check_jsonl(opts):
    """What --jsonl cannot be combined with: stdin carries the requests, and each
    answer goes into its result line (--batch sends them whole: its --dry-run prints
    the batches)."""
    if opts.parallel is not None and not opts.jsonl:
        raise click.UsageError("-P/--parallel needs --jsonl")
    if not opts.jsonl:
        return
    for given, name in ((opts.messages, "-f/--messages"),
                        (opts.conversation, "-c/--conversation"),
                        (opts.dry_run and not opts.batch, "--dry-run"),
                        (opts.show_thinking, "--show-thinking (-j keeps thinking in "
                                             "each result's message)"),
                        ("-" in opts.image + opts.document, "-i/-d -"),
                        (opts.no_stdin, "--no-stdin")):
        if given:
            raise click.UsageError(f"--jsonl cannot be combined with {name}")
