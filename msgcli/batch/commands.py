"""The batch modes: `--jsonl --batch` (submit the lines as Message Batches, and
with --wait, wait and print the results), `--batch-results`, `--batch-status`,
`--batch-cancel` and `--batch-list`.

Here: reading and checking the input before anything is sent, submitting,
waiting (polls that slow down and honour retry-after), and what a failure or
Ctrl-C says once batches exist. The results themselves are msgcli.batch.results.
--deadline bounds the calls and the wait (msgcli.jsonl.cutoff), not the printing of
results once every batch has ended.
"""

import sys
import time
from contextlib import contextmanager

from msgcli import core
from msgcli.api import files, request
from msgcli.api.defaults import DEFAULT_BASE_URL
from msgcli.api.reply import ApiError
from msgcli.batch import endpoints
from msgcli.batch.results import print_results
from msgcli.cli.modes import batch_command
from msgcli.errors import InputError, MsgcliError, NetworkError, Terminated
from msgcli.inputs import reading as inputs_reading
from msgcli.jsonl import lines as jsonl_lines
from msgcli.jsonl.cutoff import WAIT_EXPIRED, WaitExpired, polling
from msgcli.output import render
from msgcli.output.console import Stdout
from msgcli.status import ExitStatus
from msgcli.wire.waits import alarm

# Polling: soon at first (a small batch can end within a minute), then less and
# less often, up to once a minute; a retry-after on a poll is honoured up to 10 min.
POLL_FIRST = 2.0
POLL_FACTOR = 1.5
POLL_MAX = 60.0
POLL_MAX_RETRY_AFTER = 600.0
# A wait may last a day: a poll that fails for a passing reason (the network, a
# 429, a 5xx, each already retried --retries times) is tried again at the next
# interval, and the wait gives up only after this many failures in a row.
POLL_MAX_FAILURES = 10
# Tests replace this to record the waits instead of sleeping through them.
sleep = time.sleep


def _deadline(opts):
    return None if opts.deadline is None else time.monotonic() + opts.deadline


def run(opts, console):
    credentials = core.credentials(opts, console)
    platform = core.platform_for(opts, console)
    if platform is not None:  # federation: a token for the run (others refuse batches)
        credentials, betas = platform.static(opts.dry_run)
        opts = opts.replace(beta=opts.beta + betas)
    headers = request.headers_for(opts, credentials, console.redactor)
    base_url = opts.base_url or DEFAULT_BASE_URL
    out = Stdout(console.redactor)
    if opts.batch:
        return submit(opts, console, base_url, out, credentials)
    command = batch_command(opts)
    ids = [] if command == "batch_list" else batch_ids(opts)
    if opts.dry_run:
        return dry_run_calls(opts, command, ids, base_url, headers, out)
    request.require_credentials(headers)
    from msgcli.wire.transport import Transport

    deadline = _deadline(opts)
    with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                      verbose=opts.verbose,
                                      deadline=deadline) as transport:
        api = endpoints.Api(transport, base_url, headers)
        if command == "batch_results" and not opts.wait:
            found = not_waiting(api, ids)
            return print_results(opts, api, [(found[i], None) for i in ids], out, console)
        if command == "batch_results":
            with resumable(ids):
                found = wait(api, ids, console, deadline)
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
    words = inputs_reading.ids_given(opts, "batch ids", "msgbatch_...")
    return list(dict.fromkeys(endpoints.check_batch_id(w) for w in words))


def dry_run_calls(opts, command, ids, base_url, headers, out):
    api = endpoints.Api(None, base_url, headers)
    calls = {"batch_list": [("GET", api.url(query={"limit": endpoints.LIST_PAGE_SIZE}))],
             "batch_cancel": [("POST", api.url(i, "cancel")) for i in ids]}.get(
                 command, [("GET", api.url(i)) for i in ids])
    for method, url in calls:
        render.dry_run(opts.replace(json=False),
                       request.Request(url, api.get_headers, method=method), out)
    return ExitStatus.OK


def read_requests(opts, console, credentials, uploaded=None):
    """Every input line checked and spooled, before anything is sent: a bad line, or
    a custom_id the API would refuse or that is used twice, is exit 2 naming it.
    `uploaded`: --upload-files' {path: file id}, so the bodies hold ids, not bytes."""
    spool = endpoints.Spool()
    seen = {}
    headers = None
    refers_to_files = False
    stdin = sys.stdin.buffer if sys.stdin is not None and not inputs_reading.stdin_is_terminal() \
        else None
    if stdin is None:
        raise InputError("--batch reads its requests from stdin, one per line: "
                         "msgcli --jsonl --batch < requests.jsonl")
    try:
        for lineno, text in jsonl_lines.read_lines(stdin):
            try:
                line = jsonl_lines.parse_line(text, lineno, opts.prompt)
                custom_id = line.custom_id
                if not endpoints.CUSTOM_ID.fullmatch(custom_id):
                    raise InputError(f"custom_id {custom_id!r} is not what the API "
                                     "accepts: 1 to 64 of a-z, A-Z, 0-9, _ and -")
                if custom_id in seen:
                    raise InputError(f"custom_id {custom_id!r} is already the custom_id "
                                     f"of line {seen[custom_id]}")
                req = jsonl_lines.build_request(opts, line, credentials, console.redactor,
                                                uploaded)
                params = {k: v for k, v in req.body.items() if k != "stream"}
                spool.add(custom_id, endpoints.encode_request(custom_id, params))
            except InputError as e:
                prefix = f"line {lineno}"
                raise InputError(e.message if e.message.startswith(prefix)
                                 else f"{prefix}: {e.message}") from None
            seen[custom_id] = lineno
            # the lines share every header but the files beta, which a batch needs
            # when any of its lines refers to a file
            if headers is None or (not refers_to_files and files.refers_to_files(req.body)):
                headers = req.headers
                refers_to_files = files.refers_to_files(req.body)
    except BaseException:
        spool.close()
        raise
    if headers is None:
        spool.close()
        raise InputError("no requests: stdin holds no lines")
    return spool, headers


def submit(opts, console, base_url, out, credentials):
    # the shared -d/-i go to the Files API once, before the lines are read
    uploaded = core.uploaded_media(opts, console, credentials)
    spool, headers = read_requests(opts, console, credentials, uploaded)
    with spool:
        api = endpoints.Api(None, base_url, headers)
        if opts.dry_run:
            for i in range(len(spool.batches)):
                body = spool.value(i)
                render.dry_run(opts, request.Request(api.url(), headers, body), out)
            return ExitStatus.OK
        request.require_credentials(headers)
        from msgcli.wire.transport import Transport

        submitted = []
        deadline = _deadline(opts)
        with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                          verbose=opts.verbose,
                                          deadline=deadline) as transport:
            api.transport = transport
            try:
                for i in range(len(spool.batches)):
                    batch = api.create(spool.body(i))
                    submitted.append((batch, spool.custom_ids(i)))
                    if opts.wait:  # stdout is for the result lines, as with --jsonl
                        console.line(f"submitted batch {batch['id']} "
                                     f"({len(spool.custom_ids(i))} requests)")
                        continue
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
                found = wait(api, ids, console, deadline)
                return print_results(opts, api, [(found[b["id"]], order)
                                                 for b, order in submitted], out, console)


def _unfinished(error, ids, what=""):
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
def resumable(ids):
    """Ctrl-C, or a passing failure, while waiting for batches or reading their
    results says how to pick up from there; a 404, say, is left as it is."""
    try:
        yield
    except (NetworkError, ApiError, WaitExpired, KeyboardInterrupt, Terminated) as e:
        if isinstance(e, ApiError) and not _passing(e):
            raise
        raise _unfinished(e, ids) from None


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


def wait(api, ids, console, deadline=None):
    """Poll until every batch has ended; {id: batch}. WaitExpired at `deadline` (a
    time.monotonic() instant): a poll still running then is cut by SIGALRM."""
    with polling(deadline), alarm(None if deadline is None else
                                  deadline - time.monotonic()):
        return _poll(api, ids, console, deadline)


def _poll(api, ids, console, deadline):
    from msgcli.wire.transport import retry_after_seconds

    found, pending, interval, failures = {}, list(ids), POLL_FIRST, 0
    try:
        while pending:
            hint = 0.0
            for batch_id in list(pending):
                try:
                    batch, headers = api.retrieve(batch_id)
                except (NetworkError, ApiError) as e:
                    failures += 1
                    if not _passing(e) or failures >= POLL_MAX_FAILURES or \
                            (deadline is not None and time.monotonic() >= deadline):
                        raise
                    console.line(f"polling {batch_id} failed ({e.message}); trying again "
                                 f"in {interval:g} s")
                    break
                failures = 0
                found[batch_id] = batch
                if batch["processing_status"] == "ended":
                    pending.remove(batch_id)
                hint = max(hint, retry_after_seconds(headers, POLL_MAX_RETRY_AFTER) or 0)
            if found:
                console.status(progress(found.values()))
            if pending:
                pause = max(interval, hint)
                if deadline is not None and deadline - time.monotonic() <= pause:
                    sleep(max(deadline - time.monotonic(), 0))
                    raise WaitExpired(WAIT_EXPIRED)
                sleep(pause)
                interval = min(interval * POLL_FACTOR, POLL_MAX)
    finally:
        console.clear_status()
    return found


def _passing(error):
    from msgcli.wire.transport import retryable_status

    return isinstance(error, NetworkError) or retryable_status(error.http_status)


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
