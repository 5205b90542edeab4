"""The Anthropic API without a stored key: workload identity federation.

A CI job's OIDC identity token (GitHub Actions' included) is exchanged at
POST {base}/v1/oauth/token (the RFC 7523 jwt-bearer grant) for a short-lived token,
sent as Authorization: Bearer with anthropic-beta oauth-2025-04-20. The variables are
the SDK's: ANTHROPIC_FEDERATION_RULE_ID, ANTHROPIC_ORGANIZATION_ID,
ANTHROPIC_SERVICE_ACCOUNT_ID, ANTHROPIC_WORKSPACE_ID, and the identity token in
ANTHROPIC_IDENTITY_TOKEN_FILE (read again at each exchange) or ANTHROPIC_IDENTITY_TOKEN.
ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN win over them (msgcli.cli.options).

A GitHub identity token may be spent once: the exchanged token is cached, private to
the user (0600, in a 0700 directory), until shortly before it expires, and the
exchange holds a lock, so that several msgcli processes in one job share one token
(a run waits for another's exchange at most LOCK_WAIT_SECONDS, then exit 16).
A long --jsonl run exchanges again before the token expires; a 401 drops the token
and exchanges once more.
"""

import errno
import hashlib
import json
import math
import os
import time

from msgcli import status
from msgcli.api.defaults import DEFAULT_BASE_URL
from msgcli.api.reply import loads
from msgcli.errors import (
    BadResponseError,
    CredentialsError,
    InputError,
    MsgcliError,
    NetworkError,
)
from msgcli.platforms.base import Platform, PlatformRequest, beta_names, without

TOKEN_PATH = "/v1/oauth/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OAUTH_BETA = "oauth-2025-04-20"
FEDERATION_BETA = "oidc-federation-2026-04-01"
# exchange again this long before the token expires (the SDK's advisory margin), or
# at a quarter of its lifetime for a token that lives less than 8 minutes
REFRESH_MARGIN = 120.0
EXCHANGE_TIMEOUT = 30.0
# a reply without a usable expires_in (absent, not a number, not above zero): the
# token is taken to live this long (a 401 still drops it early); and none is kept
# longer than a day, whatever the reply says
DEFAULT_LIFETIME = 600.0
MAX_LIFETIME = 24 * 3600.0
# How long a run waits for another's exchange (it holds the cache's lock for up to
# EXCHANGE_TIMEOUT per read, so a little more) before it gives up (exit 16)
LOCK_WAIT_SECONDS = 60.0
MAX_ASSERTION_BYTES = 16 * 1024
MAX_REPLY_BYTES = 1 << 20
HINT = ("set ANTHROPIC_FEDERATION_RULE_ID, ANTHROPIC_ORGANIZATION_ID and "
        "ANTHROPIC_IDENTITY_TOKEN_FILE (or ANTHROPIC_IDENTITY_TOKEN), or "
        "ANTHROPIC_API_KEY")


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "msgcli")


class Federated(Platform):
    name = "anthropic"

    def __init__(self, opts, console):
        super().__init__(opts, console)
        env = os.environ
        self.rule = env.get("ANTHROPIC_FEDERATION_RULE_ID")
        self.organization = env.get("ANTHROPIC_ORGANIZATION_ID")
        self.service_account = env.get("ANTHROPIC_SERVICE_ACCOUNT_ID") or None
        self.workspace = env.get("ANTHROPIC_WORKSPACE_ID") or None
        self.token_file = env.get("ANTHROPIC_IDENTITY_TOKEN_FILE") or None
        self.identity = self.secret(env.get("ANTHROPIC_IDENTITY_TOKEN") or None)
        self.endpoint = (opts.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._token = None
        self._expires = 0.0
        key = "\n".join(str(v) for v in (self.endpoint, self.rule, self.organization,
                                         self.service_account, self.workspace))
        self.cache_file = os.path.join(
            cache_dir(), f"federation-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json")

    def announce(self):
        if self.opts.verbose:
            self.console.line(f"platform anthropic (workload identity federation), "
                              f"endpoint {self.endpoint}")

    auth_hint = "check the federation rule, ANTHROPIC_ORGANIZATION_ID and the " \
                "identity token (or ANTHROPIC_WORKSPACE_ID)"

    # -- the request: the Anthropic API's, with the OAuth beta -----------------------

    def prepare(self, req):
        headers = without(req.headers, "anthropic-beta")
        betas = beta_names(req.headers)
        headers["anthropic-beta"] = ",".join(betas + [OAUTH_BETA] * (OAUTH_BETA not in betas))
        return PlatformRequest(req.url, headers, req.body, self, req.body.get("model"))

    def static(self, dry_run=False):
        """(credentials, extra betas) for the calls that send fixed headers (the model
        list, the batch commands): a token good for the run."""
        token = "federated-token-not-exchanged" if dry_run else self.token()
        return (None, token), (OAUTH_BETA,)

    def require_credentials(self):
        if not (self.organization and self.rule):
            raise CredentialsError(f"workload identity federation: {HINT}")
        if not (self.token_file or self.identity):
            raise CredentialsError("workload identity federation: no identity token: "
                                   "set ANTHROPIC_IDENTITY_TOKEN_FILE (or "
                                   "ANTHROPIC_IDENTITY_TOKEN)")

    def auth_headers(self, req, headers):
        return {"authorization": f"Bearer {self.token()}"}

    def renew(self):
        with self._lock:
            refused, self._token, self._expires = self._token, None, 0.0
            cached = self._read_cache()
            if cached and cached[0] == refused:
                try:
                    os.unlink(self.cache_file)
                except OSError:
                    pass
        return True

    # -- the token ---------------------------------------------------------------------

    def token(self):
        with self._lock:
            if self._token and time.time() < self._expires:
                return self._token
            self.require_credentials()
            cached = self._read_cache()
            if cached is None:
                with _FileLock(self.cache_file + ".lock", self.console):
                    cached = self._read_cache()  # another process may have just exchanged
                    if cached is None:
                        cached = self._exchange()
                        self._write_cache(*cached)
            self._token, self._expires = cached
            return self._token

    def _read_cache(self):
        """(token, time to exchange again) from the cache, or None when it has none
        still good, or is not private to this user."""
        try:
            fd = os.open(self.cache_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                return None
            try:
                value = json.loads(f.read(MAX_REPLY_BYTES))
                token, refresh = value["access_token"], float(value["refresh_at"])
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                return None
        # what _write_cache would not have written (NaN, a token no header carries):
        # not this run's cache, so not trusted
        if not isinstance(token, str) or not token or not math.isfinite(refresh) or \
                time.time() >= refresh or refresh > time.time() + MAX_LIFETIME:
            return None
        self.secret(token)
        try:
            self.check_credential("authorization", token, "the federation token cache",
                                  CredentialsError)
        except CredentialsError:
            return None
        return token, refresh

    def _write_cache(self, token, refresh):
        from msgcli.output import atomic

        try:
            atomic.write_private(self.cache_file, json.dumps(
                {"access_token": token, "refresh_at": refresh}), "the federation token cache")
        except InputError as e:  # a read-only home: the token still serves this run
            if self.opts.verbose:
                self.console.line(f"cannot cache the federation token: {e.message}")

    def _assertion(self):
        if self.token_file:
            try:
                with open(self.token_file, "rb") as f:
                    raw = f.read(MAX_ASSERTION_BYTES + 1)
            except OSError as e:
                raise CredentialsError(f"ANTHROPIC_IDENTITY_TOKEN_FILE {self.token_file!r} "
                                       f"cannot be read: {e.strerror or e}") from None
            assertion = raw.decode("utf-8", "replace").strip()
        else:
            assertion = self.identity.strip()
        if len(assertion.encode()) > MAX_ASSERTION_BYTES:
            raise CredentialsError("the identity token is over 16 KiB: not a JWT; check "
                                   "ANTHROPIC_IDENTITY_TOKEN_FILE")
        if not assertion:
            raise CredentialsError("the identity token is empty; check "
                                   "ANTHROPIC_IDENTITY_TOKEN_FILE")
        return self.secret(assertion)

    def _exchange(self):
        import requests

        body = {"grant_type": GRANT_TYPE, "assertion": self._assertion(),
                "federation_rule_id": self.rule, "organization_id": self.organization}
        if self.service_account:
            body["service_account_id"] = self.service_account
        if self.workspace:
            body["workspace_id"] = self.workspace
        url = self.endpoint + TOKEN_PATH
        if self.opts.verbose:
            self.console.line(f"POST {url} (workload identity token exchange)")
        started = time.time()
        try:
            with requests.Session() as session:
                session.trust_env = True
                session.auth = lambda r: r  # no ~/.netrc credentials beside the assertion
                response = session.post(
                    url, data=json.dumps(body), timeout=EXCHANGE_TIMEOUT, stream=True,
                    allow_redirects=False,
                    headers={"anthropic-beta": f"{OAUTH_BETA},{FEDERATION_BETA}",
                             "content-type": "application/json",
                             "accept": "application/json", "accept-encoding": "identity"})
                raw = response.raw.read(MAX_REPLY_BYTES + 1, decode_content=False)
        except requests.RequestException as e:
            from msgcli.wire.neterrors import describe_network_error

            raise NetworkError(f"network error: the workload identity token exchange "
                               f"at {url}: {describe_network_error(e)}") from None
        value = None
        try:
            value = loads(raw)
        except RecursionError:
            if response.status_code < 300:
                raise BadResponseError(f"the workload identity token exchange answered "
                                       f"HTTP {response.status_code} with JSON nested too "
                                       "deeply") from None
        except (ValueError, MemoryError):
            pass
        if response.status_code >= 300:
            detail = ""
            if isinstance(value, dict):
                error = value.get("error")
                if isinstance(error, dict):  # the API's own error shape
                    error = f"{error.get('type', '')}: {error.get('message', '')}"
                # redacted before the cut: the server may echo the assertion
                detail = ": " + self.excerpt(" ".join(str(v) for v in (error, value.get(
                    "error_description")) if v), 256)
            code = status.ExitStatus.SERVER_ERROR if response.status_code >= 500 \
                else status.ExitStatus.AUTH
            raise MsgcliError(f"workload identity token exchange failed: HTTP "
                              f"{response.status_code}{detail}; {self.auth_hint}", code)
        token = value.get("access_token") if isinstance(value, dict) else None
        if not isinstance(token, str) or not token:
            raise MsgcliError("the workload identity token exchange answered without an "
                              "access_token", status.ExitStatus.SERVER_ERROR)
        self.secret(token)
        self.check_credential("authorization", token, "the workload identity token "
                              "exchange's access_token", BadResponseError)
        lifetime = _lifetime(value.get("expires_in"))
        margin = min(REFRESH_MARGIN, lifetime / 4)
        return token, started + lifetime - margin


def _lifetime(expires_in):
    """The token's lifetime in seconds from the reply's expires_in: a number above
    zero, at most MAX_LIFETIME; DEFAULT_LIFETIME for anything else (absent, a string,
    NaN, zero or less: a server that cannot say is not believed to mean "already
    expired", which would exchange at every request)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        return DEFAULT_LIFETIME
    if isinstance(expires_in, int) and expires_in > MAX_LIFETIME:
        return MAX_LIFETIME  # an int float() cannot hold (10**400) is just long
    lifetime = float(expires_in)
    if not lifetime > 0:  # NaN too
        return DEFAULT_LIFETIME
    return min(lifetime, MAX_LIFETIME)  # infinity (1e400) too


class _FileLock:
    """An exclusive lock held across processes (flock), waited for up to `wait`
    seconds (saying so on a terminal), then given up (exit 16): a process that hangs
    holding it must not hang every other. Where there is no flock, nothing."""

    def __init__(self, path, console=None, wait=None):
        self.path = path
        self.console = console
        self.wait = LOCK_WAIT_SECONDS if wait is None else wait
        self.fd = None

    def __enter__(self):
        try:
            import fcntl

            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except (ImportError, OSError):
            self.fd = None
            return self
        try:
            self._acquire(fcntl)
        except BaseException:
            self._release()
            raise
        return self

    def _acquire(self, fcntl):
        deadline = time.monotonic() + self.wait
        delay = 0.02
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    self._release()  # a file system without locks: go on without one
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise MsgcliError(
                    f"the federation token cache {self.path!r} is busy: another run "
                    f"has held its lock for {self.wait:g} s while exchanging; nothing "
                    "was sent", status.ExitStatus.CONVERSATION_BUSY)
            if self.console is not None:
                self.console.status("waiting for another run's workload identity "
                                    "token exchange")
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.5)

    def _release(self):
        if self.console is not None:
            self.console.clear_status()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __exit__(self, *exc):
        self._release()  # closing releases the lock
