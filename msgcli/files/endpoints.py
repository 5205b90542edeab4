"""The Files API as calls: upload (streamed from disk), list (every page),
metadata, delete and download, each over msgcli.wire.transport, so every call has
the retries, the -v lines and the one-line errors of a Messages call.
"""

import os
from urllib.parse import quote, urlencode

from msgcli.api import files, reply
from msgcli.api.limits import megabytes
from msgcli.api.request import build_url
from msgcli.errors import BadResponseError, InputError, NetworkError
from msgcli.wire.multipart import FileBody, FileChangedError

LIST_PAGE_SIZE = 1000  # the API's largest page
_READ_SIZE = 1024 * 1024


def check_file_id(file_id):
    if not files.is_file_id(file_id):
        raise InputError(f"{file_id!r} is not a file id (like file_011CNha8...)")
    return file_id


def check_file(value, what):
    """A file object, with the fields msgcli reads of the right kinds."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or \
            not files.is_file_id(value["id"]):
        raise BadResponseError(f"{what}: not a file object (no file id)")
    return value


def file_size(path):
    """The size of a regular file, refused before anything is sent when it is not
    one or is over the API's limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path!r} does not exist") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{path!r} cannot be read: {getattr(e, 'strerror', None) or e}") \
            from None
    import stat

    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path!r} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path!r} is not a regular file (an upload must know its size)")
    if info.st_size > files.MAX_FILE_BYTES:
        raise InputError(f"{path!r} is {megabytes(info.st_size)}; the Files API accepts "
                         f"files of at most {megabytes(files.MAX_FILE_BYTES)}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path!r} cannot be read: permission denied")
    return info.st_size


class Api:
    """The files endpoints under one base URL, with one set of headers."""

    def __init__(self, transport, base_url, headers):
        self.transport = transport
        self.base_url = base_url
        self.headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}

    def url(self, *parts, query=None):
        path = "/".join((files.FILES_PATH,) + tuple(quote(p, safe="") for p in parts))
        url = build_url(self.base_url, path)
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        return url

    def _json(self, method, url, data=None, headers=None):
        response = self.transport.request(method, url, headers or self.headers, data)
        raw = self.transport.read_body(response)
        reply.kind(response.status_code, response.headers.get("content-type"))
        return reply.json_object(raw, response.status_code)

    def upload(self, path, filename, mime_type, size=None, progress=None):
        """Upload a file, read from disk as it is sent; its file object."""
        size = file_size(path) if size is None else size
        body = FileBody(path, size, filename, mime_type, progress=progress)
        headers = dict(self.headers, **{"content-type": body.content_type})
        try:
            value = self._json("POST", self.url(), body, headers)
        except FileChangedError:
            raise InputError(f"{path!r} changed while it was being uploaded; nothing "
                             "was kept") from None
        except OSError as e:  # reading the file, between network writes
            raise InputError(f"{path!r} cannot be read: {e.strerror or e}") from None
        return check_file(value, f"the upload of {path!r}")

    def retrieve(self, file_id):
        return check_file(self._json("GET", self.url(check_file_id(file_id))),
                          f"file {file_id}")

    def delete(self, file_id):
        value = self._json("DELETE", self.url(check_file_id(file_id)))
        if not isinstance(value.get("id"), str):
            raise BadResponseError(f"the delete reply for {file_id} names no file")
        return value

    def list(self):
        """Every file, page after page: the cursor of the API version in use, a
        `next_page` token (2026-10-21 on) or `has_more` and `last_id` (before)."""
        query = {"limit": LIST_PAGE_SIZE}
        seen = set()
        while True:
            page = self._json("GET", self.url(query=query))
            data = page.get("data")
            if not isinstance(data, list):
                raise BadResponseError("the file list reply has no data array")
            for item in data:
                yield check_file(item, "a listed file")
            token = page.get("next_page")
            if isinstance(token, str) and token:
                cursor = ("page", token)
            elif page.get("has_more") is True and data:
                last = page.get("last_id")
                cursor = ("after_id", last if isinstance(last, str) else None)
            else:
                return
            if cursor[1] is None or cursor in seen:
                raise BadResponseError("the file list says it has more but gives no "
                                       "new cursor to continue from")
            seen.add(cursor)
            query = {"limit": LIST_PAGE_SIZE, cursor[0]: cursor[1]}

    def download(self, file_id):
        """The file's bytes, as they arrive, at most the API's file size limit."""
        headers = dict(self.headers, accept="application/binary, */*;q=0.1")
        response = self.transport.request("GET", self.url(check_file_id(file_id),
                                                          "content"), headers)
        import requests

        received = 0
        try:
            for chunk in response.iter_content(_READ_SIZE):
                received += len(chunk)
                if received > files.MAX_FILE_BYTES:
                    raise BadResponseError(f"file {file_id} is over "
                                           f"{megabytes(files.MAX_FILE_BYTES)}; msgcli "
                                           "stops reading there")
                yield chunk
        except requests.RequestException as e:
            from msgcli.wire.neterrors import describe_network_error

            raise NetworkError(f"the download of {file_id} broke: "
                               f"{describe_network_error(e)}") from None
        finally:
            response.close()
