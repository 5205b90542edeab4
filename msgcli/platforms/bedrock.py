"""Amazon Bedrock: the InvokeModel endpoints (--platform bedrock) and Bedrock's
Messages API endpoint (--platform bedrock-mantle).

Authorisation, two ways: a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK, sent as a
bearer token, no extra package), or SigV4 with the standard AWS credential chain
(environment, AWS_PROFILE, SSO, web identity, container and instance metadata), both
through botocore, the optional extra msgcli[bedrock]. The request is signed as it
is sent, with credentials botocore refreshes when they expire.

InvokeModel takes the Messages body without model and stream, with anthropic_version
"bedrock-2023-05-31" and any anthropic-beta moved into the body as anthropic_beta;
the model id (an ARN too) is a quoted path segment. Its stream is AWS's binary
event-stream (msgcli.platforms.eventstream). The Messages endpoint
(bedrock-mantle.{region}.api.aws/anthropic) is the Anthropic API's shape with SSE,
signed for the service bedrock-mantle.
"""

import os
import urllib.parse

from msgcli.api.defaults import BEDROCK_DEFAULT_MODEL
from msgcli.api.reply import STREAM, WHOLE, kind
from msgcli.errors import BadResponseError, CredentialsError, InputError
from msgcli.output.redaction import REDACTED
from msgcli.platforms import eventstream
from msgcli.platforms.base import (
    Platform,
    PlatformRequest,
    beta_names,
    host_label,
    json_error,
    without,
)

BEDROCK_VERSION = "bedrock-2023-05-31"
# Haiku 4.5 through the global cross-region inference profile: msgcli's default model
# where Bedrock serves it (docs/platforms.md)
DEFAULT_MODEL = BEDROCK_DEFAULT_MODEL
NO_CREDENTIALS = ("no AWS credentials: set AWS_BEARER_TOKEN_BEDROCK to a Bedrock API "
                  "key, or install botocore (pip install 'msgcli[bedrock]') and give "
                  "AWS credentials (environment, AWS_PROFILE, SSO, web identity, "
                  "instance role)")


def _botocore_session():
    """A botocore session (it reads AWS_PROFILE and the shared files itself), or None
    when botocore is not installed."""
    try:
        import botocore.session
    except ImportError:
        return None
    try:
        return botocore.session.Session()
    except Exception as e:  # a profile that does not exist, a broken config file
        raise CredentialsError(f"AWS configuration: {e}") from None


def region(session):
    """AWS_REGION, then AWS_DEFAULT_REGION, then the profile's: never a silent guess,
    and never one that is not a plain host label (it makes the endpoint's host)."""
    source = next((name for name in ("AWS_REGION", "AWS_DEFAULT_REGION")
                   if os.environ.get(name)), None)
    found = os.environ.get(source) if source else None
    if not found and session is not None:
        try:
            found = session.get_config_variable("region")
        except Exception:
            found = None
        profile = os.environ.get("AWS_PROFILE") or "default"
        source = f"the region of the AWS profile {profile!r}"
    if not found:
        raise InputError("--platform bedrock needs an AWS region: set AWS_REGION (or "
                         "AWS_DEFAULT_REGION, or a region in the AWS_PROFILE profile)")
    return host_label(str(found), source)


class SigV4:
    """Signs with botocore's SigV4 and credential chain, refreshed as they expire."""

    def __init__(self, session, service, region_name, platform):
        self.service, self.region, self.platform = service, region_name, platform
        try:
            self.credentials = session.get_credentials()
        except Exception as e:  # an SSO session that has expired, a broken profile
            raise CredentialsError(f"AWS credentials: {e}; {NO_CREDENTIALS}") from None
        if self.credentials is None:
            raise CredentialsError(NO_CREDENTIALS)
        self.frozen()

    def frozen(self):
        try:
            frozen = self.credentials.get_frozen_credentials()
        except Exception as e:
            raise CredentialsError(f"AWS credentials: {e}") from None
        self.platform.secret(frozen.secret_key)
        self.platform.secret(frozen.token)
        self.check(frozen)
        return frozen

    def check(self, frozen):
        """The key id and session token go in headers, the secret key into an HMAC:
        each refused, named by where it came from, when it cannot go there."""
        method = getattr(self.credentials, "method", None)
        for field, variable, header in (("access_key", "AWS_ACCESS_KEY_ID", "authorization"),
                                        ("token", "AWS_SESSION_TOKEN", "x-amz-security-token"),
                                        ("secret_key", "AWS_SECRET_ACCESS_KEY", None)):
            value = getattr(frozen, field, None)
            if not isinstance(value, str):
                continue
            if method == "env":
                source, error = variable, InputError
            else:
                source, error = f"the AWS credentials ({method or 'credential chain'}): " \
                                f"{field}", CredentialsError
            if header:
                self.platform.check_credential(header, value, source, error)
            else:
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise error(f"{source}: the value is not valid text (undecodable "
                                "bytes)") from None

    def headers(self, method, url, headers, data):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # a proxy may drop Connection: it is not signed (requests adds its own)
        aws = AWSRequest(method=method, url=url, headers=without(headers, "connection"),
                         data=data)
        SigV4Auth(self.frozen(), self.service, self.region).add_auth(aws)
        return {k: v for k, v in aws.headers.items()
                if k.lower() in ("authorization", "x-amz-date", "x-amz-security-token")}


class Bedrock(Platform):
    name = "bedrock"
    service = "bedrock"
    base_url_variable = "ANTHROPIC_BEDROCK_BASE_URL"
    default_model = DEFAULT_MODEL

    def __init__(self, opts, console):
        super().__init__(opts, console)
        self.token = self.secret(os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None)
        if self.token:
            self.check_credential("authorization", self.token, "AWS_BEARER_TOKEN_BEDROCK")
        session = None if self.token else _botocore_session()
        self.region = region(session)
        self.endpoint = (os.environ.get(self.base_url_variable) or
                         self.default_endpoint()).rstrip("/")
        self._session = session
        self._signer = None

    def default_endpoint(self):
        return f"https://bedrock-runtime.{self.region}.amazonaws.com"

    # -- credentials -----------------------------------------------------------------

    def require_credentials(self):
        if self.token:
            return
        if self._session is None:
            raise CredentialsError(NO_CREDENTIALS)
        if self._signer is None:
            with self._lock:
                if self._signer is None:
                    self._signer = SigV4(self._session, self.service, self.region, self)

    def auth_headers(self, req, headers):
        if self.token:
            return {"authorization": f"Bearer {self.token}"}
        self.require_credentials()
        return self._signer.headers("POST", req.url, headers, req.payload)

    def shown_headers(self):
        if self.token:
            return {"authorization": REDACTED}
        return {"authorization": REDACTED, "x-amz-date": "(set when signed)"}

    # -- the request -----------------------------------------------------------------

    def prepare(self, req):
        body = dict(req.body)
        model = self.model_of(body)
        body.pop("model", None)
        stream = body.pop("stream", False)
        body.setdefault("anthropic_version", BEDROCK_VERSION)
        betas = beta_names(req.headers)
        if betas:
            body.setdefault("anthropic_beta", betas)
        head = model.partition(";")[0]
        if head in (".", ".."):
            raise InputError(f"-m {model!r} is not a model id")
        path = urllib.parse.quote(model, safe=":")
        action = "invoke-with-response-stream" if stream else "invoke"
        headers = without(req.headers, "anthropic-beta")
        if stream:
            headers["accept"] = eventstream.MEDIA_TYPE
        return PlatformRequest(f"{self.endpoint}/model/{path}/{action}", headers, body,
                               self, model, Decoder(self.redactor) if stream else None)

    auth_hint = ("check AWS_BEARER_TOKEN_BEDROCK or the AWS credentials, and that the "
                 "account has access to the model in this region")

    def request_id(self, headers):
        return headers.get("x-amzn-requestid")

    def summarize(self, body, content_type, headers):
        """Bedrock's errors: {"message": ...} (or "Message"), the kind in
        x-amzn-ErrorType ("ThrottlingException:http://..."); an Anthropic error object
        passes through as it is."""
        value = json_error(body)
        kind_ = (headers.get("x-amzn-errortype") or "").split(":")[0].strip()
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            return super().summarize(body, content_type, headers)
        if isinstance(value, dict) and ("message" in value or "Message" in value):
            message = value.get("message") or value.get("Message")
            return kind_ or str(value.get("__type") or "error"), str(message or "")
        if kind_:
            return kind_, ""
        return super().summarize(body, content_type, headers)


class Decoder:
    """InvokeModelWithResponseStream's reply: an event stream of frames, read as SSE."""

    def __init__(self, redactor=None):
        self.redactor = redactor  # for an exception frame's text, cut short

    @staticmethod
    def kind(http_status, content_type):
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type == eventstream.MEDIA_TYPE:
            return STREAM
        found = kind(http_status, content_type)
        if found == WHOLE:
            raise BadResponseError(f"the server answered HTTP {http_status} to a stream "
                                   f"request with {media_type or 'JSON'}, not an event "
                                   "stream; check ANTHROPIC_BEDROCK_BASE_URL")
        return found

    def __call__(self, chunks):
        return eventstream.to_sse(chunks, self.redactor)


class Mantle(Bedrock):
    """Bedrock's Messages API endpoint: the Anthropic API's paths, SSE, and bodies
    (model included), signed for the service bedrock-mantle."""

    name = "bedrock-mantle"
    service = "bedrock-mantle"
    base_url_variable = "ANTHROPIC_BEDROCK_MANTLE_BASE_URL"
    default_model = None  # its model ids are its own: -m is required

    def default_endpoint(self):
        return f"https://bedrock-mantle.{self.region}.api.aws/anthropic"

    def prepare(self, req):
        body = dict(req.body)
        model = self.model_of(body)
        if "model" in body:
            body["model"] = model
        path = urllib.parse.urlsplit(req.url).path
        query = urllib.parse.urlsplit(req.url).query
        url = f"{self.endpoint}{path}" + (f"?{query}" if query else "")
        return PlatformRequest(url, dict(req.headers), body, self, model)
