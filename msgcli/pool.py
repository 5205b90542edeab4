"""The Transport that the -P workers of --jsonl share: one session, one connection
pool of -P, one rate-limit gate (msgcli.ratelimit).

What a Transport keeps about "the" request (its attempt count, the request-id of
its reply) is kept per thread here, and it shows no waiting line of its own: the
run has one progress line for all its requests (msgcli.tally).
"""

import threading

from msgcli.errors import ApiError
from msgcli.ratelimit import Gate
from msgcli.transport import Transport


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
