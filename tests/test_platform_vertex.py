"""--platform vertex against a fake Vertex AI, and a fake Google token endpoint that
verifies a service account's JWT-bearer grant with the public half of a key made for
the test, then issues short-lived tokens that the fake Vertex checks."""

import base64
import json
import time
import urllib.parse

import pytest

from tests.conftest import message
from tests.support.cloud_servers import (
    FakeCloud,
    bearer_check,
    cloud_env,
    run,
    sse_answer,
    without_packages,
)

PROJECT, REGION = "proj-test-123", "us-east5"
GIVEN_TOKEN = "ya29.fake-given-access-token-0123456789"
THRESHOLD = 225  # google-auth refreshes a token this many seconds before it expires


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def google_error(status, code, message_):
    return status, {}, [json.dumps({"error": {"code": code, "message": message_,
                                              "status": status_name(code)}}).encode()]


def status_name(code):
    return {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
            404: "NOT_FOUND", 400: "INVALID_ARGUMENT", 503: "UNAVAILABLE"}[code]


class Google:
    """The token endpoint and Vertex AI on one local server."""

    def __init__(self, tmp_path, lifetime=2.0):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.lifetime = lifetime  # how long a token really lives here
        self.grants, self.tokens, self.unauthorized = [], {}, 0
        self.answer = sse_answer(count=17)
        self.server = FakeCloud(self.handle)
        pem = self.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        self.account = tmp_path / "service-account.json"
        self.account.write_text(json.dumps({
            "type": "service_account", "project_id": PROJECT,
            "private_key_id": "key1", "private_key": pem,
            "client_email": "ci@proj-test-123.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": self.server.base + "/token"}))

    def handle(self, handler, body):
        if handler.path == "/token":
            return self.grant(urllib.parse.parse_qs(body.decode()))
        token = (handler.headers.get("authorization") or "").removeprefix("Bearer ")
        issued = self.tokens.get(token)
        # a second's grace: google-auth dates the expiry from when the answer arrived
        if token != GIVEN_TOKEN and (issued is None or
                                     time.time() > issued + self.lifetime + 1.0):
            self.unauthorized += 1
            return google_error(401, 401, "Request had invalid authentication credentials.")
        return self.answer(handler, body)

    def grant(self, form):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self.grants.append(form)
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {}, [b'{"error": "unsupported_grant_type"}']
        head, claims, signature = form["assertion"][0].split(".")
        try:
            self.key.public_key().verify(b64url(signature), f"{head}.{claims}".encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return 400, {}, [b'{"error": "invalid_grant", "error_description": "bad sig"}']
        claims = json.loads(b64url(claims))
        # google-auth names Google's own token endpoint as the audience, wherever it posts
        if claims["aud"] not in (self.server.base + "/token",
                                 "https://oauth2.googleapis.com/token") or \
                claims["iss"] != "ci@proj-test-123.iam.gserviceaccount.com" or \
                claims["exp"] < time.time() or \
                "cloud-platform" not in claims.get("scope", ""):
            return 400, {}, [b'{"error": "invalid_grant"}']
        token = f"ya29.issued-{len(self.grants):04d}-abcdefghijklmnopqrstuvwxyz"
        self.tokens[token] = time.time()
        # google-auth counts a token expired THRESHOLD s early: this one, after lifetime
        return 200, {}, [json.dumps({"access_token": token, "token_type": "Bearer",
                                     "expires_in": int(THRESHOLD + self.lifetime)}).encode()]

    def env(self, tmp_path, **extra):
        return cloud_env(tmp_path, **{
            "ANTHROPIC_VERTEX_BASE_URL": self.server.base + "/v1", "CLOUD_ML_REGION": REGION,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self.account), **extra})

    def calls(self):
        return [p for p, _, _ in self.server.log if p != "/token"]


@pytest.fixture
def google(tmp_path):
    """The fake Google (google-auth and cryptography needed: msgcli[test] has them; the
    tests without this fixture run without them too, as noxfile's tests_without_extras)."""
    pytest.importorskip("google.auth")
    pytest.importorskip("cryptography")
    made = []

    def make(**kwargs):
        made.append(Google(tmp_path, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.server.close()


def test_service_account_adc_one_request_and_stream(google, tmp_path):
    fake = google(lifetime=60)
    env = fake.env(tmp_path)
    r = run(["--platform", "vertex", "--beta", "b-2", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    r = run(["--platform", "vertex", "--stream", "-m", "claude-sonnet-4-5@20250929", "Hi"],
            env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    prefix = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models/"
    assert fake.calls() == [prefix + "claude-haiku-4-5@20251001:rawPredict",
                            prefix + "claude-sonnet-4-5@20250929:streamRawPredict"]
    bodies = [json.loads(b) for p, _, b in fake.server.log if p != "/token"]
    assert all("model" not in b and b["anthropic_version"] == "vertex-2023-10-16"
               for b in bodies)
    assert bodies[1]["stream"] is True
    headers = [h for p, h, _ in fake.server.log if p != "/token"]
    assert headers[0]["anthropic-beta"] == "b-2"  # beta flags stay a header


def test_count_tokens(google, tmp_path):
    fake = google(lifetime=60)
    r = run(["--platform", "vertex", "--count-tokens", "Hi"], fake.env(tmp_path))
    assert (r.code, r.stdout) == (0, "17\n"), r
    assert fake.calls() == [f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/"
                            "anthropic/models/count-tokens:rawPredict"]
    body = [json.loads(b) for p, _, b in fake.server.log if p != "/token"][0]
    assert body["model"] == "claude-haiku-4-5@20251001"


def test_token_refreshed_when_it_expires_mid_run(google, tmp_path):
    """Tokens live 2 s here; a --jsonl run of 8 answers of 0.6 s each, one at a time,
    needs new ones: msgcli refreshes them before the API would refuse one."""
    fake = google(lifetime=2.0)
    fake.answer = sse_answer(delay=0.6)
    lines = b"".join(f'"line {i}"\n'.encode() for i in range(8))
    r = run(["--platform", "vertex", "--jsonl", "-P", "1", "--stream"], fake.env(tmp_path),
            input=lines)
    assert r.code == 0, r
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == [0] * 8
    assert len(fake.grants) >= 2 and fake.unauthorized == 0


def test_given_access_token_needs_no_google_auth(tmp_path):
    server = FakeCloud(sse_answer(piece=1), bearer_check(GIVEN_TOKEN))
    try:
        env = cloud_env(tmp_path, ANTHROPIC_VERTEX_BASE_URL=server.base + "/v1",
                        CLOUD_ML_REGION=REGION, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN,
                        ANTHROPIC_VERTEX_PROJECT_ID="other-proj",
                        PYTHONPATH=without_packages(tmp_path, "google"))
        r = run(["--platform", "vertex", "--stream", "Hi"], env)
        assert (r.code, r.stdout) == (0, "Hello!\n"), r
        assert server.log[0][0].startswith("/v1/projects/other-proj/")
    finally:
        server.close()


def test_without_google_auth_the_adc_path_says_how(tmp_path):
    env = cloud_env(tmp_path, CLOUD_ML_REGION=REGION, ANTHROPIC_VERTEX_PROJECT_ID=PROJECT,
                    GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "sa.json"),
                    PYTHONPATH=without_packages(tmp_path, "google"))
    r = run(["--platform", "vertex", "Hi"], env)
    assert r.code == 11, r
    assert "MSGCLI_VERTEX_ACCESS_TOKEN" in r.stderr and "msgcli[vertex]" in r.stderr


def test_no_region_and_no_project(tmp_path):
    r = run(["--platform", "vertex", "Hi"],
            cloud_env(tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN))
    assert r.code == 2 and "CLOUD_ML_REGION" in r.stderr, r
    r = run(["--platform", "vertex", "Hi"],
            cloud_env(tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN, CLOUD_ML_REGION="us"))
    assert r.code == 2 and "ANTHROPIC_VERTEX_PROJECT_ID" in r.stderr, r


@pytest.mark.parametrize("region, host", [
    ("global", "https://aiplatform.googleapis.com/v1/"),
    ("eu", "https://aiplatform.eu.rep.googleapis.com/v1/"),
    ("us", "https://aiplatform.us.rep.googleapis.com/v1/"),
    ("europe-west1", "https://europe-west1-aiplatform.googleapis.com/v1/"),
])
def test_dry_run_shows_the_real_url(tmp_path, region, host):
    env = cloud_env(tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN, CLOUD_ML_REGION=region,
                    ANTHROPIC_VERTEX_PROJECT_ID="p1")
    r = run(["--platform", "vertex", "--dry-run", "Hi"], env)
    assert r.code == 0, r
    assert r.stdout.startswith(f"POST {host}projects/p1/locations/{region}/publishers/"
                               "anthropic/models/claude-haiku-4-5@20251001:rawPredict\n")
    assert "authorization: [REDACTED]" in r.stdout and GIVEN_TOKEN not in r.stdout


@pytest.mark.parametrize("code, status", [(429, 12), (403, 11), (400, 10), (503, 13)])
def test_google_error_shapes(google, tmp_path, code, status):
    fake = google()
    fake.answer = lambda handler, body: google_error(code, code, "quota says no")
    r = run(["--platform", "vertex", "--retries", "0", "Hi"], fake.env(tmp_path))
    assert r.code == status, r
    assert f"HTTP {code}: {status_name(code)}: quota says no" in r.stderr


def test_tokens_are_redacted(google, tmp_path):
    fake = google(lifetime=60)
    fake.answer = lambda handler, body: (200, {}, [json.dumps(message(
        handler.headers["authorization"].removeprefix("Bearer "))).encode()])
    r = run(["--platform", "vertex", "Hi"], fake.env(tmp_path))
    assert (r.code, r.stdout) == (0, "[REDACTED]\n"), r
    r = run(["--platform", "vertex", "Hi"], fake.env(
        tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN, ANTHROPIC_VERTEX_PROJECT_ID="p"))
    assert (r.code, r.stdout) == (0, "[REDACTED]\n"), r


def test_conversation_and_switch(google, tmp_path):
    fake = google(lifetime=60)
    env = fake.env(tmp_path, CLAUDE_CODE_USE_VERTEX="1")
    convo = tmp_path / "c.json"
    assert run(["-c", str(convo), "Hi"], env).code == 0
    assert run(["-c", str(convo), "--stream", "More"], env).code == 0
    assert len(json.loads(convo.read_text())) == 4


@pytest.mark.parametrize("args", [["--list-models"], ["--batch-list"]])
def test_what_vertex_lacks(tmp_path, args):
    env = cloud_env(tmp_path, MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN, CLOUD_ML_REGION="us")
    r = run(["--platform", "vertex", *args], env)
    assert r.code == 2 and "--platform vertex" in r.stderr, r


def test_vertex_fields_pass_through_json(tmp_path):
    whole = message(usage={"input_tokens": 3, "output_tokens": 4,
                           "vertex_extra": {"billed": 1}})
    server = FakeCloud(sse_answer(whole=whole), bearer_check(GIVEN_TOKEN))
    try:
        env = cloud_env(tmp_path, ANTHROPIC_VERTEX_BASE_URL=server.base + "/v1",
                        CLOUD_ML_REGION="global", MSGCLI_VERTEX_ACCESS_TOKEN=GIVEN_TOKEN,
                        ANTHROPIC_VERTEX_PROJECT_ID="p")
        r = run(["--platform", "vertex", "-j", "-v", "Hi"], env)
        assert r.code == 0, r
        assert json.loads(r.stdout)["usage"]["vertex_extra"] == {"billed": 1}
        assert f"platform vertex, region global, endpoint {server.base}/v1" in r.stderr
    finally:
        server.close()
