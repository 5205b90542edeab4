"""--jsonl: one request per input line, -P at a time over one connection pool,
each result written as soon as every earlier one is.

Threads: the main thread reads and builds requests (and takes the signals);
up to -P workers (at most options.MAX_PARALLEL; each started when a line is
queued and fewer are running) each send one request at a time through
core.exchange into a Collector; one writer puts the results in input order and makes them durable.
At most -P x WINDOW results wait for an earlier line, so memory stays bounded
however long the input. Every attempt passes one msgcli.wire.ratelimit.Gate.

A failing line is a result line with its status, and the run goes on. Only what
dooms every request stops it early (no credentials, HTTP 401): the results
already finished are written first. --deadline: msgcli.jsonl.cutoff.

-P defaults to 8 (options.DEFAULT_PARALLEL): at 1 s per short answer that is 8
requests/s (480 a minute), enough to keep most jobs busy, without opening dozens
of connections at once for an account whose limits msgcli does not know yet; the
shared gate keeps any -P under the limit, so raise it when the account allows.
"""

import queue
import sys
import threading
import time

from msgcli import core
from msgcli.api import request
from msgcli.api.reply import ApiError
from msgcli.cli.options import DEFAULT_PARALLEL
from msgcli.errors import CredentialsError, InputError, MsgcliError, Terminated
from msgcli.inputs import reading
from msgcli.jsonl import cutoff, journal
from msgcli.jsonl import lines as jsonl_lines
from msgcli.jsonl.tally import Tally, count_lines
from msgcli.output import atomic, render
from msgcli.output.console import Collector
from msgcli.status import ExitStatus

# Results that may wait for an earlier, slower line, per worker: a line may take
# about WINDOW times as long as the others before they stall behind it. Memory is
# bounded by -P x WINDOW results (short answers: a few kB each).
WINDOW = 32
TICK = 0.2  # how often a waiting thread looks up (progress, signals, the end)


class Record:
    """One line's outcome on its way to the writer; status None: not sent."""

    __slots__ = ("seq", "lineno", "status", "req_hash", "data")

    def __init__(self, seq, lineno, status=None, req_hash=None, data=None):
        self.seq, self.lineno, self.status = seq, lineno, status
        self.req_hash, self.data = req_hash, data


class Run:
    def __init__(self, opts, console, sink, transport, parallel, deadline=None,
                 uploaded=None, platform=None):
        self.opts, self.console, self.sink = opts, console, sink
        self.uploaded = uploaded  # --upload-files: {path: file id}, shared by every line
        self.transport, self.gate, self.parallel = transport, transport.gate, parallel
        # each line is rendered as a single run prints it, then put into its line
        self.line_opts = opts.replace(json=False, no_newline=True, usage=False,
                                      output=None)
        self.platform = platform
        self.credentials = core.credentials(opts, console)
        if self.platform is not None:
            self.credentials = self.platform.credentials(self.credentials)
        # At most -P jobs wait for a worker. The main thread refills the queue once
        # it is half empty, not each time a worker takes one: a thread woken per
        # request costs CPU (issue 22), and half of -P jobs still keeps all busy.
        self.jobs = queue.Queue()
        self.room = threading.Event()  # set by a worker that leaves the queue half empty
        self.results = queue.Queue()
        self.window = threading.Semaphore(parallel * WINDOW)
        self.stop = threading.Event()    # send nothing more
        self.closed = threading.Event()  # every job has been queued
        self.cutoff = cutoff.Cutoff(self.results, opts.json, console.redactor,
                                    deadline)  # --deadline
        self.fatal = None  # what ends the run early: a MsgcliError, an OSError, a bug
        self.workers = []  # started as jobs are queued, up to -P (see hire)
        self.sink_failed = False
        self.tally = Tally(console)

    # -- workers -------------------------------------------------------------------

    def work(self):
        while True:
            try:
                seq, lineno, custom_id, req, req_hash = self.jobs.get(timeout=TICK)
            except queue.Empty:
                if self.closed.is_set() and self.jobs.empty():
                    return
                continue
            if not self.room.is_set() and self.jobs.qsize() <= self.parallel // 2:
                self.room.set()
            record = Record(seq, lineno, req_hash=req_hash)
            if self.stop.is_set() or not self.cutoff.take(record, custom_id):
                self.cutoff.drop(record, custom_id, self.stop.is_set())
                continue
            try:
                self.send(custom_id, req, record)
            except Exception as e:  # a bug: the run stops and it is reported
                self.fail(e)
            if self.cutoff.give_back(record):  # else the deadline answered for it
                self.cutoff.answer(record)

    def settled(self):
        """Whether every job has its record; the ones still queued get it here."""
        while True:
            try:
                seq, lineno, custom_id, _, req_hash = self.jobs.get_nowait()
            except queue.Empty:
                return self.cutoff.settled()
            self.cutoff.drop(Record(seq, lineno, req_hash=req_hash), custom_id,
                             self.stop.is_set())

    def send(self, custom_id, req, record):
        out = Collector(self.console.redactor)
        message = None
        try:
            message = core.exchange(self.line_opts, req, self.transport, out, self.console)
        except MsgcliError as e:
            line = jsonl_lines.error_result(custom_id, e, include_message=self.opts.json)
            if isinstance(e, CredentialsError) or \
                    (isinstance(e, ApiError) and e.http_status == 401):
                self.fail(e)  # every other request would fail the same way
        else:
            line = jsonl_lines.answer_line(self.opts, custom_id, message, out.text(),
                                           self.transport.request_id)
        usage = (message or {}).get("usage")
        record.status = line["status"]
        record.data = jsonl_lines.dumps(line, self.console.redactor).encode("utf-8",
                                                                      "surrogatepass")
        self.tally.sent_one(usage)
        self.gate.note_usage(usage)

    def fail(self, error):
        with self.tally.lock:
            if self.fatal is None:
                self.fatal = error
        self.stop.set()

    # -- the writer ----------------------------------------------------------------

    def write(self):
        try:
            self._write()
        except Exception as e:  # a bug: the run stops and it is reported
            self.fail(e)

    def _write(self):
        """Put results in input order, append them, and make each batch durable."""
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
                    wrote = self._sink(self.sink.append, record.lineno, record.status,
                                       record.req_hash, record.data)
                self.tally.written(record.status)
            if wrote:
                self._sink(self.sink.sync)

    def _sink(self, action, *args):
        try:
            action(*args)
            return True
        except OSError as e:  # stdout closed or full, FILE unwritable: the run ends
            self.sink_failed = True
            self.fail(e)
            return False

    # -- the main thread -----------------------------------------------------------

    def wait_for(self, action):
        """Retry `action` (a blocking call with a timeout) until it succeeds, showing
        progress; signals are taken between tries."""
        while not action():
            self.tally.show()

    def put(self, job):
        self.room.clear()  # before looking: a worker that makes room later sets it
        if self.jobs.qsize() >= self.parallel and not self.room.wait(TICK):
            return False
        self.jobs.put(job)
        self.cutoff.queued_one()  # (only this thread queues, and asks settled())
        return True

    def hire(self):
        """A worker for the job just queued, until there are -P: a run of three
        lines at -P 1024 starts three threads, not 1024."""
        if len(self.workers) < self.parallel:
            thread = threading.Thread(target=self.work, daemon=True,
                                      name=f"msgcli-{len(self.workers)}")
            self.workers.append(thread)
            thread.start()

    def feed(self, stream):
        """Read, check and queue every line; False if the run stopped first."""
        seq = 0
        for lineno, text in jsonl_lines.read_lines(stream):
            if self.stop.is_set():
                return False
            self.wait_for(lambda: self.window.acquire(timeout=TICK) or self.stop.is_set())
            if self.stop.is_set():
                return False
            seq += 1
            try:
                line_request = jsonl_lines.parse_line(text, lineno, self.opts.prompt)
                req = jsonl_lines.build_request(self.line_opts, line_request, self.credentials,
                                                self.console.redactor, self.uploaded)
                if self.platform is not None:
                    req = self.platform.prepare(req)
            except InputError as e:
                line = jsonl_lines.error_result(jsonl_lines.custom_id_of(e, lineno), e,
                                          include_message=self.opts.json)
                self.results.put(Record(seq, lineno, line["status"], None,
                                        jsonl_lines.dumps(line, self.console.redactor)
                                        .encode("utf-8", "surrogatepass")))
                continue
            # (a SHA-256 of the whole request: only a resumable -o FILE keeps it)
            req_hash = journal.request_hash(line_request.custom_id, req) \
                if self.sink.resumable else None
            if self.sink.previous(lineno, req_hash):
                self.results.put(Record(seq, lineno, ExitStatus.OK))  # kept from before
                continue
            job = (seq, lineno, line_request.custom_id, req, req_hash)
            queued = []  # whether this job went into the queue (else the deadline cut it)
            self.wait_for(lambda job=job, queued=queued: self.cutoff.expired.is_set()
                          or (self.put(job) and not queued.append(job))
                          or self.stop.is_set())
            if queued:
                self.hire()
            elif self.cutoff.expired.is_set() and not self.stop.is_set():
                self.results.put(self.cutoff.cut(Record(seq, lineno, req_hash=req_hash),
                                                 line_request.custom_id))
        if self.tally.total is None:
            self.tally.total = seq  # known now that the input has ended
        return not self.stop.is_set()


def run(opts, console):
    from msgcli.wire.shared_transport import SharedTransport

    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if reading.stdin_is_terminal() or stream is None:
        raise InputError("--jsonl reads one request per line from stdin, but stdin is a "
                         "terminal: redirect a file (msgcli --jsonl < requests.jsonl)")
    platform = core.platform_for(opts, console)
    if platform is not None:
        platform.require_credentials()
    else:  # (Run says what both set means)
        request.require_credentials(request.headers_for(opts, core.credentials(opts)))
    # the shared -d/-i go to the Files API once, before the first line is sent
    uploaded = core.uploaded_media(opts, console, core.credentials(opts))
    parallel = opts.parallel or DEFAULT_PARALLEL
    console.threaded()  # workers write -v lines and notes too
    # -o as for a single run: symlinks written through, a directory or device refused
    sink = journal.FileResults(atomic.check_writable(opts.output, "output file")) \
        if opts.output else journal.StdoutResults()
    try:
        # --max-wait and --deadline bound every request's waits; past the deadline
        # the lines left fail at once (exit 9, resumable)
        deadline = None if opts.deadline is None else time.monotonic() + opts.deadline
        with core.terminable(), SharedTransport(opts.retries, opts.timeout, console,
                                                opts.verbose, parallel, opts.max_wait,
                                                deadline) as transport:
            if platform is not None:
                platform.announce()
            return conduct(Run(opts, console, sink, transport, parallel, deadline,
                               uploaded, platform), stream)
    finally:
        sink.close()


def conduct(run, stream):
    if run.console.is_terminal():
        run.tally.total = count_lines(stream)
    writer = threading.Thread(target=run.write, daemon=True, name="msgcli-writer")
    writer.start()
    run.cutoff.arm(run.transport)
    interrupt, complete = None, False
    try:
        try:
            complete = run.feed(stream)
        except OSError as e:
            run.fail(InputError(f"cannot read the requests from stdin: {e.strerror or e}"))
        except Exception as e:  # a bug: what was sent is still written, then reported
            run.fail(e)
        except (KeyboardInterrupt, Terminated) as e:
            interrupt = e
            run.stop.set()  # the workers pass over the jobs still queued
            run.console.line("interrupted: finishing the requests in flight and writing "
                             "their results (interrupt again to abandon them)")
        run.closed.set()
        run.wait_for(lambda: run.cutoff.ended(list(run.workers), run.settled, TICK))
    except (KeyboardInterrupt, Terminated) as e:
        interrupt = interrupt or e  # again: what is in flight is abandoned
        run.stop.set()
        run.gate.release()
    run.cutoff.disarm()
    run.results.put(None)
    writer.join()
    run.tally.clear()
    run.sink.finish(complete and interrupt is None and run.fatal is None)
    if run.opts.usage:
        run.console.line(render.usage_line(run.tally.usage))
    if interrupt is not None:
        raise interrupt
    if run.fatal is not None:
        raise run.fatal
    if run.tally.failed:
        why = "--deadline reached: " if run.cutoff.expired.is_set() else ""
        run.console.line(f"{why}{run.tally.failed:,} of {run.tally.done:,} requests did "
                         "not complete; each result line says why")
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
