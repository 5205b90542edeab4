"""Sending the request: one requests session with urllib3's Retry mounted on it.

Retry policy (as the official SDKs): retry 408, 409, 429 and every 5xx (529
included), connection errors and timeouts; never other 4xx. `x-should-retry`
overrides that when present. Waits obey `retry-after-ms`/`retry-after` (as SDK
2.x, with no 60 s ceiling), otherwise exponential backoff from 0.5 s, doubling,
capped at 8 s, with jitter. Only what happens before the response starts is
retried: a stream that breaks after output was written is never sent again.
Waits are bounded by --max-wait and --deadline (msgcli.wire.waits).

Every network failure, before the reply or while reading it, becomes a
NetworkError here. msgcli asks for an uncompressed reply and refuses any other,
so what it reads is bounded by the bytes that arrive (see msgcli.api.limits).
"""

import random
import time
from contextlib import nullcontext

import requests
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from urllib3.exceptions import HTTPError, InvalidHeader
from urllib3.util.retry import Retry

from msgcli import status
from msgcli.api.limits import MAX_REPLY_BYTES, MAX_STREAM_BYTES, megabytes
from msgcli.api.reply import ApiError, error_summary
from msgcli.errors import BadResponseError, NetworkError
from msgcli.output.progress import Waiting
from msgcli.wire import chunked
from msgcli.wire.waits import WaitLimits

CONNECT_TIMEOUT = 5.0
# time.sleep's platform limit, as the SDK guards it; --max-wait is the real bound
LONGEST_SLEEP = 4_294_967.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0


def describe_network_error(error):
    """msgcli.wire.neterrors' line for a network error, loaded when one happens."""
    from msgcli.wire import neterrors

    return neterrors.describe_network_error(error)


def should_retry(http_status, headers):
    override = (headers.get("x-should-retry") or "").strip().lower()
    if override == "true":
        return True
    if override == "false":
        return False
    return retryable_status(http_status)


def retryable_status(http_status):
    """The statuses worth another try, as the official SDKs retry them."""
    return http_status in (408, 409, 429) or (http_status or 0) >= 500


def retry_after_seconds(headers, maximum=None):
    """The server's requested wait in seconds, or None when absent, unparsable, not
    positive (then msgcli backs off as usual) or over `maximum`."""
    value = headers.get("retry-after-ms")
    seconds = None
    if value is not None:
        try:
            seconds = float(value) / 1000.0
        except ValueError:
            seconds = None
    if seconds is None and headers.get("retry-after") is not None:
        try:
            seconds = float(headers["retry-after"])
        except ValueError:
            try:
                seconds = Retry().parse_retry_after(headers["retry-after"])
            except (InvalidHeader, ValueError, OverflowError):  # a date in year 99999
                seconds = None
    if seconds is None or not seconds > 0 or (maximum is not None and seconds > maximum):
        return None  # NaN included
    return min(seconds, LONGEST_SLEEP)


class ApiRetry(Retry):
    """urllib3's Retry taught the Anthropic policy. urllib3 decides on the status
    code alone (is_retry), so this says yes to every error status and makes the
    real decision in increment(), which sees the headers; refusing there is
    urllib3's own way to hand the response back unretried (raise_on_status=False).
    """

    def __init__(self, *args, on_retry=None, limits=None, gate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_retry = on_retry
        self.limits = limits if limits is not None else WaitLimits()
        self.planned = None
        self.gate = gate

    def new(self, **kw):
        fresh = super().new(**kw)
        fresh.on_retry = self.on_retry
        fresh.limits = self.limits
        fresh.gate = self.gate
        return fresh

    def is_retry(self, method, status_code, has_retry_after=False):
        return bool(self.total) and status_code >= 400

    def increment(self, *args, **kwargs):
        # urllib3's arguments pass through untouched (some are its private ones); a
        # refusal is a policy with no retry left, which urllib3 itself then ends
        response = kwargs.get("response", args[2] if len(args) > 2 else None)
        policy = self
        if response is not None and not should_retry(response.status, response.headers):
            policy = self.new(total=0)
        fresh = Retry.increment(policy, *args, **kwargs)
        requested = retry_after_seconds(response.headers) if response is not None else None
        wait = requested if requested is not None else fresh.get_backoff_time()
        refusal = self.limits.refuse(wait, requested is not None)
        if refusal:  # --max-wait or --deadline: refused as above
            self.limits.refusal = refusal
            return Retry.increment(self.new(total=0), *args, **kwargs)
        fresh.planned = wait
        return fresh

    def get_backoff_time(self):
        attempts = len(self.history)
        backoff = min(INITIAL_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)
        return backoff * (1 - 0.25 * random.random())

    def sleep(self, response=None):
        wait = self.planned
        if wait is None:  # increment() always plans; this guards direct use
            wait = self.get_backoff_time()
        if self.on_retry is not None:
            # `remaining`: seconds left before --deadline (or None), for a status line
            self.on_retry(self.history[-1], response, wait,
                          remaining=self.limits.remaining())
        if self.gate is not None:  # shared by concurrent requests (msgcli.wire.ratelimit)
            return self.gate.before_retry(response, wait)
        if wait > 0:
            time.sleep(wait)


class Transport:
    def __init__(self, retries, timeout, console, verbose=False, gate=None, pool_size=None,
                 max_wait=None, deadline=None):
        self.console = console
        self.verbose = verbose
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.limits = WaitLimits(max_wait, deadline)
        self.attempts = 1
        self._request_id = None
        self.total_attempts = retries + 1
        self._waiting = None
        self.session = requests.Session()
        # Proxies and CA bundles still come from the environment, but a ~/.netrc
        # must not add an Authorization header beside the API key.
        self.session.auth = lambda r: r
        retry = ApiRetry(total=retries, connect=None, read=None, status=None, other=None,
                         redirect=0, allowed_methods=None, raise_on_status=False,
                         raise_on_redirect=False, respect_retry_after_header=True,
                         on_retry=self._on_retry, limits=self.limits, gate=gate)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_size or DEFAULT_POOLSIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def request_id(self):
        """The request-id of the last reply (for --usage-json)."""
        return self._request_id

    def _on_retry(self, history, response, wait, remaining=None):
        self.attempts += 1
        if self._waiting is not None:
            self._waiting.retrying(response, response is None and
                                   describe_network_error(history.error),
                                   wait, self.attempts, self.total_attempts)
        if not self.verbose:
            return
        if response is not None:
            rid = response.headers.get("request-id") or "-"
            what = f"HTTP {response.status} (request-id {rid})"
        else:
            what = describe_network_error(history.error)
        left = "" if remaining is None else f", {remaining:.1f} s left before --deadline"
        self.console.line(f"attempt {self.attempts - 1}: {what}; retrying in {wait:.2f} s "
                          f"(attempt {self.attempts}{left})")

    def send(self, req):
        """POST the request; return the response once its status is 2xx. A platform's
        request (msgcli.platforms) is authorised by its platform as it goes."""
        if req.auth is not None:
            return req.auth.send(self, req)
        return self.request("POST", req.url, req.headers, req.data,
                            waiting_for=req.body.get("model") or "the server")

    def request(self, method, url, headers, data=None, waiting_for=None, platform=None):
        """Any API call (the Messages call; a batch's create, poll, list, cancel and
        results; the model list): the response once its status is 2xx, body unread.
        Each call has its own retry budget. `waiting_for` (a model) shows the waiting
        line on a terminal; other calls are quick, and a wait shows its own progress.
        A `platform` (msgcli.platforms) reads its own error bodies (see error_for)."""
        headers = dict(headers)
        # Compression would let a small reply inflate without bound; nothing the
        # API sends is large enough to be worth it.
        headers.setdefault("accept-encoding", "identity")
        if self.verbose:
            self.console.line(f"{method} {url}")
        self.attempts = 1
        started = time.monotonic()
        self._waiting = Waiting(self.console, waiting_for, started, self.limits.deadline) \
            if waiting_for is not None else None
        self.limits.refusal = None
        try:
            with self._waiting or nullcontext():
                response = self.session.request(method, url, headers=headers, data=data,
                                                timeout=self.limits.timeouts(self.timeout),
                                                stream=True, allow_redirects=False)
        except requests.RequestException as e:
            raise NetworkError(self._network_message(e)) from None
        except UnicodeDecodeError:
            # requests decodes a redirect's Location as UTF-8 even when it will not
            # follow it
            raise BadResponseError("the server answered with a redirect whose Location "
                                   "is not UTF-8; check --base-url") from None
        self._request_id = response.headers.get("request-id")
        if getattr(response.raw, "enforce_content_length", None) is False:
            response.raw.enforce_content_length = True  # urllib3 1.26 passes a cut body
        if self.verbose:
            rid = response.headers.get("request-id") or "-"
            status_line = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
            self.console.line(f"{status_line}, request-id {rid}, "
                              f"{time.monotonic() - started:.3f} s, attempt {self.attempts}")
        encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            response.close()
            raise BadResponseError(f"the server compressed its reply ({encoding}) though "
                                   "msgcli asked for none")
        if response.status_code >= 300:
            raise self.error_for(response, platform)
        return response

    def _network_message(self, error):
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        what = describe_network_error(error)
        if self.limits.why():
            return f"network error{tries}: {what}; {self.limits.why()}"
        if what.startswith("TLS"):  # it carries its own hint
            return f"network error{tries}: {what}"
        return f"network error{tries}: {what}; check the connection, --base-url and " \
               "--timeout"

    def read_body(self, response, limit=MAX_REPLY_BYTES):
        """The whole body, at most `limit` bytes."""
        parts = []
        size = 0
        try:
            # a whole reply may arrive long after its headers: keep the line ticking
            with (self._waiting or Waiting(self.console, None)):
                for part in response.iter_content(65536):
                    size += len(part)
                    if size > limit:
                        raise BadResponseError(f"the reply is over {megabytes(limit)}; "
                                               "msgcli stops reading there")
                    parts.append(part)
        except requests.RequestException as e:
            raise NetworkError(self._network_message(e)) from None
        finally:
            response.close()
        return b"".join(parts)

    def iter_chunks(self, response, size=256 * 1024, limit=MAX_STREAM_BYTES, framed=False):
        """An event stream's bytes as the network delivers them, without waiting to
        fill a buffer (with `framed`, chunked.Framed pieces too, where the raw
        chunked reader is used). Read failures become NetworkError here, so a failed
        write to stdout (which happens in the caller, between reads) is never
        mistaken for one."""
        next_chunk = chunked.reader(response, size, framed)
        received = 0
        handed = None
        try:
            while True:
                try:
                    chunk = next_chunk()
                except (requests.RequestException, HTTPError, OSError) as e:  # ChunkedError
                    raise NetworkError(
                        f"the stream broke: {describe_network_error(e)}; what was printed "
                        "is incomplete (not retried, to avoid printing it twice)") from None
                if handed is not None:  # what the consumer took of the last piece
                    received += handed.taken
                    handed = None
                if isinstance(chunk, chunked.Framed):
                    handed = chunk
                    received += len(chunk.before)
                elif not chunk:
                    return
                else:
                    received += len(chunk)
                if received > limit:
                    raise BadResponseError(f"stream error: the stream is over "
                                           f"{megabytes(limit)}; msgcli stops reading there")
                yield chunk
        finally:
            response.close()

    def error_for(self, response, platform=None):
        body = self.read_body(response)
        rid = response.headers.get("request-id")
        code = status.for_http_status(response.status_code)
        hint = None
        if platform is None:
            error_type, message = error_summary(body, response.headers.get("content-type"))
        else:  # a platform's own error shape, request id and hint
            error_type, message = platform.summarize(
                body, response.headers.get("content-type"), response.headers)
            rid = rid or platform.request_id(response.headers)
            hint = platform.hint(code)
        if response.status_code < 400:
            code = status.ExitStatus.SERVER_ERROR
            message = f"unexpected HTTP {response.status_code} " \
                      f"{response.headers.get('location') or ''}".strip()
        return ApiError(code, response.status_code, error_type, message, rid,
                        attempts=self.attempts, note=self.limits.refusal, hint=hint)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
