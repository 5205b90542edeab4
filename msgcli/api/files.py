"""The Files API's vocabulary, shared by every mode: what a file id looks like,
the content block that refers to one, the size limit, and whether a request
needs the beta header.

Files were a beta (`anthropic-beta: files-api-2025-04-14`; the published OpenAPI
document has them only under its ?beta=true paths) until API version 2026-10-21,
which SDK 2.x uses without the header (its `client.files`). msgcli sends the header
with the versions before that one, its default 2023-06-01 included, and not from it
on. The URLs are those of any beta call (msgcli.api.request.build_url).
"""

import re

from msgcli.api import versions

FILES_PATH = "/v1/files"
BETA = "files-api-2025-04-14"
# The API's limit per file (its docs: 500 MB; "MB" as the API states its sizes).
MAX_FILE_BYTES = 500 * 1024 * 1024
# An id as the API makes them (file_011CNha8iCJcU1wXNR6q4V8w): the prefix and
# letters, digits, _ or -. It goes into URL paths, so nothing else is let through;
# a name with a dot or a slash (file_notes.pdf, ./file_x) is always a path.
FILE_ID = re.compile(r"file_[A-Za-z0-9_-]{1,200}")


def is_file_id(ref):
    return isinstance(ref, str) and FILE_ID.fullmatch(ref) is not None


def block(kind, file_id, title=None):
    """An `image` or `document` block whose source is an uploaded file."""
    value = {"type": kind, "source": {"type": "file", "file_id": file_id}}
    if title and kind == "document":
        value["title"] = title
    return value


def needs_beta(api_version):
    return not versions.at_least(api_version, versions.V2026_10_21)


def betas_for(api_version, betas=()):
    """--beta's names, with the files beta added when the version needs it."""
    if not needs_beta(api_version):
        return tuple(betas)
    given = {b.strip() for spec in betas for b in spec.split(",")}
    return tuple(betas) if BETA in given else tuple(betas) + (BETA,)


def refers_to_files(value):
    """Whether a request body's messages hold a block whose source is an uploaded
    file (anywhere: a tool result's content, a -f file's own blocks). Walked with a
    stack, not recursion: a deeply nested -f file is not a crash."""
    stack = [value.get("messages")] if isinstance(value, dict) else [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            source = item.get("source")
            if isinstance(source, dict) and source.get("type") == "file":
                return True
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return False


def referred_ids(body):
    """The file ids a body's messages refer to."""
    found, stack = [], [body.get("messages")] if isinstance(body, dict) else []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            source = item.get("source")
            if isinstance(source, dict) and source.get("type") == "file" and \
                    isinstance(source.get("file_id"), str):
                found.append(source["file_id"])
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return found


def gone(error, ids, hint):
    """An ApiError about a file id that no longer exists, with `hint`: a 404, or a
    400 naming one of the request's file ids. Other errors are returned as they are."""
    from msgcli.api.reply import ApiError

    text = error.api_message or ""
    if not ids or not (error.http_status == 404 or
                       (error.http_status == 400 and any(i in text for i in ids))):
        return error
    return ApiError(error.exit_code, error.http_status, error.error_type, text,
                    error.request_id, note=hint)


GONE_HINT = ("a file it refers to no longer exists (deleted, expired, or in another "
             "workspace): upload it again (--upload-files does, and keeps the new id)")
