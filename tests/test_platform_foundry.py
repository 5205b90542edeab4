"""--platform foundry against a fake Foundry resource that checks the key or the
Entra ID bearer token."""

import json
import time

import pytest

from tests.conftest import message
from tests.support.cloud_servers import FakeCloud, cloud_env, run, sse_answer, without_packages

KEY = "fake-foundry-key-for-tests-0123456789"
ENTRA = "eyJ0eXAiOiJKV1QifQ.fake-entra-token.for-tests-0123456789"


def key_check(handler, body):
    if handler.headers.get("x-api-key") != KEY or handler.headers.get("api-key") != KEY:
        return "bad key"
    return None


def entra_check(handler, body):
    return None if handler.headers.get("authorization") == f"Bearer {ENTRA}" else "bad token"


def azure_refusal(reason):
    return 401, {"apim-request-id": "apim-1"}, [json.dumps(
        {"error": {"code": "401", "message": reason}}).encode()]


@pytest.fixture
def foundry():
    made = []

    def make(authorise=key_check, **kwargs):
        made.append(FakeCloud(sse_answer(**kwargs), authorise, refuse=azure_refusal))
        return made[-1]

    yield make
    for server in made:
        server.close()


def env_for(tmp_path, server, **extra):
    return cloud_env(tmp_path, **{"ANTHROPIC_FOUNDRY_BASE_URL": server.base + "/anthropic/",
                                  "ANTHROPIC_FOUNDRY_API_KEY": KEY, **extra})


def test_every_mode_with_the_key(foundry, tmp_path):
    server = foundry(piece=1, count=23)
    env = env_for(tmp_path, server)
    assert run(["--platform", "foundry", "Hi"], env).stdout == "Hello!\n"
    assert run(["--platform", "foundry", "--stream", "Hi"], env).stdout == "Hello!\n"
    assert run(["--platform", "foundry", "--count-tokens", "Hi"], env).stdout == "23\n"
    convo = tmp_path / "c.json"
    assert run(["--platform", "foundry", "-c", str(convo), "Hi"], env).code == 0
    r = run(["--platform", "foundry", "--jsonl"], env, input=b'"a"\n"b"\n')
    assert [json.loads(line)["text"] for line in r.stdout.splitlines()] == ["Hello!"] * 2
    assert [p for p, _, _ in server.log][:3] == [
        "/anthropic/v1/messages", "/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"]
    body = server.bodies()[0]
    assert body["model"] == "claude-haiku-4-5" and "anthropic_version" not in body
    assert "authorization" not in server.log[0][1]


def test_entra_token_given(foundry, tmp_path):
    server = foundry(authorise=entra_check)
    env = env_for(tmp_path, server, ANTHROPIC_FOUNDRY_API_KEY=None,
                  MSGCLI_FOUNDRY_ACCESS_TOKEN=ENTRA)
    r = run(["--platform", "foundry", "--stream", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r


def test_a_wrong_key_is_exit_11_with_azure_error(foundry, tmp_path):
    server = foundry()
    r = run(["--platform", "foundry", "Hi"], env_for(tmp_path, server,
                                                     ANTHROPIC_FOUNDRY_API_KEY="x" * 20))
    assert r.code == 11, r
    assert "HTTP 401: 401: bad key (request-id apim-1)" in r.stderr
    assert "--platform foundry" in r.stderr


def test_no_credentials_without_azure_identity(tmp_path):
    env = cloud_env(tmp_path, ANTHROPIC_FOUNDRY_RESOURCE="myres",
                    PYTHONPATH=without_packages(tmp_path, "azure"))
    r = run(["--platform", "foundry", "Hi"], env)
    assert r.code == 11 and "ANTHROPIC_FOUNDRY_API_KEY" in r.stderr, r
    assert "msgcli[foundry]" in r.stderr


def test_dry_run_resource_url_and_masked_key(tmp_path):
    env = cloud_env(tmp_path, ANTHROPIC_FOUNDRY_RESOURCE="myres", ANTHROPIC_FOUNDRY_API_KEY=KEY)
    r = run(["--platform", "foundry", "--dry-run", "Hi"], env)
    assert r.code == 0, r
    assert r.stdout.startswith("POST https://myres.services.ai.azure.com/anthropic/v1/messages\n")
    assert "x-api-key: [REDACTED]" in r.stdout and "api-key: [REDACTED]" in r.stdout
    assert KEY not in r.stdout


def test_key_redacted_when_echoed(tmp_path):
    server = FakeCloud(lambda handler, body: (200, {}, [json.dumps(message(KEY)).encode()]))
    try:
        r = run(["--platform", "foundry", "Hi"], env_for(tmp_path, server))
        assert (r.code, r.stdout) == (0, "[REDACTED]\n"), r
    finally:
        server.close()


def test_switch_and_what_foundry_lacks(foundry, tmp_path):
    server = foundry()
    env = env_for(tmp_path, server, CLAUDE_CODE_USE_FOUNDRY="1")
    assert run(["Hi"], env).code == 0
    for args in (["--list-models"], ["--batch-list"]):
        r = run(args, env)
        assert r.code == 2 and "--platform foundry" in r.stderr, r
    assert len(server.log) == 1


def test_no_resource_exit_2(tmp_path):
    r = run(["--platform", "foundry", "Hi"], cloud_env(tmp_path, ANTHROPIC_FOUNDRY_API_KEY=KEY))
    assert r.code == 2 and "ANTHROPIC_FOUNDRY_RESOURCE" in r.stderr, r


PLATFORM_VARIABLES = (
    "MSGCLI_PLATFORM", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_PROFILE", "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_BEDROCK_MANTLE_BASE_URL", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID",
    "MSGCLI_VERTEX_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS",
    "ANTHROPIC_VERTEX_BASE_URL", "ANTHROPIC_FOUNDRY_RESOURCE", "ANTHROPIC_FOUNDRY_BASE_URL",
    "ANTHROPIC_FOUNDRY_API_KEY", "MSGCLI_FOUNDRY_ACCESS_TOKEN",
    "ANTHROPIC_FEDERATION_RULE_ID", "ANTHROPIC_ORGANIZATION_ID",
    "ANTHROPIC_SERVICE_ACCOUNT_ID", "ANTHROPIC_WORKSPACE_ID",
    "ANTHROPIC_IDENTITY_TOKEN_FILE", "ANTHROPIC_IDENTITY_TOKEN")


@pytest.mark.parametrize("name", PLATFORM_VARIABLES)
def test_every_platform_variable_is_documented(name):
    """Each variable a platform reads is in the man page's ENVIRONMENT and
    docs/platforms.md, and msgcli.platforms reads it (so the list cannot drift)."""
    from tests.conftest import REPO
    from tests.test_docs import man_section, plain

    assert name in plain(man_section("ENVIRONMENT"))
    assert name in (REPO / "docs" / "platforms.md").read_text()
    sources = "".join(p.read_text() for p in (REPO / "msgcli").rglob("*.py"))
    # (botocore and google-auth read AWS_* and GOOGLE_* themselves; click reads
    # MSGCLI_PLATFORM for --platform)
    assert f'"{name}"' in sources or name.startswith(("AWS_", "GOOGLE_")) or \
        name == "MSGCLI_PLATFORM", name


STUB = '''
import json, os, time
from collections import namedtuple

AccessToken = namedtuple("AccessToken", "token expires_on")


class DefaultAzureCredential:
    """A stand-in for azure-identity's: its public get_token(scope), recorded."""

    def get_token(self, *scopes):
        log = os.environ["STUB_AZURE_LOG"]
        issued = json.load(open(log)) if os.path.exists(log) else []
        token = f"entra-stub-token-{len(issued):04d}-abcdefghijklmnop"
        issued.append({"scopes": scopes, "token": token, "at": time.time()})
        json.dump(issued, open(log, "w"))
        return AccessToken(token, int(time.time() + float(os.environ["STUB_AZURE_LIFE"])))
'''


def test_entra_token_through_azure_identity_renewed_before_expiry(tmp_path):
    """azure-identity's DefaultAzureCredential (a stand-in with its public interface):
    the scope is https://ai.azure.com/.default, and a token is fetched again 5 minutes
    before it expires, so a long --jsonl run never sends an expired one."""
    package = tmp_path / "stub" / "azure" / "identity"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text(STUB)
    log = tmp_path / "issued.json"
    refused = []

    def entra_live(handler, body):
        issued = {t["token"]: t["at"] for t in json.loads(log.read_text())}
        token = (handler.headers.get("authorization") or "").removeprefix("Bearer ")
        if token not in issued or time.time() > issued[token] + 3.0:
            refused.append(token)
            return "expired or unknown token"
        return None

    server = FakeCloud(sse_answer(delay=0.6), entra_live, refuse=azure_refusal)
    try:
        env = cloud_env(tmp_path, ANTHROPIC_FOUNDRY_BASE_URL=server.base + "/anthropic",
                        PYTHONPATH=str(tmp_path / "stub"), STUB_AZURE_LOG=str(log),
                        STUB_AZURE_LIFE="302")  # counted good for 2 s: renewed at 300 s left
        lines = b"".join(f'"line {i}"\n'.encode() for i in range(6))
        r = run(["--platform", "foundry", "--jsonl", "-P", "1"], env, input=lines)
        assert r.code == 0, r
        issued = json.loads(log.read_text())
        assert len(issued) >= 2 and refused == []
        assert {tuple(t["scopes"]) for t in issued} == {("https://ai.azure.com/.default",)}
        assert "entra-stub-token" not in r.stdout + r.stderr
    finally:
        server.close()
