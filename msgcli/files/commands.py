"""The file modes: --upload FILE... (one JSON line per file object), --list-files
(every page, JSON lines), --file-info ID..., --delete-file ID... and
--download-file ID (to stdout, or to -o FILE atomically).

Everything that can be checked is checked before the first call: the paths, their
sizes against the API's limit, the ids' form, -o's directory.
"""

import errno
import os
import sys

from msgcli import core
from msgcli.api import files, request
from msgcli.api.defaults import DEFAULT_BASE_URL
from msgcli.api.reply import ApiError
from msgcli.cli.modes import files_command
from msgcli.errors import InputError
from msgcli.files import endpoints, uploads
from msgcli.inputs import reading
from msgcli.output import render
from msgcli.output.console import Stdout
from msgcli.status import ExitStatus
from msgcli.wire.multipart import Rate

NOT_FOUND_HINT = ("no such file in this workspace: deleted, expired, or uploaded "
                  "with a key of another workspace (msgcli --list-files lists them)")


def run(opts, console):
    from msgcli.wire.waits import alarm

    with alarm(opts.deadline):  # --deadline bounds the whole command, as a request
        return _run(opts, console)


def _run(opts, console):
    command = files_command(opts)
    headers = request.headers_for(opts, core.credentials(opts, console), console.redactor,
                                  uses_files=True)
    base_url = opts.base_url or DEFAULT_BASE_URL
    out = Stdout(console.redactor)
    if command == "upload":
        if not opts.prompt:
            raise InputError("give the files to upload: msgcli --upload FILE...")
        targets = [(path, endpoints.file_size(path), uploads.mime_type(path))
                   for path in dict.fromkeys(opts.prompt)]
    elif command == "list_files":
        targets = [None]
    else:
        targets = file_ids(opts)
        if command == "download_file" and len(targets) != 1:
            raise InputError("--download-file takes one file id")
    output = None
    if opts.output and not opts.dry_run:
        from msgcli.output.atomic import check_writable

        output = check_writable(opts.output, "output file")
    api = endpoints.Api(None, base_url, headers)
    if opts.dry_run:
        return dry_run_calls(opts, command, targets, api, out)
    request.require_credentials(headers)
    from msgcli.wire.transport import Transport

    with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                      verbose=opts.verbose,
                                      max_wait=opts.max_wait) as transport:
        api.transport = transport
        if command == "download_file":
            return download(api, targets[0], output, opts)
        for target in targets:
            try:
                shown = _call(api, command, target, console)
            except ApiError as e:
                if e.http_status != 404 or command in ("upload", "list_files"):
                    raise
                raise files.gone(e, [target], NOT_FOUND_HINT) from None
            for value in shown:
                out.write(render.compact_json(value) + "\n")
                out.flush()
    return ExitStatus.OK


def _call(api, command, target, console):
    if command == "list_files":
        return api.list()
    if command == "upload":
        path, size, mime = target
        name = os.path.basename(path)
        try:
            value = api.upload(path, name, mime, size,
                               progress=Rate(console.status, name)
                               if console.is_terminal() else None)
        finally:
            console.clear_status()
        return [value]
    if command == "delete_file":
        return [api.delete(target)]
    return [api.retrieve(target)]


def download(api, file_id, output, opts):
    try:
        chunks = api.download(file_id)
        first = next(chunks, b"")  # the status: a 404 fails before -o is touched
    except ApiError as e:
        if e.http_status != 404:
            raise
        raise files.gone(e, [file_id], NOT_FOUND_HINT) from None

    if output is not None:  # bytes as they arrive, never held whole
        from msgcli.output.atomic import replacing

        with replacing(output, "output file") as f:
            f.write(first)
            for chunk in chunks:
                f.write(chunk)
        return ExitStatus.OK
    stdout = getattr(sys.stdout, "buffer", sys.stdout)
    if stdout is None:
        raise OSError(errno.EBADF, "stdout is closed")
    stdout.write(first)
    for chunk in chunks:
        stdout.write(chunk)
    stdout.flush()
    return ExitStatus.OK


def file_ids(opts):
    """The file ids: the PROMPT words, or else stdin's lines (each an id, or a file
    object as --list-files prints, so its output can be piped in)."""
    words = reading.ids_given(opts, "file ids", "file_...")
    return list(dict.fromkeys(endpoints.check_file_id(w) for w in words))


def dry_run_calls(opts, command, targets, api, out):
    for target in targets:
        if command == "list_files":
            call = ("GET", api.url(query={"limit": endpoints.LIST_PAGE_SIZE}), None)
        elif command == "upload":
            path, size, mime = target
            call = ("POST", api.url(), {"file": {"filename": os.path.basename(path),
                                                 "content_type": mime,
                                                 "size_bytes": size}})
        elif command == "delete_file":
            call = ("DELETE", api.url(target), None)
        elif command == "download_file":
            call = ("GET", api.url(target, "content"), None)
        else:
            call = ("GET", api.url(target), None)
        method, url, body = call
        render.dry_run(opts.replace(json=False),
                       request.Request(url, api.headers, body, method=method), out)
    return ExitStatus.OK
