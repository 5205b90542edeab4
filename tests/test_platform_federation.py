"""Workload identity federation against a fake Anthropic API whose token endpoint
accepts each identity token once, as GitHub's are spent, and whose Messages endpoint
accepts only a live exchanged token."""

import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import REPO, message
from tests.support.cloud_servers import FakeCloud, cloud_env, run, sse_answer

RULE, ORG, ACCOUNT = "fdrl_rule123", "00000000-0000-4000-8000-000000000001", "svac_42"


class Issuer:
    """The OIDC issuer (it writes a fresh identity token to the file after each
    exchange, as a CI runner hands out a new one) and the Anthropic API."""

    def __init__(self, tmp_path, lifetime=600, server_lifetime=None, revoke_first=False,
                 echo=False):
        self.file = tmp_path / "oidc-token"
        self.serial = 0
        self.fresh()
        self.spent, self.tokens, self.exchanges, self.unauthorized = set(), {}, [], 0
        self.lifetime = lifetime
        self.server_lifetime = server_lifetime or lifetime
        self.revoke_first, self.echo = revoke_first, echo
        self.lock = threading.Lock()
        self.answer = sse_answer()
        self.server = FakeCloud(self.handle)

    def fresh(self):
        self.serial += 1
        self.file.write_text(f"eyJhbGciOiJSUzI1NiJ9.identity-{self.serial:04d}.signature-"
                             "abcdefghijklmnop\n")

    def handle(self, handler, body):
        with self.lock:
            if handler.path == "/v1/oauth/token":
                return self.exchange(handler, json.loads(body))
            token = (handler.headers.get("authorization") or "").removeprefix("Bearer ")
            issued = self.tokens.get(token)
            beta = handler.headers.get("anthropic-beta") or ""
            if issued is None or time.time() > issued + self.server_lifetime or \
                    "oauth-2025-04-20" not in beta.split(","):
                self.unauthorized += 1
                return 401, {}, [json.dumps({"type": "error", "error": {
                    "type": "authentication_error", "message": "invalid token"}}).encode()]
            if self.revoke_first:
                self.revoke_first = False
                del self.tokens[token]
        if self.echo:
            return 200, {}, [json.dumps(message(f"{token} {self.echo}")).encode()]
        return self.answer(handler, body)

    def exchange(self, handler, grant):
        self.exchanges.append((dict(handler.headers), grant))
        assertion = grant.get("assertion")
        if handler.headers.get("anthropic-beta") != "oauth-2025-04-20,oidc-federation-2026-04-01":
            return 400, {}, [b'{"error": "invalid_request"}']
        if grant.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or \
                grant.get("federation_rule_id") != RULE or grant.get("organization_id") != ORG:
            return 400, {}, [b'{"error": "invalid_grant"}']
        if assertion in self.spent or assertion != self.file.read_text().strip():
            return 401, {}, [json.dumps({"error": "invalid_grant", "error_description":
                                         "assertion already used"}).encode()]
        self.spent.add(assertion)
        token = f"sk-ant-oat01-federated-{len(self.exchanges):04d}-abcdefghijklmnop"
        self.tokens[token] = time.time()
        self.fresh()
        return 200, {}, [json.dumps({"access_token": token, "token_type": "Bearer",
                                     "expires_in": self.lifetime}).encode()]

    def env(self, tmp_path, **extra):
        return cloud_env(tmp_path, self.server.base, **{
            "ANTHROPIC_API_KEY": None, "ANTHROPIC_FEDERATION_RULE_ID": RULE,
            "ANTHROPIC_ORGANIZATION_ID": ORG, "ANTHROPIC_SERVICE_ACCOUNT_ID": ACCOUNT,
            "ANTHROPIC_IDENTITY_TOKEN_FILE": str(self.file), **extra})


@pytest.fixture
def issuer(tmp_path):
    made = []

    def make(**kwargs):
        made.append(Issuer(tmp_path, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.server.close()


def messages_calls(issuer):
    return [(p, h) for p, h, _ in issuer.server.log if p.startswith("/v1/messages")]


def test_exchange_then_bearer(issuer, tmp_path):
    fake = issuer()
    assertion = fake.file.read_text().strip()
    r = run(["-v", "Hi"], fake.env(tmp_path))
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    headers, grant = fake.exchanges[0]
    assert grant == {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                     "assertion": assertion, "federation_rule_id": RULE,
                     "organization_id": ORG, "service_account_id": ACCOUNT}
    (_, sent), = messages_calls(fake)
    assert sent["authorization"].startswith("Bearer sk-ant-oat01-federated-")
    assert "x-api-key" not in sent
    assert "platform anthropic (workload identity federation)" in r.stderr


def test_the_token_is_cached_privately_and_shared(issuer, tmp_path):
    fake = issuer()
    env = fake.env(tmp_path)
    assert run(["Hi"], env).code == 0
    assert run(["--stream", "Again"], env).code == 0
    assert len(fake.exchanges) == 1  # the second run used the cached token
    (cached,) = (tmp_path / "xdg-cache" / "msgcli").glob("federation-*.json")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700


def test_processes_in_one_job_spend_the_identity_token_once(issuer, tmp_path):
    fake = issuer()
    env = fake.env(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "msgcli", "Hi"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    assert len(fake.exchanges) == 1


def test_a_401_drops_the_token_and_exchanges_once_more(issuer, tmp_path):
    fake = issuer(revoke_first=True)
    env = fake.env(tmp_path)
    assert run(["Hi"], env).code == 0  # token 1, revoked after this use
    r = run(["Hi"], env)  # the cached token 1 is refused: exchange, retry once
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert len(fake.exchanges) == 2 and fake.unauthorized == 1


def test_a_401_after_renewing_is_reported(issuer, tmp_path):
    fake = issuer()
    assert run(["Hi"], fake.env(tmp_path)).code == 0
    fake.server_lifetime = -1  # every token refused now, a new one too
    r = run(["Hi"], fake.env(tmp_path))
    assert r.code == 11 and "authentication_error" in r.stderr, r
    assert fake.unauthorized == 2 and len(fake.exchanges) == 2


def test_a_long_jsonl_run_exchanges_before_expiry(issuer, tmp_path):
    """Tokens live 4 s; eight answers of 0.6 s each, one at a time, outlive two of them:
    msgcli exchanges again before expiry, so the API never refuses one."""
    fake = issuer(lifetime=4)
    fake.answer = sse_answer(delay=0.6)
    lines = b"".join(f'"line {i}"\n'.encode() for i in range(8))
    r = run(["--jsonl", "-P", "1"], fake.env(tmp_path), input=lines)
    assert r.code == 0, r
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == [0] * 8
    assert len(fake.exchanges) >= 2 and fake.unauthorized == 0


def test_a_key_wins_over_federation(issuer, tmp_path):
    fake = issuer()
    r = run(["Hi"], fake.env(tmp_path, ANTHROPIC_API_KEY="sk-ant-api03-" + "k" * 30))
    assert r.code == 11 and fake.exchanges == []  # the key went out (and was refused)
    assert messages_calls(fake)[0][1]["x-api-key"].startswith("sk-ant-api03-")


def test_a_reused_identity_token_is_refused(issuer, tmp_path):
    fake = issuer()
    fake.spent.add(fake.file.read_text().strip())
    r = run(["Hi"], fake.env(tmp_path))
    assert r.code == 11, r
    assert "token exchange failed: HTTP 401" in r.stderr and "assertion already used" in r.stderr
    assert messages_calls(fake) == []


def test_no_identity_token_exit_11(issuer, tmp_path):
    fake = issuer()
    r = run(["Hi"], fake.env(tmp_path, ANTHROPIC_IDENTITY_TOKEN_FILE=None))
    assert r.code == 11 and "ANTHROPIC_IDENTITY_TOKEN_FILE" in r.stderr, r


def test_secrets_never_shown(issuer, tmp_path):
    """The assertion and the exchanged token, echoed by the server, are redacted."""
    fake = issuer()
    fake.echo = fake.file.read_text().strip()
    r = run(["Hi"], fake.env(tmp_path))
    assert r.code == 0 and r.stdout == "[REDACTED] [REDACTED]\n", r


def test_identity_token_from_the_variable(issuer, tmp_path):
    fake = issuer()
    env = fake.env(tmp_path, ANTHROPIC_IDENTITY_TOKEN=fake.file.read_text().strip(),
                   ANTHROPIC_IDENTITY_TOKEN_FILE=None)
    assert run(["Hi"], env).code == 0
    assert len(fake.exchanges) == 1


def test_dry_run_exchanges_nothing(issuer, tmp_path):
    fake = issuer()
    r = run(["--dry-run", "Hi"], fake.env(tmp_path))
    assert r.code == 0 and "authorization: [REDACTED]" in r.stdout, r
    assert "anthropic-beta: oauth-2025-04-20" in r.stdout
    assert fake.server.log == []


def test_model_list_with_federation(issuer, tmp_path):
    fake = issuer()
    fake.answer = lambda handler, body: (200, {}, [json.dumps(
        {"data": [{"id": "claude-x", "type": "model"}], "has_more": False}).encode()])
    r = run(["--list-models"], fake.env(tmp_path))
    assert r.code == 0 and json.loads(r.stdout)["id"] == "claude-x", r
    assert fake.server.log[-1][1]["authorization"].startswith("Bearer ")


def test_environment_is_left_alone_without_federation(tmp_path):
    """No federation variables: the plain path, with no cache file written."""
    env = cloud_env(tmp_path, ANTHROPIC_API_KEY=None)
    r = run(["Hi"], env)
    assert r.code == 11 and "ANTHROPIC_API_KEY" in r.stderr
    assert not os.path.exists(tmp_path / "xdg-cache" / "msgcli")


def test_a_cache_others_can_read_is_not_trusted(issuer, tmp_path):
    fake = issuer()
    env = fake.env(tmp_path)
    assert run(["Hi"], env).code == 0
    (cached,) = (tmp_path / "xdg-cache" / "msgcli").glob("federation-*.json")
    cached.chmod(0o644)
    assert run(["Hi"], env).code == 0
    assert len(fake.exchanges) == 2  # exchanged anew, and cached privately again
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_batch_commands_with_federation(issuer, tmp_path):
    fake = issuer()
    batch = {"id": "msgbatch_1", "type": "message_batch", "processing_status": "ended",
             "request_counts": {"processing": 0, "succeeded": 1, "errored": 0,
                                "canceled": 0, "expired": 0}}
    fake.answer = lambda handler, body: (200, {}, [json.dumps(
        {"data": [batch], "has_more": False, "first_id": "msgbatch_1",
         "last_id": "msgbatch_1"}).encode()])
    r = run(["--batch-list"], fake.env(tmp_path))
    assert r.code == 0 and json.loads(r.stdout)["id"] == "msgbatch_1", r
    path, headers, _ = fake.server.log[-1]
    assert path.startswith("/v1/messages/batches")
    assert headers["authorization"].startswith("Bearer sk-ant-oat01-federated-")
    assert "oauth-2025-04-20" in headers["anthropic-beta"]
