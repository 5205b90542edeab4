"""The batch modes: `--jsonl --batch` (submit the lines as Message Batches, and
with --wait, wait and print the results), `--batch-results`, `--batch-status`,
`--batch-cancel` and `--batch-list`.

Results are printed as --jsonl prints them (msgcli.jsonl's line format and
statuses). Batches return results in any order; msgcli puts them back in input
order when it knows that order: when it submitted the batches in this process,
or when every custom_id is a line number (the ids msgcli assigns). Otherwise they
come in the API's order. Either way they pass through a temporary file, so a
results file is never held in memory.
"""

import os
import re
import tempfile
import time
from contextlib import contextmanager

from msgcli import batches, core, inputs, jsonl, render, reply, request
from msgcli.errors import BadResponseError, InputError, MsgcliError
from msgcli.failures import Terminated
from msgcli.options import DEFAULT_BASE_URL, batch_command
from msgcli.output import Collector, Stdout
from msgcli.status import ExitStatus

# Polling: soon at first (a small batch can end within a minute), then less and
# less often, up to once a minute; a retry-after on a poll is honoured up to 10 min.
POLL_FIRST = 2.0
POLL_FACTOR = 1.5
POLL_MAX = 60.0
POLL_MAX_RETRY_AFTER = 600.0
# Tests replace this to record the waits instead of sleeping through them.
sleep = time.sleep

_LINE_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
_OUTCOMES = {
    "canceled": (ExitStatus.BATCH_CANCELED,
                 "the batch was canceled before this request ran"),
    "expired": (ExitStatus.BATCH_EXPIRED,
                "the batch ended (24 h) before this request ran"),
}


def run(opts, console):
    credentials = core.credentials()
    headers = request.build_headers(opts.api_version, credentials[0], credentials[1],
                                    opts.beta, opts.header)
    for name, value in opts.header:
        if name.lower() in request.SECRET_HEADERS:
            console.redactor.add(value)
            console.redactor.add(value.partition(" ")[2])
    base_url = opts.base_url or DEFAULT_BASE_URL
    out = Stdout(console.redactor)
    if opts.batch:
        return submit(opts, console, base_url, out, credentials)
    command = batch_command(opts)
    ids = [] if command == "batch_list" else batch_ids(opts)
    if opts.dry_run:
        return dry_run_calls(opts, command, ids, base_url, headers, out)
    request.Request(base_url, headers, None, None).require_credentials()
    from msgcli.transport import Transport

    with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                      verbose=opts.verbose) as transport:
        api = batches.Api(transport, base_url, headers)
        if command == "batch_results" and not opts.wait:
            found = not_waiting(api, ids)
            return print_results(opts, api, [(found[i], None) for i in ids], out, console)
        if command == "batch_results":
            with resumable(ids):
                found = wait(api, ids, console)
                return print_results(opts, api, [(found[i], None) for i in ids], out,
                                     console)
        if command == "batch_list":
            shown = api.list()
        elif command == "batch_cancel":
            shown = (api.cancel(i) for i in ids)
        else:
            shown = (api.retrieve(i)[0] for i in ids)
        for batch in shown:
            out.write(render.compact_json(batch) + "\n")
            out.flush()
    return ExitStatus.OK


def batch_ids(opts):
    """The batch ids: the PROMPT words, or else stdin's lines (each an id, or a
    batch object as --batch prints, so its output can be piped in)."""
    words = list(opts.prompt)
    if not words:
        data = inputs.read_stdin_bytes("batch ids") or b""
        for line in inputs.decode_utf8(data, "stdin").splitlines():
            line = line.strip()
            if line.startswith("{"):
                value = inputs.parse_json_text(line, "stdin")
                line = value.get("id") if isinstance(value, dict) else None
            if line:
                words.append(line)
    if not words:
        raise InputError("give the batch ids (msgbatch_...) as arguments or on stdin")
    return list(dict.fromkeys(batches.check_batch_id(w) for w in words))


def dry_run_calls(opts, command, ids, base_url, headers, out):
    api = batches.Api(None, base_url, headers)
    calls = {"batch_list": [("GET", api.url(query={"limit": batches.LIST_PAGE_SIZE}))],
             "batch_cancel": [("POST", api.url(i, "cancel")) for i in ids]}.get(
                 command, [("GET", api.url(i)) for i in ids])
    for method, url in calls:
        render.dry_run(opts._replace(json=False), _Shown(method, url, api.get_headers), out)
    return ExitStatus.OK


class _Shown(request.Request):
    """A call as --dry-run shows it; a GET has no body."""

    def __init__(self, method, url, headers, body=None):
        super().__init__(url, headers, body, None)
        self.method = method


def read_requests(opts, console, credentials):
    """Every input line checked and spooled, before anything is sent: a bad line, or
    a custom_id the API would refuse or that is used twice, is exit 2 naming it."""
    import sys

    spool = batches.Spool()
    seen = {}
    headers = None
    stdin = sys.stdin.buffer if sys.stdin is not None and not inputs.stdin_is_terminal() \
        else None
    if stdin is None:
        raise InputError("--batch reads its requests from stdin, one per line: "
                         "msgcli --jsonl --batch < requests.jsonl")
    try:
        for lineno, text in jsonl.read_lines(stdin):
            try:
                line = jsonl.parse_line(text, lineno, opts.prompt)
                custom_id = line.custom_id
                if not batches.CUSTOM_ID.fullmatch(custom_id):
                    raise InputError(f"custom_id {custom_id!r} is not what the API "
                                     "accepts: 1 to 64 of a-z, A-Z, 0-9, _ and -")
                if custom_id in seen:
                    raise InputError(f"custom_id {custom_id!r} is already the custom_id "
                                     f"of line {seen[custom_id]}")
                req = jsonl.build_request(opts, line, credentials, console.redactor)
                params = {k: v for k, v in req.body.items() if k != "stream"}
                spool.add(custom_id, batches.encode_request(custom_id, params))
            except InputError as e:
                prefix = f"line {lineno}"
                raise InputError(e.message if e.message.startswith(prefix)
                                 else f"{prefix}: {e.message}") from None
            seen[custom_id] = lineno
            headers = headers or req.headers
    except BaseException:
        spool.close()
        raise
    if headers is None:
        spool.close()
        raise InputError("no requests: stdin holds no lines")
    return spool, headers


def submit(opts, console, base_url, out, credentials):
    spool, headers = read_requests(opts, console, credentials)
    with spool:
        api = batches.Api(None, base_url, headers)
        if opts.dry_run:
            for i in range(len(spool.batches)):
                body = spool.value(i)
                render.dry_run(opts, _Shown("POST", api.url(), headers, body), out)
            return ExitStatus.OK
        request.Request(base_url, headers, None, None).require_credentials()
        from msgcli.transport import Transport

        submitted = []
        with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                          verbose=opts.verbose) as transport:
            api.transport = transport
            try:
                for i in range(len(spool.batches)):
                    batch = api.create(spool.body(i))
                    submitted.append((batch, spool.custom_ids(i)))
                    out.write(render.compact_json(batch) + "\n")
                    out.flush()
            except (MsgcliError, KeyboardInterrupt, Terminated) as e:
                if not submitted:
                    raise
                raise _unfinished(e, [b["id"] for b, _ in submitted],
                                  f"batch {len(submitted) + 1} of {len(spool.batches)} "
                                  "was not submitted") from None
            if not opts.wait:
                return ExitStatus.OK
            ids = [b["id"] for b, _ in submitted]
            with resumable(ids):
                found = wait(api, ids, console)
                return print_results(opts, api, [(found[b["id"]], order)
                                                 for b, order in submitted], out, console)


def _unfinished(error, ids, what=None):
    """A failure or interruption once batches exist: they are not affected, so the
    one line says which they are and how to get their results."""
    resume = f"msgcli --batch-results {' '.join(ids)} --wait"
    if isinstance(error, KeyboardInterrupt):
        reason, code = "interrupted", ExitStatus.INTERRUPTED
    elif isinstance(error, Terminated):
        reason, code = "terminated", ExitStatus.TERMINATED
    else:
        reason, code = error.message, error.exit_code
    what = f"{what}; " if what else ""
    return MsgcliError(f"{reason}; {what}nothing was canceled: get the results with "
                       f"{resume}", code)


@contextmanager
def resumable(ids, what=None):
    try:
        yield
    except (MsgcliError, KeyboardInterrupt, Terminated) as e:
        raise _unfinished(e, ids, what) from None


def not_waiting(api, ids):
    found = {}
    for batch_id in ids:
        batch, _ = api.retrieve(batch_id)
        if batch["processing_status"] != "ended":
            raise MsgcliError(f"batch {batch_id} has not ended yet "
                              f"({batch['processing_status']}, {_counts(batch)}); add "
                              "--wait to wait for it", ExitStatus.BATCH_NOT_ENDED)
        found[batch_id] = batch
    return found


def _counts(batch):
    counts = batch["request_counts"]
    done = sum(v for k, v in counts.items() if k != "processing" and isinstance(v, int))
    total = done + (counts.get("processing") or 0)
    return f"{done} of {total} requests done"


def wait(api, ids, console):
    """Poll until every batch has ended; {id: batch}."""
    from msgcli.transport import retry_after_seconds

    found, pending, interval = {}, list(ids), POLL_FIRST
    try:
        while pending:
            hint = 0.0
            for batch_id in list(pending):
                batch, headers = api.retrieve(batch_id)
                found[batch_id] = batch
                if batch["processing_status"] == "ended":
                    pending.remove(batch_id)
                hint = max(hint, retry_after_seconds(headers, POLL_MAX_RETRY_AFTER) or 0)
            console.status(progress(found.values()))
            if pending:
                sleep(max(interval, hint))
                interval = min(interval * POLL_FACTOR, POLL_MAX)
    finally:
        console.clear_status()
    return found


def progress(found):
    totals = {}
    ended = 0
    for batch in found:
        ended += batch["processing_status"] == "ended"
        for key, value in batch["request_counts"].items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    done = sum(v for k, v in totals.items() if k != "processing")
    parts = [f"{totals[k]} {k}" for k in ("succeeded", "errored", "canceled", "expired")
             if totals.get(k)]
    return (f"batches: {ended}/{len(found)} ended; requests: {done}/"
            f"{done + totals.get('processing', 0)} done"
            + (f" ({', '.join(parts)})" if parts else ""))


def print_results(opts, api, ended, out, console):
    """Each batch's results, batch after batch; 0 when every request has status 0,
    otherwise 9. `ended` is [(batch, custom_ids in input order, or None)]."""
    done = failed = 0
    usage = {}
    for batch, order in ended:
        with Reorder() as held:
            for custom_id, item in api.results(batch):
                line = result_of(opts, custom_id, item)
                held.add(custom_id, jsonl.dumps(line).encode("utf-8"))
                done += 1
                failed += line["status"] != ExitStatus.OK
                for key, value in (line.get("usage") or {}).items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        usage[key] = usage.get(key, 0) + value
            if order is None and held.ids and all(_LINE_NUMBER.fullmatch(i)
                                                  for i in held.ids):
                order = sorted(held.ids, key=int)
            for custom_id, data in held.lines(order):
                if data is None:
                    done, failed = done + 1, failed + 1
                    data = jsonl.dumps(jsonl.error_result(custom_id, BadResponseError(
                        f"batch {batch['id']}: no result for this request in the "
                        "results file"))).encode("utf-8")
                out.write(data.decode("utf-8") + "\n")
        out.flush()
    if opts.usage:
        console.line(render.usage_line(usage))
    if failed:
        console.line(f"{failed} of {done} requests did not complete; each result line "
                     "says why")
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK


def result_of(opts, custom_id, item):
    """The --jsonl result line of one batch result."""
    result = item["result"]
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message")
        try:
            if not isinstance(message, dict):
                raise BadResponseError("a succeeded result without a message")
            reply.check_message(message, "a succeeded result")
        except BadResponseError as e:
            return jsonl.error_result(custom_id, e)
        code, _ = core.outcome(message)
        return jsonl.result_line(custom_id, code, message=message, text=text_of(opts, message),
                                 include_message=opts.json)
    if kind == "errored":
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        return jsonl.error_result(custom_id, reply.api_error(error),
                                  include_message=opts.json)
    if kind in _OUTCOMES:
        code, text = _OUTCOMES[kind]
        return jsonl.result_line(custom_id, code, include_message=opts.json,
                                 error={"type": kind, "message": text, "http_status": None})
    return jsonl.error_result(custom_id, BadResponseError(
        f"a result of unknown type {kind!r}"), include_message=opts.json)


def text_of(opts, message):
    """What a single run prints for this reply, as --jsonl puts it in a line."""
    out = Collector()
    render.whole(opts._replace(json=False, no_newline=True, show_thinking=False), None,
                 message, out, None)
    text = out.text()
    if text.endswith("\n") and render.tool_calls(message):
        text = text[:-1]  # the line a tool call ends with, as msgcli.many does
    return text


class Reorder:
    """Result lines held in a temporary file, indexed by custom_id, and given back
    in any order: memory holds the index, not the results."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="msgcli-results-")
        self.index = {}

    @property
    def ids(self):
        return self.index.keys()

    def add(self, custom_id, data):
        self.file.seek(0, os.SEEK_END)
        self.index.setdefault(custom_id, (self.file.tell(), len(data)))
        self.file.write(data)

    def _read(self, custom_id):
        offset, length = self.index[custom_id]
        self.file.seek(offset)
        return self.file.read(length)

    def lines(self, order):
        """(custom_id, line) in `order`, None for an id without a result, then any
        result not in `order` in the order it came."""
        placed = set()
        for custom_id in order or ():
            placed.add(custom_id)
            yield custom_id, self._read(custom_id) if custom_id in self.index else None
        for custom_id in self.index:
            if custom_id not in placed:
                yield custom_id, self._read(custom_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

