"""The Transport that the -P workers of --jsonl share: one session, one connection
pool of -P, one rate-limit gate (msgcli.wire.ratelimit).

What a Transport keeps about "the" request (its attempt count, the request-id of
its reply) is kept per thread here, and it shows no waiting line of its own: the
run has one progress line for all its requests (msgcli.jsonl.tally).

At --deadline the run calls cut(): no request is sent after it, and the reply
each thread is reading is cut by shutting its socket down, which wakes a read
blocked on a server that trickles its reply a byte at a time (a read timeout
never fires there, as every byte restarts it).
"""

import socket
import threading

from msgcli.api.reply import ApiError
from msgcli.wire.ratelimit import Gate
from msgcli.wire.transport import Transport
from msgcli.wire.waits import DeadlineReached


class _NoStatusLine:
    """The console, minus the terminal status line (each message still goes out)."""

    def __init__(self, console):
        self._console = console

    def __getattr__(self, name):
        return getattr(self._console, name)

    def is_terminal(self):
        return False


class SharedTransport(Transport):
    def __init__(self, retries, timeout, console, verbose, parallel, max_wait=None,
                 deadline=None):
        self._local = threading.local()
        self.gate = Gate(parallel)
        self._cut_lock = threading.Lock()
        self._cut = False
        self._reading = {}  # thread id -> the reply it last got (its body maybe unread)
        super().__init__(retries, timeout, _NoStatusLine(console), verbose=verbose,
                         gate=self.gate, pool_size=parallel, max_wait=max_wait,
                         deadline=deadline)

    attempts = property(lambda self: getattr(self._local, "attempts", 1),
                        lambda self, value: setattr(self._local, "attempts", value))

    @property
    def request_id(self):
        """The request-id of the reply this thread last got."""
        return getattr(self._local, "request_id", None)

    def send(self, req):
        """Pass the gate, send, and let the gate learn from the reply's rate-limit
        headers. (A 429 that used up the retries closes nothing: the requests
        still retrying report their own 429s through ApiRetry.)"""
        self.attempts = 1
        self._local.request_id = None
        self.gate.wait()
        if self._cut:  # the deadline passed while this request waited its turn
            self.gate.observe(None, None)  # counted as sent by the gate: it was not
            raise DeadlineReached("--deadline reached before the request was sent")
        try:
            response = super().send(req)
        except ApiError as e:
            self._local.request_id = e.request_id
            self.gate.observe(None, None)  # answered (its last retry is not news)
            raise
        except BaseException:
            self.gate.observe(None, None)
            raise
        self._local.request_id = response.headers.get("request-id")
        self.gate.observe(response.status_code, response.headers)
        return response

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        with self._cut_lock:
            self._reading[threading.get_ident()] = response
            if self._cut:
                _shut(response)
        return response

    def cut(self):
        """The deadline: send nothing more, and cut every reply still being read."""
        with self._cut_lock:
            self._cut = True
            replies, self._reading = list(self._reading.values()), {}
        for response in replies:
            _shut(response)


def _shut(response):
    """Shut down the socket of a reply still on its connection (a reply read to its
    end has given the connection back: `connection` is None then). shutdown, not
    close: it wakes a read blocked in another thread, and frees no descriptor that
    thread could then read from under another owner."""
    sock = getattr(getattr(getattr(response, "raw", None), "connection", None), "sock",
                   None)
    if isinstance(sock, socket.socket):
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # TLS too: the raw socket
        except OSError:
            pass
