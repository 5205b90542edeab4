"""What every platform shares: the request it sends (a Messages request adapted to
it, authorised when sent), the send itself (fresh credentials on each attempt, one
retry after a 401 when the credentials can be renewed), and the -v line naming it.

A platform module says where the request goes and what it looks like there
(prepare), how it is authorised (auth_headers), what its errors look like
(summarize) and what it calls its model ids (default_model).
"""

import copy
import json
import re
import threading

from msgcli.api import request
from msgcli.api.reply import error_summary
from msgcli.errors import CredentialsError, InputError
from msgcli.output.redaction import REDACTED, excerpt

SECRET_HEADERS = request.SECRET_HEADERS | {"api-key", "x-amz-security-token"}
# A region or resource name becomes part of a host name: one DNS label, nothing that
# could end the host and send the credentials elsewhere ("evil.example/x?")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def host_label(value, source):
    """`value` (a region, a resource) when it is a plain host label, else refused
    (exit 2) naming `source`, the variable it came from."""
    if not _HOST_LABEL.fullmatch(value):
        raise InputError(f"{source} {value!r} is not a region or resource name (letters, "
                         "digits and hyphens only)")
    return value


class PlatformRequest(request.Request):
    """A Request whose credentials are added when it is sent, by its platform."""

    secret_headers = SECRET_HEADERS

    def __init__(self, url, headers, body, platform, model=None, stream_decoder=None):
        self.payload = encode(body)
        super().__init__(url, headers, body, request.EncodedBody([self.payload]))
        self.auth = platform
        self.model = model
        self.stream_decoder = stream_decoder

    def with_body(self, body):
        twin = copy.copy(self)
        twin.body = body
        twin.payload = encode(body)
        twin.data = request.EncodedBody([twin.payload])
        return twin

    def require_credentials(self):
        self.auth.require_credentials()

    def shown(self):
        """For --dry-run: the headers as sent, each credential masked."""
        twin = copy.copy(self)
        twin.headers = {**self.headers, **self.auth.shown_headers()}
        return twin


def encode(body):
    """The body as bytes: a signature covers the bytes, so they are made once."""
    return b"".join(request.encode_body(body))


def beta_names(headers):
    value = next((v for k, v in headers.items() if k.lower() == "anthropic-beta"), "")
    return [b.strip() for b in value.split(",") if b.strip()]


def without(headers, *names):
    lowered = {n.lower() for n in names}
    return {k: v for k, v in headers.items() if k.lower() not in lowered}


class Platform:
    name = "?"
    region = None
    endpoint = None
    default_model = None  # None: -m is required there

    def __init__(self, opts, console):
        self.opts = opts
        self.console = console
        self.redactor = console.redactor
        self._lock = threading.Lock()

    # -- what a conductor calls --------------------------------------------------------

    def credentials(self, keys):
        """The Anthropic credentials the request builder may put in headers: none for
        a cloud platform (its own go in when the request is sent)."""
        return None, None

    def announce(self):
        """-v: where the requests go."""
        if self.opts.verbose:
            where = f", region {self.region}" if self.region else ""
            self.console.line(f"platform {self.name}{where}, endpoint {self.endpoint}")

    def model_of(self, body):
        """The model the request names, the platform's default when only msgcli's
        own default stood in for it."""
        model = body.get("model")
        if self.opts.model is None and model == request.DEFAULT_MODEL:
            if self.default_model is None:
                raise InputError(f"--platform {self.name}: give the model with -m "
                                 "(its ids differ by platform; see docs/platforms.md)")
            model = self.default_model
        if not isinstance(model, str) or not model.strip():
            raise InputError("the request names no model: give -m")
        return model

    def prepare(self, req):
        raise NotImplementedError

    def send(self, transport, req):
        """transport.request() with fresh credentials; after a 401, once more with
        renewed ones where the platform can renew them."""
        from msgcli.api.reply import ApiError

        try:
            return self._send(transport, req)
        except ApiError as e:
            if e.http_status != 401 or not self.renew():
                raise
        return self._send(transport, req)

    def _send(self, transport, req):
        headers = dict(req.headers)
        headers.setdefault("accept-encoding", "identity")  # signed as it is sent
        added = self.auth_headers(req, headers)
        # each credential was checked where it came from, naming its source; this is
        # the net under them: requests would refuse such a value showing it, escaped
        # past the redactor
        for name, value in added.items():
            self.check_credential(name, value, f"--platform {self.name}: the {name} "
                                               "header", CredentialsError)
        headers.update(added)
        return transport.request("POST", req.url, headers, req.data,
                                 waiting_for=req.model or "the server",
                                 platform=self)

    # -- what a platform module fills in -----------------------------------------------

    def require_credentials(self):
        pass

    def auth_headers(self, req, headers):
        return {}

    def shown_headers(self):
        return {"authorization": REDACTED}

    def renew(self):
        """Drop credentials the server refused; True when new ones can be had."""
        return False

    def summarize(self, body, content_type, headers):
        return error_summary(body, content_type)

    auth_hint = "check the platform's credentials"

    def hint(self, code):
        """The hint for an error of exit status `code` (None: the usual one)."""
        from msgcli.status import ExitStatus

        return f"--platform {self.name}: {self.auth_hint}" if code == ExitStatus.AUTH \
            else None

    def request_id(self, headers):
        return None

    def secret(self, value):
        """A credential: no output may show it."""
        if value:
            self.redactor.add(value)
        return value

    @staticmethod
    def check_credential(header, value, source, error=InputError):
        """`value`, refused (as `error`, naming `source`, never showing it) when the
        `header` it goes in cannot carry it: a CR or LF, a character beyond Latin-1.
        A variable the user set is exit 2; a token a server or a credential chain
        gave, exit 11 (or 13, a reply that is not what was asked)."""
        request.check_header_value(header, value, source, error)
        return value

    def excerpt(self, text, size):
        """At most `size` characters of server- or library-made text for a message,
        redacted first (msgcli.output.redaction.excerpt: every secret this run knows,
        the platform's among them, however it is escaped)."""
        return excerpt(text, size)

    def chain_token(self, token, what):
        """A token a credential chain gave (`what` names it): a secret from now on,
        and refused (exit 11) when it is missing or a header cannot carry it."""
        token = self.secret(token)
        if not isinstance(token, str) or not token:
            raise CredentialsError(f"{what} is missing; {self.auth_hint}")
        return self.check_credential("authorization", token, what, CredentialsError)


def json_error(body):
    """An error body's JSON value, or None."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None
