"""The Message Batches API as calls: create, retrieve, cancel, list (every page)
and the results file, each over msgcli.wire.transport, so every call has the retries,
the -v lines and the one-line errors of a Messages call.

Also the two things a batch is made of on the way out: the create body, spooled
to a temporary file and split at the API's limits (msgcli.api.limits), and the
results file, read line by line as it arrives and never held whole.
"""

import functools
import json
import re
import tempfile
from urllib.parse import urlencode, urljoin, urlsplit

from msgcli.api import limits, reply
from msgcli.api.request import build_url, encode_body
from msgcli.errors import BadResponseError, InputError

BATCHES_PATH = "/v1/messages/batches"
PROCESSING_STATUSES = ("in_progress", "canceling", "ended")
# The API's own custom_id rule (CreateMessageBatchParams); fullmatch, since `$`
# would let a trailing newline through.
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Batch ids go into URL paths: nothing that could change the path is let through.
BATCH_ID = re.compile(r"[a-zA-Z0-9_-]{1,200}")
LIST_PAGE_SIZE = 100
_READ_SIZE = 1024 * 1024


def check_batch_id(batch_id):
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise InputError(f"{batch_id!r} is not a batch id (like msgbatch_01AbC...)")
    return batch_id


def check_batch(value, what):
    """A MessageBatch object, with the fields msgcli reads of the right kinds."""
    if not isinstance(value.get("id"), str) or \
            value.get("processing_status") not in PROCESSING_STATUSES or \
            not isinstance(value.get("request_counts"), dict):
        raise BadResponseError(f"{what}: not a Message Batch object (no id, "
                               "processing_status or request_counts)")
    check_batch_id(value["id"])
    return value


def scratch(what):
    """For the methods that use a temporary file: its failure (a full disk, an
    unwritable TMPDIR) is exit 2 naming it, not mistaken for a failed stdout."""

    def decorate(method):
        @functools.wraps(method)
        def run(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except OSError as e:
                raise InputError(f"cannot use a temporary file for {what} in "
                                 f"{tempfile.gettempdir()}: {e.strerror or e}; free space "
                                 "there or point TMPDIR elsewhere") from None
        return run

    return decorate


def encode_request(custom_id, params):
    """One batch request as JSON bytes (a list of chunks); at most 32 MB, like any
    Messages request."""
    return list(encode_body({"custom_id": custom_id, "params": params}))


class Spool:
    """The create bodies, written as they are built to one temporary file and cut
    into batches at MAX_BATCH_REQUESTS or MAX_BATCH_BYTES, whichever comes first.

    Nothing is submitted until every line was read and checked, so the requests
    wait on disk rather than in memory. Each batch's body is read back from the
    file each time it is sent (a retry sends it again)."""

    PREFIX = b'{"requests":['
    SUFFIX = b"]}"

    @scratch("the requests")
    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="msgcli-batch-")
        self.batches = []  # [start, end, custom_ids]

    @scratch("the requests")
    def add(self, custom_id, chunks):
        size = sum(len(c) for c in chunks)
        current = self.batches[-1] if self.batches else None
        if current is not None:
            body = len(self.PREFIX) + (current[1] - current[0]) + 1 + size + len(self.SUFFIX)
            if len(current[2]) >= limits.MAX_BATCH_REQUESTS or body > limits.MAX_BATCH_BYTES:
                current = None
        if current is None:
            if len(self.PREFIX) + size + len(self.SUFFIX) > limits.MAX_BATCH_BYTES:
                raise InputError(f"the request is larger than a batch may be "
                                 f"({limits.MAX_BATCH_BYTES} bytes)")
            end = self.file.tell()
            current = [end, end, []]
            self.batches.append(current)
        elif current[2]:
            self.file.write(b",")
        for chunk in chunks:
            self.file.write(chunk)
        current[1] = self.file.tell()
        current[2].append(custom_id)

    def body(self, index):
        start, end, _ = self.batches[index]
        return SpooledBody(self.file, start, end)

    def custom_ids(self, index):
        return self.batches[index][2]

    def value(self, index):
        """The parsed body, for --dry-run."""
        return json.loads(b"".join(self.body(index)))

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SpooledBody:
    """One batch's create body: the requests between `start` and `end` of the
    spool file, wrapped in {"requests": [...]}. requests sends it with a
    Content-Length (len) and iterates it afresh for a retry."""

    def __init__(self, file, start, end):
        self.file, self.start, self.end = file, start, end

    def __len__(self):
        return len(Spool.PREFIX) + self.end - self.start + len(Spool.SUFFIX)

    def __iter__(self):
        yield Spool.PREFIX
        position = self.start
        while position < self.end:
            self.file.seek(position)
            chunk = self.file.read(min(_READ_SIZE, self.end - position))
            if not chunk:
                raise OSError("the batch spool file was cut short")
            position += len(chunk)
            yield chunk
        self.file.seek(0, 2)
        yield Spool.SUFFIX


class Api:
    """The batch endpoints under one base URL, with one set of headers."""

    def __init__(self, transport, base_url, headers):
        self.transport = transport
        self.base_url = base_url
        self.headers = dict(headers)
        self.get_headers = {k: v for k, v in headers.items()
                            if k.lower() != "content-type"}

    def url(self, *parts, query=None):
        url = build_url(self.base_url, "/".join((BATCHES_PATH,) + parts))
        if query:
            url += "?" + urlencode(query)
        return url

    def _json(self, method, url, data=None):
        headers = self.headers if data is not None else self.get_headers
        response = self.transport.request(method, url, headers, data)
        raw = self.transport.read_body(response)
        reply.kind(response.status_code, response.headers.get("content-type"))
        return reply.json_object(raw, response.status_code), response.headers

    def create(self, body):
        value, _ = self._json("POST", self.url(), body)
        return check_batch(value, "the batch create reply")

    def retrieve(self, batch_id):
        """(batch, response headers): a poll may carry retry-after."""
        value, headers = self._json("GET", self.url(check_batch_id(batch_id)))
        return check_batch(value, f"batch {batch_id}"), headers

    def cancel(self, batch_id):
        value, _ = self._json("POST", self.url(check_batch_id(batch_id), "cancel"))
        return check_batch(value, f"batch {batch_id}")

    def list(self):
        """Every batch, page after page, following last_id to the end."""
        query = {"limit": LIST_PAGE_SIZE}
        while True:
            page, _ = self._json("GET", self.url(query=query))
            data = page.get("data")
            if not isinstance(data, list):
                raise BadResponseError("the batch list reply has no data array")
            for item in data:
                if not isinstance(item, dict):
                    raise BadResponseError("the batch list holds something not a batch")
                yield check_batch(item, "a listed batch")
            last = page.get("last_id")
            if page.get("has_more") is not True or not data:
                return
            if not isinstance(last, str) or last == query.get("after_id"):
                raise BadResponseError("the batch list says it has more but gives no "
                                       "new last_id to continue from")
            query = {"limit": LIST_PAGE_SIZE, "after_id": last}

    def results_url(self, batch):
        """Where a batch's results are. The key is sent only to the API's own host:
        a results_url elsewhere is refused rather than handed the credentials."""
        url = batch.get("results_url") or self.url(batch["id"], "results")
        if isinstance(url, str):
            url = urljoin(self.base_url.rstrip("/") + "/", url)
        if not isinstance(url, str) or _origin(url) != _origin(self.base_url):
            raise BadResponseError(f"batch {batch['id']}: its results_url is not on "
                                   f"{_origin(self.base_url)}; msgcli does not send "
                                   "the key elsewhere")
        return url

    def results(self, batch):
        """The results file, as (custom_id, item) in the API's order, read as it
        arrives, one line at a time."""
        headers = dict(self.get_headers)
        headers["accept"] = "application/x-jsonl, application/binary;q=0.9, */*;q=0.1"
        response = self.transport.request("GET", self.results_url(batch), headers)
        # An ended batch's request_counts are final: one results line each, each
        # line bounded, so the whole is bounded without a cap that a big batch's
        # results would outgrow (they pass through a file, not memory).
        expected = sum(v for v in batch["request_counts"].values() if isinstance(v, int))
        chunks = self.transport.iter_chunks(
            response, limit=max(expected, 1) * (limits.MAX_RESULT_LINE_BYTES + 1))
        for count, line in enumerate(split_lines(chunks), 1):
            if count > expected:
                raise BadResponseError(f"batch {batch['id']}: the results hold more lines "
                                       f"than the batch has requests ({expected})")
            yield parse_result(line, batch["id"])


def _origin(url):
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def split_lines(chunks, limit=None):
    """Lines of a JSONL byte stream (LF or CRLF), blank ones skipped, each bounded.
    A line is joined once, when its end arrives, so a long line costs linear time."""
    limit = limit or limits.MAX_RESULT_LINE_BYTES
    parts, size = [], 0
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            parts.append(chunk[start:end])
            line, parts, size = b"".join(parts), [], 0
            if line.strip():
                yield line
            start = end + 1
        if start < len(chunk):
            parts.append(chunk[start:])
            size += len(chunk) - start
        if size > limit:
            raise BadResponseError(f"a line of the results is over "
                                   f"{limits.megabytes(limit)}; msgcli stops reading there")
    line = b"".join(parts)
    if line.strip():
        yield line


def parse_result(line, batch_id):
    try:
        item = json.loads(line)
    except (ValueError, RecursionError):
        item = None
    if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str) or \
            not isinstance(item.get("result"), dict):
        raise BadResponseError(f"batch {batch_id}: a results line is not "
                               "{custom_id, result}")
    return item["custom_id"], item
