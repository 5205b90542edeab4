"""A local stand-in for the Files API (and a Messages endpoint that reads file
ids), as a pytest-httpserver handler.

It behaves as the API documents: an upload is one multipart/form-data field,
`file`, parsed here twice, strictly by hand (boundary, part headers, exact bytes,
Content-Length) and by werkzeug's form parser, and any disagreement is a 400 kept
in `bad`; the list is paged (`limit`, capped at `page_limit`), with the cursor of
the beta (`after_id`, `has_more`, `last_id`) or, with `next_page=True`, of API
version 2026-10-21 (`page`, `next_page`); an unknown id is a 404
not_found_error, in the files endpoints and in a Messages request that refers to
it. Every call is logged in `calls` as (method, path, query, headers).
"""

import itertools
import json
import re

from werkzeug import Response

from tests.conftest import message

_PATH = re.compile(r"^/v1/files(?:/(?P<id>[^/]+))?(?P<content>/content)?$")


def not_found(file_id):
    return Response(json.dumps({"type": "error", "error": {
        "type": "not_found_error", "message": f"File not found: {file_id}"}}),
        status=404, content_type="application/json")


def parse_multipart(request):
    """(filename, content type, bytes) of the one `file` part, or raise ValueError."""
    match = re.fullmatch(r'multipart/form-data; boundary=("?)([^";]{1,70})\1',
                         request.headers.get("content-type", ""))
    if not match:
        raise ValueError(f"not multipart/form-data: {request.headers.get('content-type')}")
    boundary = match.group(2).encode()
    data = request.get_data()
    if int(request.headers.get("content-length", -1)) != len(data):
        raise ValueError("Content-Length is not the body's length")
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"--" + boundary + b"\r\n") or not sep:
        raise ValueError("the body does not start with the boundary")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    disposition = headers.get(b"Content-Disposition", b"").decode()
    found = re.fullmatch(r'form-data; name="file"; filename="([^"]*)"', disposition)
    if not found or b"Content-Type" not in headers:
        raise ValueError(f"not a file part: {headers}")
    end = b"\r\n--" + boundary + b"--\r\n"
    if not rest.endswith(end) or (b"\r\n--" + boundary) in rest[:-len(end)]:
        raise ValueError("the body does not end with the closing boundary, or has "
                         "more than one part")
    content = rest[:-len(end)]
    # and a real parser agrees
    upload = request.files.get("file")
    if upload is None or upload.read() != content or \
            upload.filename != found.group(1):
        raise ValueError("werkzeug's parser reads another file")
    return found.group(1), headers[b"Content-Type"].decode(), content


class FilesApi:
    def __init__(self, httpserver, page_limit=2, next_page=False):
        self.server = httpserver
        self.base = httpserver.url_for("/").rstrip("/")
        self.page_limit = page_limit
        self.next_page = next_page
        self.files = {}  # id -> (object, bytes)
        self.calls = []
        self.uploads = []  # (filename, content type, size) of each upload
        self.messages = []  # Messages request bodies
        self.bad = []
        self._ids = itertools.count(1)
        httpserver.expect_request(re.compile(r"^/v1/files.*")) \
            .respond_with_handler(self.handle)
        httpserver.expect_request("/v1/messages", method="POST") \
            .respond_with_handler(self.handle_message)

    def add(self, content=b"%PDF-1.4\n%%EOF\n", filename="a.pdf",
            mime_type="application/pdf", file_id=None):
        """A file that exists already, as if uploaded by another run."""
        file_id = file_id or f"file_{next(self._ids):04d}TESTid"
        value = {"id": file_id, "type": "file", "filename": filename,
                 "mime_type": mime_type, "size_bytes": len(content),
                 "created_at": "2026-12-01T10:00:00Z", "downloadable": True}
        self.files[file_id] = (value, content)
        return value

    def handle(self, request):
        self.calls.append((request.method, request.path, request.args.to_dict(),
                           dict(request.headers)))
        match = _PATH.match(request.path)
        file_id, content = match.group("id"), match.group("content")
        if request.method == "POST" and file_id is None:
            try:
                filename, mime_type, data = parse_multipart(request)
            except ValueError as e:
                self.bad.append(str(e))
                return Response(json.dumps({"type": "error", "error": {
                    "type": "invalid_request_error", "message": str(e)}}), status=400,
                    content_type="application/json")
            self.uploads.append((filename, mime_type, len(data)))
            value = self.add(data, filename, mime_type)
            value["downloadable"] = False  # as the API: uploads are not downloadable
            return Response(json.dumps(value), content_type="application/json")
        if request.method == "GET" and file_id is None:
            return self.list_page(request.args)
        if file_id not in self.files:
            return not_found(file_id)
        value, data = self.files[file_id]
        if request.method == "DELETE":
            del self.files[file_id]
            return Response(json.dumps({"id": file_id, "type": "file_deleted"}),
                            content_type="application/json")
        if content:
            return Response(data, content_type="application/octet-stream")
        return Response(json.dumps(value), content_type="application/json")

    def list_page(self, args):
        ids = list(self.files)
        limit = min(int(args.get("limit", 20)), self.page_limit)
        start = 0
        cursor = args.get("page") if self.next_page else args.get("after_id")
        if cursor:
            start = ids.index(cursor.removeprefix("page_")) + 1
        page = ids[start:start + limit]
        more = start + limit < len(ids)
        body = {"data": [self.files[i][0] for i in page]}
        if self.next_page:
            body["next_page"] = f"page_{page[-1]}" if more else None
        else:
            body.update(has_more=more, first_id=page[0] if page else None,
                        last_id=page[-1] if page else None)
        return Response(json.dumps(body), content_type="application/json")

    def handle_message(self, request):
        body = json.loads(request.get_data())
        self.calls.append((request.method, request.path, request.args.to_dict(),
                           dict(request.headers)))
        self.messages.append(body)
        for turn in body["messages"]:
            for block in turn["content"] if isinstance(turn["content"], list) else ():
                source = block.get("source") or {}
                if source.get("type") == "file" and source["file_id"] not in self.files:
                    return not_found(source["file_id"])
        return Response(json.dumps(message("Read it.")), content_type="application/json",
                        headers={"request-id": "req_files"})
