"""Google Vertex AI: rawPredict and streamRawPredict (SSE) on the Anthropic publisher's
models, and count-tokens:rawPredict.

Authorisation, two ways: an access token given (MSGCLI_VERTEX_ACCESS_TOKEN, say from
`gcloud auth print-access-token`; no extra package), or Application Default
Credentials through google-auth, the optional extra msgcli[vertex]: a service
account's JSON in GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, workload
identity federation (the external_account file google-github-actions/auth writes), the
metadata server. Those tokens are refreshed before each request once google-auth
counts them expired, so a long --jsonl run outlives any one of them.

Region from CLOUD_ML_REGION (global, the multi-regions us and eu, or a region);
project from ANTHROPIC_VERTEX_PROJECT_ID, else from the credentials. The body has no
model and has anthropic_version "vertex-2023-10-16"; beta flags stay a header.
"""

import os
import urllib.parse

from msgcli.api.defaults import VERTEX_DEFAULT_MODEL
from msgcli.errors import CredentialsError, InputError, NetworkError
from msgcli.platforms.base import Platform, PlatformRequest, host_label, json_error

VERTEX_VERSION = "vertex-2023-10-16"
DEFAULT_MODEL = VERTEX_DEFAULT_MODEL
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
NO_CREDENTIALS = ("no Google credentials: set MSGCLI_VERTEX_ACCESS_TOKEN (e.g. "
                  "$(gcloud auth print-access-token)), or install google-auth (pip install "
                  "'msgcli[vertex]') and set up Application Default Credentials "
                  "(GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default "
                  "login, workload identity federation, the metadata server)")


def base_url(region):
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


class Vertex(Platform):
    name = "vertex"
    default_model = DEFAULT_MODEL
    auth_hint = ("check MSGCLI_VERTEX_ACCESS_TOKEN or the Application Default "
                 "Credentials, and that the project may use the model in this region")

    def __init__(self, opts, console):
        super().__init__(opts, console)
        self.region = os.environ.get("CLOUD_ML_REGION") or None
        if not self.region:
            raise InputError("--platform vertex needs a region: set CLOUD_ML_REGION "
                             "(global, us, eu, or a region such as us-east5)")
        host_label(self.region, "CLOUD_ML_REGION")
        self.endpoint = (os.environ.get("ANTHROPIC_VERTEX_BASE_URL") or
                         base_url(self.region)).rstrip("/")
        self.token = self.secret(os.environ.get("MSGCLI_VERTEX_ACCESS_TOKEN") or None)
        if self.token:
            self.check_credential("authorization", self.token, "MSGCLI_VERTEX_ACCESS_TOKEN")
        self.project = os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID") or None
        self._credentials = None

    # -- credentials -----------------------------------------------------------------

    def _adc(self):
        """google-auth's Application Default Credentials (and the project they name)."""
        if self._credentials is None:
            try:
                import google.auth
                import google.auth.exceptions
            except ImportError:
                raise CredentialsError(NO_CREDENTIALS) from None
            try:
                credentials, project = google.auth.default(scopes=[SCOPE])
            except google.auth.exceptions.GoogleAuthError as e:
                raise CredentialsError(f"{NO_CREDENTIALS} ({self._first_line(e)})") \
                    from None
            self._credentials = credentials
            self.project = self.project or project
        return self._credentials

    def project_id(self):
        if not self.project and not self.token:
            self._adc()
        if not self.project:
            raise InputError("--platform vertex needs a project: set "
                             "ANTHROPIC_VERTEX_PROJECT_ID (the credentials name none)")
        return self.project

    def require_credentials(self):
        if not self.token:
            with self._lock:
                self._adc()

    def auth_headers(self, req, headers):
        if self.token:
            return {"authorization": f"Bearer {self.token}"}
        with self._lock:
            credentials = self._adc()
            if not credentials.valid:  # expired, or about to: google-auth's judgement
                self._refresh(credentials)
            token = self.chain_token(credentials.token, "the Google access token from "
                                     "the Application Default Credentials")
            return {"authorization": f"Bearer {token}"}

    def _refresh(self, credentials):
        import google.auth.exceptions
        import google.auth.transport.requests

        try:
            credentials.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.TransportError as e:
            raise NetworkError(f"network error: refreshing the Google access token: "
                               f"{self._first_line(e)}") from None
        except google.auth.exceptions.GoogleAuthError as e:
            raise CredentialsError(f"refreshing the Google access token failed: "
                                   f"{self._first_line(e)}; {self.auth_hint}") from None
        self.secret(credentials.token)

    def renew(self):
        if self.token:
            return False  # a given token cannot be renewed here
        with self._lock:
            self._refresh(self._adc())
        return True

    # -- the request -----------------------------------------------------------------

    def prepare(self, req):
        body = dict(req.body)
        model = self.model_of(body)
        body.setdefault("anthropic_version", VERTEX_VERSION)
        where = f"{self.endpoint}/projects/{_segment(self.project_id())}/locations/" \
                f"{_segment(self.region)}/publishers/anthropic/models/"
        if urllib.parse.urlsplit(req.url).path.endswith("/count_tokens"):
            body["model"] = model
            url = where + "count-tokens:rawPredict"
        else:
            body.pop("model", None)
            specifier = "streamRawPredict" if body.get("stream") else "rawPredict"
            url = where + f"{_segment(model)}:{specifier}"
        return PlatformRequest(url, dict(req.headers), body, self, model)

    def summarize(self, body, content_type, headers):
        """Google's errors: {"error": {"code", "message", "status"}} (sometimes in a
        list); the model's own Anthropic error objects pass through."""
        value = json_error(body)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        error = value.get("error") if isinstance(value, dict) else None
        if isinstance(error, dict) and not error.get("type") and (
                "status" in error or "code" in error):
            return str(error.get("status") or error.get("code")), \
                str(error.get("message") or "")
        return super().summarize(body, content_type, headers)

    def _first_line(self, error):
        """google-auth's error, shortened: its text may echo a token (redacted before
        the cut)."""
        text = str(error).strip().splitlines()
        return self.excerpt(text[0], 300) if text else type(error).__name__


def _segment(value):
    """A path segment: a model id with @, but a ';' or '/' cannot reroute it."""
    return urllib.parse.quote(str(value), safe="@")
