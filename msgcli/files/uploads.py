"""--upload-files: every local -d/-i file goes to the Files API once, and the
requests refer to it by id instead of carrying it as base64.

Once per run: the files are uploaded (or found in msgcli.files.cache, and a cached
id checked with one metadata GET) before the first request is built, so one run,
its --jsonl lines and its batches all use the same id. The types are sniffed from
the first bytes, as msgcli.inputs.media does for base64, and a file over the
API's limit is refused before anything is sent.
"""

import os

from msgcli.api.defaults import DEFAULT_BASE_URL
from msgcli.api.reply import ApiError
from msgcli.errors import InputError
from msgcli.files import cache, endpoints
from msgcli.inputs import media
from msgcli.wire.multipart import Rate

_HEAD = 64 * 1024


def _head(path):
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD)
    except OSError as e:
        raise InputError(f"{path!r} cannot be read: {e.strerror or e}") from None


def mime_type(path, kind=None):
    """The media type of a file, from its first bytes; for an -i or -d file
    (`kind` "image" or "document") one the API reads, or an InputError."""
    head = _head(path)
    image = media.sniff_image(head)
    if kind == "image":
        if image is None:
            raise InputError(f"image {path!r} is not JPEG, PNG, GIF or WebP")
        return image
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    text = b"\x00" not in head and image is None and _utf8_start(head)
    if kind == "document" and not text:
        raise InputError(f"document {path!r} is neither a PDF nor a text file")
    if text:
        return "text/plain"
    if image:
        return image
    import mimetypes

    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _utf8_start(head):
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def local_paths(opts):
    """(path, kind) of each -i/-d that names a local file: not '-', a URL or an id."""
    found = {}
    for kind, refs in (("image", opts.image), ("document", opts.document)):
        for ref in refs:
            if ref == "-" or media.is_url(ref) or media.uploaded_file(ref) is not None:
                continue
            found.setdefault(ref, kind)
    return list(found.items())


def upload_media(opts, console, credentials):
    """{path: file id} for every local -i/-d file, each uploaded at most once."""
    paths = local_paths(opts)
    if not paths:
        return {}
    sizes = {path: endpoints.file_size(path) for path, _ in paths}  # all, before any
    types = {path: mime_type(path, kind) for path, kind in paths}
    base_url = opts.base_url or DEFAULT_BASE_URL
    from msgcli.api.request import SECRET_HEADERS

    # a key given with -H is the account as much as one from the environment
    who = cache.account(base_url, tuple(credentials) + tuple(
        value for name, value in opts.header if name.lower() in SECRET_HEADERS))
    entries = cache.read()
    digests = {path: cache.file_digest(path) for path, _ in paths}
    if opts.dry_run:  # nothing is sent: a cached id, or a stand-in for the upload
        return {path: cache.lookup(entries, digests[path], who) or
                f"(the upload of {path})" for path, _ in paths}
    from msgcli.api.request import headers_for, require_credentials
    from msgcli.wire.transport import Transport

    headers = headers_for(opts, credentials, console.redactor, uses_files=True)
    require_credentials(headers)
    uploaded = {}
    with Transport(opts.retries, opts.timeout, console, verbose=opts.verbose,
                   max_wait=opts.max_wait) as transport:
        api = endpoints.Api(transport, base_url, headers)
        for path, _ in paths:
            uploaded[path] = _one(api, path, sizes[path], types[path], digests[path], who,
                                  entries, console, opts.verbose)
    return uploaded


def _one(api, path, size, mime, digest, who, entries, console, verbose):
    file_id = cache.lookup(entries, digest, who)
    if file_id is not None:
        try:
            found = api.retrieve(file_id)
        except ApiError as e:
            if e.http_status != 404:
                raise
            cache.forget(digest, who, console)
        else:
            if found.get("size_bytes") in (None, size):
                if verbose:
                    console.line(f"{path}: already uploaded as {file_id}")
                return file_id
    try:
        value = api.upload(path, os.path.basename(path), mime, size,
                           progress=Rate(console.status, os.path.basename(path))
                           if console.is_terminal() else None)
    finally:
        console.clear_status()
    cache.remember(digest, who, value, console)
    if verbose:
        console.line(f"{path}: uploaded as {value['id']}")
    return value["id"]
