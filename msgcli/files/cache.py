"""The upload cache: which file, uploaded by which account, has which Files API id,
so that a second run (or the ten thousand lines of one) does not upload it again.

One JSON file, $XDG_CACHE_HOME/msgcli/files.json, private to the user (0600 in a
0700 directory) and replaced atomically. An entry's key is the file's SHA-256 and
the account: a SHA-256 of the base URL and the credential, never the credential
itself. A lost or broken cache costs an upload, never a failure.
"""

import hashlib
import json
import os

from msgcli.api.models import cache_path as _models_cache_path
from msgcli.errors import InputError
from msgcli.output import atomic

MAX_ENTRIES = 1000  # the oldest are dropped beyond this
MAX_CACHE_BYTES = 4 * 1024 * 1024


def cache_path():
    return os.path.join(os.path.dirname(_models_cache_path()), "files.json")


def account(base_url, credentials):
    """Who uploads: the same file uploaded with another key (or to another server)
    is another upload. A one-way hash: the cache never holds the credential."""
    digest = hashlib.sha256(b"msgcli files cache\0")
    for part in (base_url.rstrip("/"), *(c or "" for c in credentials)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def file_digest(path):
    """The SHA-256 of a file's contents, read a piece at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            piece = f.read(1024 * 1024)
            if not piece:
                break
            digest.update(piece)
    return digest.hexdigest()


def _key(sha256, who):
    return f"{sha256}:{who}"


def read():
    """{key: entry}; empty when there is no cache or it cannot be read."""
    try:
        with open(cache_path(), "rb") as f:
            value = json.loads(f.read(MAX_CACHE_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    entries = value.get("files") if isinstance(value, dict) else None
    return {k: v for k, v in entries.items() if isinstance(v, dict)} \
        if isinstance(entries, dict) else {}


def lookup(entries, sha256, who):
    entry = entries.get(_key(sha256, who))
    file_id = entry.get("id") if entry else None
    return file_id if isinstance(file_id, str) else None


def remember(sha256, who, file_object, console=None):
    """Record an upload; the cache is read again first, so that runs in parallel
    lose at most each other's newest entry, never the file."""
    entries = read()
    entries.pop(_key(sha256, who), None)
    entries[_key(sha256, who)] = {"id": file_object["id"],
                                  "size_bytes": file_object.get("size_bytes")}
    while len(entries) > MAX_ENTRIES:
        entries.pop(next(iter(entries)))
    _write(entries, console)


def forget(sha256, who, console=None):
    entries = read()
    if entries.pop(_key(sha256, who), None) is not None:
        _write(entries, console)


def _write(entries, console):
    path = cache_path()
    try:
        atomic.write_private(path, json.dumps({"files": entries}), "the upload cache")
    except InputError as e:
        if console is not None:
            console.line(f"the upload was not cached: {e.message}")
