"""--jsonl: one request per input line, -P at a time over one connection pool,
each result written as soon as every earlier one is.

Threads: the main thread reads and builds requests (and takes the signals);
-P workers each send one request at a time through core.exchange into a
Collector; one writer puts the results in input order and makes them durable.
At most WINDOW results wait for an earlier line, so memory stays bounded
however long the input. Every attempt passes a shared msgcli.ratelimit.Gate.

A failing line is a result line with its status, and the run goes on. Only what
dooms every request stops it early (no credentials, HTTP 401): the results
already finished are written first.
"""

import os
import queue
import stat
import sys
import threading
import time

from msgcli import core, files, jsonl, render, resume
from msgcli.errors import ApiError, CredentialsError, InputError, MsgcliError
from msgcli.failures import Terminated
from msgcli.output import Collector
from msgcli.status import ExitStatus

# Enough to hide the latency of a short reply (8 / 1 s ≈ 8 req/s for typical
# replies; 160 req/s at 50 ms), yet below what a new account's rate limit takes
# without 429s; raise -P for short prompts on a higher tier.
DEFAULT_PARALLEL = 8
WINDOW_PER_WORKER = 8
TICK = 0.2  # how often the main thread looks up from waiting (progress, signals)


class Record:
    __slots__ = ("seq", "lineno", "status", "req_hash", "data", "sent")

    def __init__(self, seq, lineno, status=None, req_hash=None, data=None, sent=False):
        self.seq, self.lineno, self.status = seq, lineno, status
        self.req_hash, self.data, self.sent = req_hash, data, sent


def _usage_add(total, usage):
    if isinstance(usage, dict):
        for key, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value


def _count_lines(stream):
    """Non-blank lines left in a regular-file stdin (for the progress total)."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        offset = os.lseek(fd, 0, os.SEEK_CUR) - len(getattr(stream, "peek", lambda: b"")())
    except (OSError, ValueError, AttributeError):
        return None
    count, tail = 0, b""
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        offset += len(chunk)
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        count += sum(1 for line in lines if line.strip())
    return count + (1 if tail.strip() else 0)


class Run:
    def __init__(self, opts, console, sink, transport, gate, parallel):
        self.opts, self.console, self.sink = opts, console, sink
        self.transport, self.gate, self.parallel = transport, gate, parallel
        # each line is rendered as a single run would print it, then put in a line
        self.line_opts = opts.replace(json=False, no_newline=True, usage=False,
                                       output=None)
        self.credentials = core.credentials()
        self.jobs = queue.Queue(maxsize=parallel)
        self.results = queue.Queue()
        self.window = threading.Semaphore(parallel * WINDOW_PER_WORKER)
        self.stop = threading.Event()    # send nothing more
        self.closed = threading.Event()  # every job has been queued
        self.sink_failed = False
        self.fatal = None  # what ends the run early: a MsgcliError or a bug
        self.lock = threading.Lock()
        self.done = self.failed = self.sent = 0
        self.usage = {}
        self.total = None
        self.started = time.monotonic()
        self.shown = 0.0
        self.last_lineno = 0

    # -- workers -------------------------------------------------------------------

    def work(self):
        while True:
            try:
                job = self.jobs.get(timeout=TICK)
            except queue.Empty:
                if self.closed.is_set() and self.jobs.empty():
                    return
                continue
            seq, lineno, custom_id, req, req_hash = job
            record = Record(seq, lineno, req_hash=req_hash)
            if not self.stop.is_set():
                try:
                    self.send(custom_id, req, record)
                except Exception as e:  # a bug: the run stops and it is reported
                    self.fail(e)
            self.results.put(record)

    def send(self, custom_id, req, record):
        out = Collector()
        message = None
        try:
            message = core.exchange(self.line_opts, req, self.transport, out, self.console)
        except MsgcliError as e:
            line = jsonl.error_result(custom_id, e, include_message=self.opts.json)
            if isinstance(e, CredentialsError) or \
                    (isinstance(e, ApiError) and e.http_status == 401):
                self.fail(e)  # every other request would fail the same way
        else:
            code = core.outcome(message)[0] if message is not None else ExitStatus.OK
            text = out.text()
            if text.endswith("\n") and (message is None or render.tool_calls(message)):
                text = text[:-1]  # the line a token count or a tool call ends with
            line = jsonl.result_line(custom_id, code, message, text=text,
                                     include_message=self.opts.json,
                                     request_id=self.transport.request_id)
        usage = (message or {}).get("usage")
        record.status, record.sent = line["status"], True
        record.data = jsonl.dumps(line).encode("utf-8", "surrogatepass")
        with self.lock:
            _usage_add(self.usage, usage)
            self.sent += 1
        if isinstance(usage, dict):
            self.gate.note_tokens(sum(usage.get(k) or 0 for k in
                                      ("input_tokens", "output_tokens")
                                      if isinstance(usage.get(k), int)))

    def fail(self, error):
        with self.lock:
            if self.fatal is None:
                self.fatal = error
        self.stop.set()

    # -- the writer ----------------------------------------------------------------

    def write(self):
        pending, next_seq, end = {}, 1, False
        while not end:
            batch = [self.results.get()]
            while True:
                try:
                    batch.append(self.results.get_nowait())
                except queue.Empty:
                    break
            for record in batch:
                if record is None:
                    end = True
                else:
                    pending[record.seq] = record
            wrote = False
            while next_seq in pending:
                record = pending.pop(next_seq)
                next_seq += 1
                self.window.release()
                if record.status is None:
                    continue  # not sent: the run was stopped
                if record.data is not None and not self.sink_failed:
                    try:
                        self.sink.append(record.lineno, record.status, record.req_hash,
                                         record.data)
                        wrote = True
                    except OSError as e:
                        self.sink_failed = True
                        self.fail(e)
                with self.lock:
                    self.done += 1
                    self.failed += record.status != 0
            if wrote and not self.sink_failed:
                try:
                    self.sink.sync()
                except OSError as e:
                    self.sink_failed = True
                    self.fail(e)

    # -- the main thread -----------------------------------------------------------

    def progress(self, force=False):
        now = time.monotonic()
        if not force and now - self.shown < TICK:
            return
        self.shown = now
        with self.lock:
            done, failed, usage, sent = self.done, self.failed, dict(self.usage), self.sent
        elapsed = max(now - self.started, 1e-6)
        rate = sent / elapsed
        total = self.total
        text = f"{done}/{total if total is not None else '?'} done"
        if failed:
            text += f", {failed} failed"
        text += f", tokens {usage.get('input_tokens', 0):,} in / " \
                f"{usage.get('output_tokens', 0):,} out, {rate:.1f} req/s"
        if total is not None and rate > 0 and done < total:
            left = int((total - done) / rate)
            text += f", ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        self.console.status(text)

    def wait_for(self, action):
        """Retry `action` (a blocking call with a timeout) until it succeeds, showing
        progress; signals are taken between tries."""
        while not action():
            self.progress()

    def feed(self, stream):
        words = self.opts.prompt
        seq = 0
        for lineno, text in jsonl.read_lines(stream):
            if self.stop.is_set():
                return False
            self.wait_for(lambda: self.window.acquire(timeout=TICK))
            seq += 1
            self.last_lineno = lineno
            try:
                line_request = jsonl.parse_line(text, lineno, words)
                req = jsonl.build_request(self.line_opts, line_request, self.credentials,
                                          self.console.redactor)
            except InputError as e:
                line = jsonl.error_result(jsonl.custom_id_of(e, lineno), e,
                                          include_message=self.opts.json)
                self.results.put(Record(seq, lineno, line["status"], None,
                                        jsonl.dumps(line).encode("utf-8", "surrogatepass")))
                continue
            req_hash = resume.request_hash(line_request.custom_id, req)
            if self.sink.previous(lineno, req_hash):
                self.results.put(Record(seq, lineno, ExitStatus.OK))  # kept from before
                continue
            job = (seq, lineno, line_request.custom_id, req, req_hash)
            self.wait_for(lambda job=job: self._put(job))
        return True

    def _put(self, job):
        try:
            self.jobs.put(job, timeout=TICK)
            return True
        except queue.Full:
            return False


def run(opts, console):
    from msgcli.ratelimit import Gate
    from msgcli.transport import Transport

    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if files.stdin_is_terminal() or stream is None:
        raise InputError("--jsonl reads one request per line from stdin, but stdin is a "
                         "terminal: redirect a file (msgcli --jsonl < requests.jsonl)")
    if not any(core.credentials()) and not any(
            name.lower() in ("x-api-key", "authorization") for name, _ in opts.header):
        raise CredentialsError("no credentials: set ANTHROPIC_API_KEY (or "
                               "ANTHROPIC_AUTH_TOKEN) in the environment")
    parallel = opts.parallel or DEFAULT_PARALLEL
    sink = resume.FileResults(opts.output) if opts.output else resume.StdoutResults()
    gate = Gate(parallel)
    with core.terminable(), Transport(opts.retries, opts.timeout, console,
                                      verbose=opts.verbose, gate=gate,
                                      pool_size=parallel) as transport:
        try:
            return conduct(Run(opts, console, sink, transport, gate, parallel), stream)
        finally:
            sink.close()


def conduct(run, stream):
    if run.console.is_terminal():
        run.total = _count_lines(stream)
    workers = [threading.Thread(target=run.work, daemon=True, name=f"msgcli-{i}")
               for i in range(run.parallel)]
    writer = threading.Thread(target=run.write, daemon=True, name="msgcli-writer")
    for thread in workers + [writer]:
        thread.start()
    interrupt = None
    complete = False
    try:
        try:
            complete = run.feed(stream)
        except OSError as e:
            run.fail(InputError(f"cannot read the requests from stdin: {e.strerror or e}"))
        except (KeyboardInterrupt, Terminated) as e:
            interrupt = e
            run.stop.set()  # the workers pass over the jobs still queued
            run.console.line("interrupted: waiting for the requests in flight and "
                             "writing their results (interrupt again to abort them)")
        run.closed.set()
        for thread in workers:
            run.wait_for(lambda t=thread: (t.join(TICK), not t.is_alive())[1])
    except (KeyboardInterrupt, Terminated) as e:
        interrupt = interrupt or e  # a second interrupt: in-flight requests are dropped
        run.gate.release()
    run.results.put(None)
    writer.join()
    run.console.clear_status()
    complete = complete and interrupt is None and run.fatal is None
    run.sink.finish(complete)
    if run.opts.usage:
        run.console.line(render.usage_line(run.usage))
    if interrupt is not None:
        raise interrupt
    if run.fatal is not None:
        raise run.fatal
    if run.failed:
        run.console.line(f"{run.failed} of {run.done} requests did not complete; each "
                         "result line says why")
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
