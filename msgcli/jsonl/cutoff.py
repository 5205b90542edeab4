"""--deadline where SIGALRM cannot reach (msgcli.wire.waits): the -P workers of --jsonl
and the polling of --batch --wait.

--jsonl: at the deadline nothing more is sent, the replies being read are cut
(msgcli.wire.shared_transport shuts their sockets down), and every line left, cut or never sent,
gets a status-14 result line at once, from whichever thread gets there first: a
worker stuck where no cut reaches it (headers trickling in, a DNS lookup) is left
behind rather than waited for. Status 14 is not 0, so a re-run with -o redoes
exactly those lines (msgcli.jsonl.journal).

--wait: a failure once the deadline has passed is WaitExpired, exit 19; the
batches are left running, as after Ctrl-C (msgcli.batch.commands says how to collect).
"""

import threading
import time
from contextlib import contextmanager

from msgcli.api.reply import ApiError
from msgcli.errors import MsgcliError, NetworkError
from msgcli.jsonl import lines as jsonl_lines
from msgcli.status import ExitStatus
from msgcli.wire.waits import DeadlineReached

CUT = "--deadline reached before the reply was complete: the request was cut"
NOT_SENT = "--deadline reached before the request was sent"
WAIT_EXPIRED = "--deadline reached before the batches ended"


class Cutoff:
    """Which job each worker holds, so that the deadline can answer for it; every
    job's record reaches `results` exactly once."""

    def __init__(self, results, include_message, redactor, deadline=None):
        self.results, self.include_message = results, include_message
        self.redactor = redactor  # a cut line is written as every result line is
        self.deadline = deadline  # a time.monotonic() instant, or None
        self.timer = None
        self.expired = threading.Event()
        self.lock = threading.Lock()
        self.inflight = {}  # seq -> (record, custom_id): taken by a worker, not yet put
        self.queued = self.answered = 0  # jobs queued for the workers; their records put

    def take(self, record, custom_id):
        """A worker takes a job: False when it is too late to send it."""
        with self.lock:
            if not self.expired.is_set():
                self.inflight[record.seq] = (record, custom_id)
            return not self.expired.is_set()

    def give_back(self, record):
        """A worker is done with its job: False when the deadline answered for it."""
        with self.lock:
            return self.inflight.pop(record.seq, None) is not None

    def answer(self, record):
        """Hand a job's record to the writer."""
        self.results.put(record)
        with self.lock:
            self.answered += 1

    def cut(self, record, custom_id, why=NOT_SENT):
        """`record` as a line that the deadline stopped: status 14."""
        line = jsonl_lines.error_result(custom_id, DeadlineReached(why),
                                        include_message=self.include_message)
        record.status = line["status"]
        record.data = jsonl_lines.dumps(line, self.redactor).encode("utf-8", "surrogatepass")
        return record

    def drop(self, record, custom_id, stopped):
        """A job not sent: its line says so, or, once the run was stopped (Ctrl-C,
        a failure that dooms every request), it has none (msgcli.jsonl.runner)."""
        self.answer(record if stopped else self.cut(record, custom_id))

    def expire(self, transport):
        """The deadline: each request in flight gets its line now, and is cut."""
        with self.lock:
            if self.expired.is_set():
                return
            self.expired.set()
            claimed, self.inflight = list(self.inflight.values()), {}
        for record, custom_id in claimed:
            self.answer(self.cut(record, custom_id, CUT))
        transport.gate.release()
        transport.cut()

    def arm(self, transport):
        """expire() at the deadline."""
        if self.deadline is not None:
            self.timer = threading.Timer(max(self.deadline - time.monotonic(), 0),
                                         self.expire, (transport,))
            self.timer.daemon = True
            self.timer.start()

    def disarm(self):
        if self.timer is not None:
            self.timer.cancel()

    def ended(self, workers, settle, tick):
        """Whether every worker is done, waiting up to `tick` for one; past the
        deadline, once `settle()` says every job has its record: a worker still in
        a request that was cut is not waited for."""
        for thread in workers:
            if self.expired.is_set() and settle():
                return True
            thread.join(tick)
            if thread.is_alive():
                return False
        return True

    def settled(self):
        """Whether every job queued has its record."""
        with self.lock:
            return self.answered >= self.queued

    def queued_one(self):
        with self.lock:
            self.queued += 1


class WaitExpired(MsgcliError):
    """--deadline passed while batches were still in progress: exit 19, as for
    --batch-results without --wait on such a batch."""

    exit_code = ExitStatus.BATCH_NOT_ENDED


@contextmanager
def polling(deadline):
    """Around a wait: past `deadline` (a time.monotonic() instant), a failed poll,
    or one cut by SIGALRM, is WaitExpired."""
    try:
        yield
    except (NetworkError, ApiError):  # DeadlineReached included
        if deadline is None or time.monotonic() < deadline - 0.01:
            raise
        raise WaitExpired(WAIT_EXPIRED) from None
