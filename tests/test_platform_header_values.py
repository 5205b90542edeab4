"""A platform's credential that no HTTP header can carry (a CR or LF, a character
beyond Latin-1) is refused before anything is sent, naming where it came from and
never showing it; a region or resource that is not a plain host label is refused
before a credential goes to the host it would make."""

import json

import pytest

from tests.conftest import message
from tests.support.cloud_servers import (
    AWS_ACCESS,
    AWS_SECRET,
    FakeCloud,
    cloud_env,
    needs_botocore,
    run,
    sse_answer,
)

SECRET = "SECRET-credential-0123456789abcdef"
# what a header cannot carry: a trailing CR (a token pasted from Windows), a line break,
# a character beyond Latin-1
BAD = [SECRET + "\r", SECRET + "\r\nx-injected: 1", SECRET + "\u2028", SECRET + "\u20ac"]


@pytest.fixture
def server():
    made = FakeCloud(sse_answer())
    yield made
    made.close()


def refused_naming(r, server, name, code=2):
    assert r.code == code, r
    assert name in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "SECRET" not in r.stderr + r.stdout, r  # not even escaped, nor a prefix
    assert server.log == [], "a request was sent with a broken credential"


def platform_env(tmp_path, server, platform, value):
    """(args, env) of a run on `platform` with its given credential set to `value`."""
    if platform == "vertex":
        return ["--platform", "vertex"], cloud_env(
            tmp_path, ANTHROPIC_VERTEX_BASE_URL=server.base + "/v1", CLOUD_ML_REGION="us",
            ANTHROPIC_VERTEX_PROJECT_ID="proj", MSGCLI_VERTEX_ACCESS_TOKEN=value)
    if platform == "foundry-key":
        return ["--platform", "foundry"], cloud_env(
            tmp_path, ANTHROPIC_FOUNDRY_BASE_URL=server.base + "/anthropic",
            ANTHROPIC_FOUNDRY_API_KEY=value)
    if platform == "foundry-token":
        return ["--platform", "foundry"], cloud_env(
            tmp_path, ANTHROPIC_FOUNDRY_BASE_URL=server.base + "/anthropic",
            MSGCLI_FOUNDRY_ACCESS_TOKEN=value)
    return ["--platform", "bedrock"], cloud_env(
        tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base, AWS_REGION="us-east-1",
        AWS_BEARER_TOKEN_BEDROCK=value)


VARIABLES = {"vertex": "MSGCLI_VERTEX_ACCESS_TOKEN", "foundry-key": "ANTHROPIC_FOUNDRY_API_KEY",
             "foundry-token": "MSGCLI_FOUNDRY_ACCESS_TOKEN",
             "bedrock": "AWS_BEARER_TOKEN_BEDROCK"}


@pytest.mark.parametrize("value", BAD, ids=["cr", "crlf", "u2028", "euro"])
@pytest.mark.parametrize("platform", sorted(VARIABLES))
def test_a_given_credential_a_header_cannot_carry(server, tmp_path, platform, value):
    args, env = platform_env(tmp_path, server, platform, value)
    r = run([*args, "Hi"], env)
    refused_naming(r, server, VARIABLES[platform])
    assert "ANTHROPIC_AUTH_TOKEN" not in r.stderr  # Bedrock's key is not that variable


@pytest.mark.parametrize("platform", sorted(VARIABLES))
def test_a_given_credential_that_is_fine_goes_out(server, tmp_path, platform):
    """The check refuses only what a header cannot carry: a tab, Latin-1 pass."""
    args, env = platform_env(tmp_path, server, platform, SECRET + "\t\u00e9")
    r = run([*args, "Hi"], env)
    # the fake answers anyone: a credential Latin-1 can carry reaches it
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert len(server.log) == 1


@needs_botocore
@pytest.mark.parametrize("value", BAD[:3], ids=["cr", "crlf", "u2028"])
def test_an_aws_session_token_a_header_cannot_carry(server, tmp_path, value):
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base,
                    AWS_ACCESS_KEY_ID=AWS_ACCESS, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                    AWS_SESSION_TOKEN=value, AWS_REGION="eu-west-1")
    r = run(["--platform", "bedrock", "Hi"], env)
    refused_naming(r, server, "AWS_SESSION_TOKEN")


@needs_botocore
def test_an_aws_access_key_id_a_header_cannot_carry(server, tmp_path):
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base,
                    AWS_ACCESS_KEY_ID="AKID\u2028SECRET", AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                    AWS_REGION="eu-west-1")
    r = run(["--platform", "bedrock", "Hi"], env)
    refused_naming(r, server, "AWS_ACCESS_KEY_ID")


@needs_botocore
def test_a_profile_session_token_a_header_cannot_carry(server, tmp_path):
    """From the shared credentials file, not a variable: the source named is the file's
    profile, a credential (exit 11)."""
    (tmp_path / "aws-credentials").write_text(
        f"[work]\naws_access_key_id = {AWS_ACCESS}\naws_secret_access_key = {AWS_SECRET}\n"
        f"aws_session_token = {SECRET}\u20ac\n", encoding="utf-8")
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base, AWS_PROFILE="work",
                    AWS_REGION="eu-west-1")
    r = run(["--platform", "bedrock", "Hi"], env)
    refused_naming(r, server, "AWS credentials", code=11)
    assert "shared-credentials-file" in r.stderr, r.stderr


@pytest.mark.parametrize("token", ["sk-ant-oat01-SECRET\u2028tail", "sk-ant-oat01-SECRET\r\nx: y",
                                   "sk-ant-oat01-SECRET\u20ac"])
def test_a_federated_token_a_header_cannot_carry(tmp_path, token):
    """The exchange's reply: refused as a reply that is not valid (exit 13), before any
    request carries it or the cache keeps it."""
    def answer(handler, body):
        if handler.path == "/v1/oauth/token":
            return 200, {}, [json.dumps({"access_token": token, "expires_in": 600}).encode()]
        return 200, {}, [json.dumps(message()).encode()]

    fake = FakeCloud(answer)
    try:
        (tmp_path / "oidc").write_text("eyJhbGciOiJSUzI1NiJ9.identity.signature\n")
        env = cloud_env(tmp_path, fake.base, ANTHROPIC_API_KEY=None,
                        ANTHROPIC_FEDERATION_RULE_ID="fdrl_1", ANTHROPIC_ORGANIZATION_ID="org",
                        ANTHROPIC_IDENTITY_TOKEN_FILE=str(tmp_path / "oidc"))
        r = run(["Hi"], env)
        assert r.code == 13, r
        assert "token exchange" in r.stderr and "access_token" in r.stderr, r.stderr
        assert "SECRET" not in r.stderr + r.stdout, r
        assert [p for p, _, _ in fake.log] == ["/v1/oauth/token"]
        assert list((tmp_path / "xdg-cache").rglob("federation-*.json")) == []
    finally:
        fake.close()


# -- hosts built from a variable ---------------------------------------------------------

HOSTILE_LABELS = ["evil.example/x?", "evil.example", "a b", "us-east-1#", "x@evil.example",
                  "-bad", "us-east-1\n", "\u00e9u-west-1", "a" * 64]


@pytest.mark.parametrize("value", HOSTILE_LABELS)
def test_an_aws_region_that_is_not_a_host_label(tmp_path, value):
    env = cloud_env(tmp_path, AWS_BEARER_TOKEN_BEDROCK=SECRET, AWS_REGION=value)
    r = run(["--platform", "bedrock", "--dry-run", "Hi"], env)
    assert r.code == 2 and "AWS_REGION" in r.stderr, r
    assert "evil" not in r.stdout


def test_aws_default_region_is_named(tmp_path):
    env = cloud_env(tmp_path, AWS_BEARER_TOKEN_BEDROCK=SECRET,
                    AWS_DEFAULT_REGION="evil.example/x?")
    r = run(["--platform", "bedrock-mantle", "-m", "m", "--dry-run", "Hi"], env)
    assert r.code == 2 and "AWS_DEFAULT_REGION" in r.stderr, r


@needs_botocore
def test_a_profile_region_that_is_not_a_host_label(tmp_path):
    (tmp_path / "aws-config").write_text("[profile work]\nregion = evil.example/x?\n")
    env = cloud_env(tmp_path, AWS_ACCESS_KEY_ID=AWS_ACCESS, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                    AWS_PROFILE="work")
    r = run(["--platform", "bedrock", "--dry-run", "Hi"], env)
    assert r.code == 2 and "region" in r.stderr and "work" in r.stderr, r


@pytest.mark.parametrize("value", HOSTILE_LABELS)
def test_a_vertex_region_that_is_not_a_host_label(tmp_path, value):
    env = cloud_env(tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=SECRET, CLOUD_ML_REGION=value,
                    ANTHROPIC_VERTEX_PROJECT_ID="proj")
    r = run(["--platform", "vertex", "--dry-run", "Hi"], env)
    assert r.code == 2 and "CLOUD_ML_REGION" in r.stderr, r
    assert "evil" not in r.stdout


@pytest.mark.parametrize("value", HOSTILE_LABELS)
def test_a_foundry_resource_that_is_not_a_host_label(tmp_path, value):
    env = cloud_env(tmp_path, ANTHROPIC_FOUNDRY_API_KEY=SECRET,
                    ANTHROPIC_FOUNDRY_RESOURCE=value)
    r = run(["--platform", "foundry", "--dry-run", "Hi"], env)
    assert r.code == 2 and "ANTHROPIC_FOUNDRY_RESOURCE" in r.stderr, r
    assert "evil" not in r.stdout


@pytest.mark.parametrize("platform, variable, value, host", [
    ("bedrock", "AWS_REGION", "us-east-1", "bedrock-runtime.us-east-1.amazonaws.com"),
    ("vertex", "CLOUD_ML_REGION", "europe-west4", "europe-west4-aiplatform.googleapis.com"),
    ("vertex", "CLOUD_ML_REGION", "global", "aiplatform.googleapis.com"),
    ("vertex", "CLOUD_ML_REGION", "eu", "aiplatform.eu.rep.googleapis.com"),
    ("foundry", "ANTHROPIC_FOUNDRY_RESOURCE", "my-res-01", "my-res-01.services.ai.azure.com"),
])
def test_plain_host_labels_still_serve(tmp_path, platform, variable, value, host):
    env = cloud_env(tmp_path, AWS_BEARER_TOKEN_BEDROCK=SECRET, MSGCLI_VERTEX_ACCESS_TOKEN=SECRET,
                    ANTHROPIC_VERTEX_PROJECT_ID="proj", ANTHROPIC_FOUNDRY_API_KEY=SECRET,
                    **{variable: value})
    r = run(["--platform", platform, "--dry-run", "Hi"], env)
    assert r.code == 0 and r.stdout.startswith(f"POST https://{host}/"), r


def test_every_header_a_platform_adds_is_checked_before_sending():
    """The net under the checks at each credential's source: a platform whose header
    no HTTP header can carry is refused (exit 11) without showing it, and nothing is
    sent (requests would refuse it too, showing it escaped, past the redactor)."""
    from types import SimpleNamespace

    from msgcli.errors import CredentialsError
    from msgcli.output.redaction import Redactor
    from msgcli.platforms.base import Platform

    class Leaky(Platform):
        name = "leaky"

        def auth_headers(self, req, headers):
            return {"authorization": f"Bearer {SECRET}\r\n"}

    sent = []
    transport = SimpleNamespace(request=lambda *args, **kwargs: sent.append(args))
    req = SimpleNamespace(headers={}, url="http://127.0.0.1:9/v1/messages", data=b"{}",
                          model=None)
    platform = Leaky(None, SimpleNamespace(redactor=Redactor()))
    with pytest.raises(CredentialsError) as caught:
        platform.send(transport, req)
    assert "--platform leaky" in caught.value.message and "authorization" in \
        caught.value.message
    assert "SECRET" not in caught.value.message
    assert caught.value.exit_code == 11 and sent == []
