"""What a platform's server (or its credential library) says, at its most hostile: a
secret echoed where an error excerpt is cut short, JSON nested past Python's recursion
limit, a token lifetime no float holds or NaN. Each is one clear line and a documented
exit status, never a traceback, never a secret's start."""

import base64
import json
import math
import time

import pytest

from msgcli.platforms import eventstream
from tests.conftest import message
from tests.support.cloud_servers import (
    BEDROCK_KEY,
    FakeCloud,
    bearer_check,
    cloud_env,
    run,
    stream_events,
)

ASSERTION = "eyJhbGciOiJSUzI1NiJ9.identity-ASSERTION-SECRET.signature-abcdefghijklmnop"
DEEP = b"[" * 100_000 + b"]" * 100_000


def federation_env(tmp_path, server, **extra):
    (tmp_path / "oidc").write_text(ASSERTION + "\n")
    return cloud_env(tmp_path, server.base, **{
        "ANTHROPIC_API_KEY": None, "ANTHROPIC_FEDERATION_RULE_ID": "fdrl_1",
        "ANTHROPIC_ORGANIZATION_ID": "org-1", "ANTHROPIC_IDENTITY_TOKEN_FILE":
        str(tmp_path / "oidc"), **extra})


def token_server(reply, status=200):
    """The token endpoint answers `reply` (bytes); the Messages API answers anyone."""
    def answer(handler, body):
        if handler.path == "/v1/oauth/token":
            return status, {}, [reply]
        return 200, {}, [json.dumps(message()).encode()]

    return FakeCloud(answer)


@pytest.fixture
def servers():
    made = []

    def make(server):
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def exchanges(server):
    return [p for p, _, _ in server.log if p == "/v1/oauth/token"]


# -- redacted, then cut short ------------------------------------------------------------

def test_a_token_exchange_error_echoing_the_assertion_at_the_cut(servers, tmp_path):
    """The detail is cut at 256 characters; the assertion starts 40 before the cut."""
    padding = "x" * (256 - len("invalid_grant ") - 40)
    server = servers(token_server(json.dumps(
        {"error": "invalid_grant", "error_description": padding + ASSERTION}).encode(), 401))
    r = run(["Hi"], federation_env(tmp_path, server))
    assert r.code == 11 and "token exchange failed: HTTP 401" in r.stderr, r
    assert ASSERTION[:20] not in r.stderr, r.stderr
    assert "[REDACTED]" in r.stderr


def test_a_bedrock_exception_frame_echoing_the_key_at_the_cut(servers, tmp_path):
    """An exception frame's text (not JSON) is cut at 200 characters; the key starts 30
    before the cut."""
    payload = b"x" * 170 + BEDROCK_KEY.encode() + b" trailing"
    frames = eventstream.chunk_frame(stream_events()[0]) + eventstream.encode_frame(
        {":message-type": "exception", ":exception-type": "ValidationException"}, payload)
    server = servers(FakeCloud(lambda handler, body: (
        200, {"content-type": eventstream.MEDIA_TYPE}, [frames]), bearer_check(BEDROCK_KEY)))
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base,
                    AWS_BEARER_TOKEN_BEDROCK=BEDROCK_KEY, AWS_REGION="us-east-1")
    r = run(["--platform", "bedrock", "--stream", "Hi"], env)
    assert r.code == 10 and "ValidationException" in r.stderr, r
    assert BEDROCK_KEY[:12] not in r.stdout + r.stderr, r
    assert "[REDACTED]" in r.stderr


def test_a_google_refresh_error_echoing_the_token_at_the_cut(tmp_path):
    """google-auth's error, cut at 300 characters, echoes the refused token 20 before
    the cut: Vertex refused the token (401), the refresh that follows fails."""
    pytest.importorskip("google.auth")
    pytest.importorskip("cryptography")
    from tests.test_platform_vertex import Google

    class Echoing(Google):
        def grant(self, form):
            if self.tokens:  # the second grant: refused, echoing the first token
                first = next(iter(self.tokens))
                # str(RefreshError) is "('invalid_grant: DESCRIPTION', {...})"
                padding = "x" * (300 - len("('invalid_grant: ") - 20)
                return 400, {}, [json.dumps({"error": "invalid_grant",
                                             "error_description": padding + first}).encode()]
            return super().grant(form)

    fake = Echoing(tmp_path, lifetime=60)
    fake.answer = lambda handler, body: (401, {}, [json.dumps({"error": {
        "code": 401, "message": "no", "status": "UNAUTHENTICATED"}}).encode()])
    try:
        r = run(["--platform", "vertex", "Hi"], fake.env(tmp_path))
    finally:
        fake.server.close()
    assert r.code == 11 and "refreshing the Google access token failed" in r.stderr, r
    assert "ya29.issued" not in r.stderr, r.stderr
    assert "[REDACTED]" in r.stderr


AZURE_STUB = '''
import os
from collections import namedtuple

AccessToken = namedtuple("AccessToken", "token expires_on")
TOKEN = "entra-stub-SECRET-token-0123456789abcdef"


class DefaultAzureCredential:
    calls = 0

    def get_token(self, *scopes):
        DefaultAzureCredential.calls += 1
        if DefaultAzureCredential.calls == 1:
            import time
            return AccessToken(TOKEN, int(time.time() + 3600))
        # the second: an error whose first line echoes the token 20 before the cut
        raise RuntimeError("x" * 280 + TOKEN + " was refused")
'''


def test_an_entra_error_echoing_the_token_at_the_cut(tmp_path):
    package = tmp_path / "stub" / "azure" / "identity"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text(AZURE_STUB)
    server = FakeCloud(lambda handler, body: (401, {}, [json.dumps(
        {"error": {"code": "401", "message": "expired"}}).encode()]))
    try:
        env = cloud_env(tmp_path, ANTHROPIC_FOUNDRY_BASE_URL=server.base + "/anthropic",
                        PYTHONPATH=str(tmp_path / "stub"))
        r = run(["--platform", "foundry", "Hi"], env)
    finally:
        server.close()
    assert r.code == 11 and "Microsoft Entra ID token" in r.stderr, r
    assert "entra-stub-SECRET" not in r.stderr, r.stderr
    assert "[REDACTED]" in r.stderr


# -- JSON nested too deeply ----------------------------------------------------------------

def bedrock_frames(servers, tmp_path, frames):
    server = servers(FakeCloud(lambda handler, body: (
        200, {"content-type": eventstream.MEDIA_TYPE}, [frames]), bearer_check(BEDROCK_KEY)))
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base,
                    AWS_BEARER_TOKEN_BEDROCK=BEDROCK_KEY, AWS_REGION="us-east-1")
    return run(["--platform", "bedrock", "--stream", "Hi"], env)


def chunk_payload(data):
    return eventstream.encode_frame(
        {":event-type": "chunk", ":message-type": "event"},
        json.dumps({"bytes": base64.b64encode(data).decode()}).encode())


@pytest.mark.parametrize("frame", [
    eventstream.encode_frame({":event-type": "chunk", ":message-type": "event"}, DEEP),
    chunk_payload(DEEP),
    chunk_payload(b'{"type": "content_block_delta", "x":\n' + DEEP + b"}"),
], ids=["frame-payload", "event", "event-with-newline"])
def test_a_bedrock_chunk_nested_too_deeply(servers, tmp_path, frame):
    r = bedrock_frames(servers, tmp_path, frame)
    assert r.code == 13 and "nested too deeply" in r.stderr, r


def test_a_bedrock_exception_frame_nested_too_deeply(servers, tmp_path):
    frame = eventstream.encode_frame(
        {":message-type": "exception", ":exception-type": "ThrottlingException"}, DEEP)
    r = bedrock_frames(servers, tmp_path, frame)
    assert r.code == 12 and "ThrottlingException" in r.stderr, r


def test_a_token_exchange_reply_nested_too_deeply(servers, tmp_path):
    server = servers(token_server(DEEP))
    r = run(["Hi"], federation_env(tmp_path, server))
    assert r.code == 13 and "token exchange" in r.stderr and "nested too deeply" in r.stderr, r


def test_a_token_exchange_error_nested_too_deeply(servers, tmp_path):
    server = servers(token_server(DEEP, 401))
    r = run(["Hi"], federation_env(tmp_path, server))
    assert r.code == 11 and "token exchange failed: HTTP 401" in r.stderr, r


def test_a_token_cache_nested_too_deeply_is_not_trusted(servers, tmp_path):
    server = servers(token_server(json.dumps({"access_token": "sk-ant-oat01-fed-token-1234",
                                              "expires_in": 600}).encode()))
    env = federation_env(tmp_path, server)
    assert run(["Hi"], env).code == 0
    (cached,) = (tmp_path / "xdg-cache" / "msgcli").glob("federation-*.json")
    cached.write_bytes(DEEP)
    r = run(["Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert len(exchanges(server)) == 2


# -- expires_in ------------------------------------------------------------------------------

@pytest.mark.parametrize("expires_in", ["1" + "0" * 400, "1e400", "Infinity", "NaN",
                                        "-Infinity", "0", "-5"])
def test_an_expires_in_out_of_range(servers, tmp_path, expires_in):
    """Too big for a float, infinite, NaN, zero or below: the token serves every line
    of a run (one exchange), for at most a day, and the cache holds a real number."""
    server = servers(token_server(
        f'{{"access_token": "sk-ant-oat01-fed-token-1234", "expires_in": {expires_in}}}'
        .encode()))
    lines = b"".join(f'"line {i}"\n'.encode() for i in range(4))
    r = run(["--jsonl", "-P", "1"], federation_env(tmp_path, server), input=lines)
    assert r.code == 0, r
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == [0] * 4
    assert len(exchanges(server)) == 1
    (cached,) = (tmp_path / "xdg-cache" / "msgcli").glob("federation-*.json")

    def refuse(constant):
        raise AssertionError(f"{constant} in the cache")

    refresh = json.loads(cached.read_text(), parse_constant=refuse)["refresh_at"]
    assert math.isfinite(refresh) and time.time() < refresh <= time.time() + 24 * 3600


def test_an_absurd_entra_expiry_neither_crashes_nor_lasts_forever():
    """azure-identity's expires_on as given: a time within a day serves as it is; a
    number too large for a float (float() raised OverflowError: exit 1), NaN, one in
    the past or not a number means ten minutes."""
    import math
    import time

    from msgcli.platforms.foundry import _expiry

    now = time.time()
    assert abs(_expiry(int(now + 3600)) - int(now + 3600)) < 1
    for absurd in (10**400, math.nan, math.inf, now - 5, "soon", None):
        assert now + 590 < _expiry(absurd) < now + 610, absurd
