"""Microsoft Foundry: the Anthropic API's paths and bodies at
https://{resource}.services.ai.azure.com/anthropic (ANTHROPIC_FOUNDRY_RESOURCE, or
ANTHROPIC_FOUNDRY_BASE_URL, which wins).

Authorisation: the resource's key (ANTHROPIC_FOUNDRY_API_KEY, sent as x-api-key and
api-key, as the SDK sends it), or a Microsoft Entra ID bearer token: given
(MSGCLI_FOUNDRY_ACCESS_TOKEN), or obtained through azure-identity's
DefaultAzureCredential for the scope https://ai.azure.com/.default (the optional
extra msgcli[foundry]) and obtained again shortly before it expires.
"""

import math
import os
import time
import urllib.parse

from msgcli.api import request
from msgcli.errors import CredentialsError, InputError
from msgcli.output.redaction import REDACTED
from msgcli.platforms.base import Platform, PlatformRequest, host_label, json_error

SCOPE = "https://ai.azure.com/.default"
REFRESH_MARGIN = 300.0  # seconds before an Entra token expires
NO_CREDENTIALS = ("no Foundry credentials: set ANTHROPIC_FOUNDRY_API_KEY, or "
                  "MSGCLI_FOUNDRY_ACCESS_TOKEN to a Microsoft Entra ID token, or install "
                  "azure-identity (pip install 'msgcli[foundry]') and sign in (az login, "
                  "a managed identity, workload identity federation)")


class Foundry(Platform):
    name = "foundry"
    default_model = request.DEFAULT_MODEL  # Foundry deploys Claude under its own names
    auth_hint = "check ANTHROPIC_FOUNDRY_API_KEY or the Entra ID token, and the resource"

    def __init__(self, opts, console):
        super().__init__(opts, console)
        base = os.environ.get("ANTHROPIC_FOUNDRY_BASE_URL")
        resource = os.environ.get("ANTHROPIC_FOUNDRY_RESOURCE")
        if not base and not resource:
            raise InputError("--platform foundry needs ANTHROPIC_FOUNDRY_RESOURCE (the "
                             "resource name) or ANTHROPIC_FOUNDRY_BASE_URL")
        if not base:  # the resource names the host: nothing that could end it
            host_label(resource, "ANTHROPIC_FOUNDRY_RESOURCE")
        self.endpoint = (base or f"https://{resource}.services.ai.azure.com/anthropic"
                         ).rstrip("/")
        self.key = self.secret(os.environ.get("ANTHROPIC_FOUNDRY_API_KEY") or None)
        self.token = self.secret(os.environ.get("MSGCLI_FOUNDRY_ACCESS_TOKEN") or None)
        if self.key:
            self.check_credential("x-api-key", self.key, "ANTHROPIC_FOUNDRY_API_KEY")
        elif self.token:
            self.check_credential("authorization", self.token, "MSGCLI_FOUNDRY_ACCESS_TOKEN")
        self._credential = None
        self._entra = None  # (token, expires_on)

    def require_credentials(self):
        if not (self.key or self.token):
            with self._lock:
                self._azure()

    def _azure(self):
        if self._credential is None:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError:
                raise CredentialsError(NO_CREDENTIALS) from None
            self._credential = DefaultAzureCredential()
        return self._credential

    def _entra_token(self):
        with self._lock:
            if self._entra is None or time.time() > self._entra[1] - REFRESH_MARGIN:
                try:
                    got = self._azure().get_token(SCOPE)
                except CredentialsError:
                    raise
                except Exception as e:  # azure-identity's ClientAuthenticationError, ...
                    # redacted before the cut: the text may echo a token
                    first = self.excerpt((str(e).strip().splitlines() or
                                          [type(e).__name__])[0], 300)
                    raise CredentialsError(f"Microsoft Entra ID token: {first}; "
                                           f"{NO_CREDENTIALS}") from None
                token = self.chain_token(got.token, "the Microsoft Entra ID token from "
                                                    "azure-identity")
                self._entra = (token, _expiry(got.expires_on))
            return self._entra[0]

    def auth_headers(self, req, headers):
        if self.key:
            return {"x-api-key": self.key, "api-key": self.key}
        return {"authorization": f"Bearer {self.token or self._entra_token()}"}

    def shown_headers(self):
        if self.key:
            return {"x-api-key": REDACTED, "api-key": REDACTED}
        return {"authorization": REDACTED}

    def renew(self):
        if self.key or self.token:
            return False
        with self._lock:
            self._entra = None
        return True

    def prepare(self, req):
        body = dict(req.body)
        model = self.model_of(body)
        if "model" in body:
            body["model"] = model
        parts = urllib.parse.urlsplit(req.url)
        url = self.endpoint + parts.path + (f"?{parts.query}" if parts.query else "")
        return PlatformRequest(url, dict(req.headers), body, self, model)

    def summarize(self, body, content_type, headers):
        """Azure's errors: {"error": {"code", "message"}}; the API's own pass through."""
        value = json_error(body)
        error = value.get("error") if isinstance(value, dict) else None
        if isinstance(error, dict) and not error.get("type") and "code" in error:
            return str(error.get("code")), str(error.get("message") or "")
        return super().summarize(body, content_type, headers)

    def request_id(self, headers):
        return headers.get("apim-request-id") or headers.get("x-request-id")


def _expiry(expires_on):
    """When an Entra token stops serving: azure-identity's expires_on (seconds since
    the epoch) if it is a finite time within a day, else in ten minutes, so that an
    absurd value can neither crash the run nor keep a token forever."""
    now = time.time()
    try:
        when = float(expires_on)
    except (TypeError, ValueError, OverflowError):
        return now + 600
    return when if math.isfinite(when) and now < when <= now + 86_400 else now + 600
