"""--platform bedrock and bedrock-mantle against a fake Bedrock that checks what the
real one would: the Bedrock API key, or a SigV4 signature recomputed with botocore."""

import json

import pytest

from msgcli.platforms import eventstream
from tests.conftest import message
from tests.support.cloud_servers import (
    AWS_ACCESS,
    AWS_SECRET,
    AWS_SESSION,
    BEDROCK_KEY,
    FakeCloud,
    bearer_check,
    bedrock_answer,
    cloud_env,
    needs_botocore,
    run,
    sigv4_check,
    sse_answer,
    stream_events,
    without_packages,
)

# the tests of SigV4 need botocore (msgcli[test] has it); the others run without it
# too (noxfile's tests_without_extras)


@pytest.fixture
def servers():
    made = []

    def make(*args, **kwargs):
        server = FakeCloud(*args, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def key_env(tmp_path, server, **extra):
    return cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base,
                     AWS_BEARER_TOKEN_BEDROCK=BEDROCK_KEY, AWS_REGION="us-east-1", **extra)


def sigv4_env(tmp_path, server, **extra):
    return cloud_env(tmp_path, **{
        "ANTHROPIC_BEDROCK_BASE_URL": server.base, "AWS_ACCESS_KEY_ID": AWS_ACCESS,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_SESSION_TOKEN": AWS_SESSION,
        "AWS_REGION": "eu-west-1", **extra})


def test_api_key_one_request(servers, tmp_path):
    server = servers(bedrock_answer(), bearer_check(BEDROCK_KEY))
    r = run(["--platform", "bedrock", "--beta", "b-1", "-m",
             "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "Hi"], key_env(tmp_path, server))
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    path, headers, _ = server.log[0]
    assert path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
    body = server.bodies()[0]
    assert "model" not in body and "stream" not in body
    assert body["anthropic_version"] == "bedrock-2023-05-31"
    assert body["anthropic_beta"] == ["b-1"]
    assert "anthropic-beta" not in {k.lower() for k in headers}
    assert "x-api-key" not in {k.lower() for k in headers}  # the Anthropic key stays home


def test_default_model_and_arn_quoted(servers, tmp_path):
    server = servers(bedrock_answer(), bearer_check(BEDROCK_KEY))
    env = key_env(tmp_path, server)
    assert run(["--platform", "bedrock", "Hi"], env).code == 0
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x"
    assert run(["--platform", "bedrock", "-m", arn, "Hi"], env).code == 0
    assert server.log[0][0] == \
        "/model/global.anthropic.claude-haiku-4-5-20251001-v1:0/invoke"
    assert server.log[1][0] == "/model/arn:aws:bedrock:us-east-1:123456789012:" \
        "inference-profile%2Fus.anthropic.claude-x/invoke"


@pytest.mark.parametrize("piece", [1, 5, None])
def test_stream_event_frames_split_anywhere(servers, tmp_path, piece):
    server = servers(bedrock_answer("Hello, Bedrock!", piece=piece), bearer_check(BEDROCK_KEY))
    r = run(["--platform", "bedrock", "--stream", "Hi"], key_env(tmp_path, server))
    assert (r.code, r.stdout) == (0, "Hello, Bedrock!\n"), r
    assert server.log[0][0].endswith("/invoke-with-response-stream")
    assert server.log[0][1]["accept"] == eventstream.MEDIA_TYPE


def test_platform_fields_pass_through_json(servers, tmp_path):
    """-j shows Bedrock's own fields untouched: invocation metrics in the stream's last
    event, extra usage fields in a whole reply."""
    whole = message(usage={"input_tokens": 3, "output_tokens": 4, "bedrock_extra": 7})
    server = servers(bedrock_answer(whole=whole), bearer_check(BEDROCK_KEY))
    env = key_env(tmp_path, server)
    r = run(["--platform", "bedrock", "-j", "Hi"], env)
    assert json.loads(r.stdout)["usage"]["bedrock_extra"] == 7
    r = run(["--platform", "bedrock", "-j", "--stream", "Hi"], env)
    last = json.loads(r.stdout.splitlines()[-1])
    assert last["amazon-bedrock-invocationMetrics"] == {"inputTokenCount": 10}
    assert [json.loads(line)["type"] for line in r.stdout.splitlines()] == \
        [e["type"] for e in stream_events()]


@needs_botocore
def test_sigv4_signature_checked_by_botocore(servers, tmp_path):
    server = servers(bedrock_answer(piece=3),
                     sigv4_check("bedrock", "eu-west-1", token=AWS_SESSION))
    env = sigv4_env(tmp_path, server)
    assert run(["--platform", "bedrock", "Hi"], env).stdout == "Hello!\n"
    r = run(["--platform", "bedrock", "--stream", "-m", "arn:aws:bedrock:eu-west-1:1:"
             "inference-profile/eu.anthropic.claude-x", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert server.log[0][1]["x-amz-security-token"] == AWS_SESSION


@needs_botocore
def test_a_wrong_signature_is_refused(servers, tmp_path):
    server = servers(bedrock_answer(), sigv4_check("bedrock", "eu-west-1", token=AWS_SESSION))
    env = sigv4_env(tmp_path, server, AWS_SECRET_ACCESS_KEY="not-the-secret-key-0123456789")
    r = run(["--platform", "bedrock", "Hi"], env)
    assert r.code == 11, r
    assert "AccessDeniedException" in r.stderr and "signature" in r.stderr
    assert "--platform bedrock" in r.stderr and "ANTHROPIC_API_KEY" not in r.stderr


@needs_botocore
def test_credentials_are_redacted(servers, tmp_path):
    """A server that echoes the credentials shows none of them."""
    def echo(handler, body):
        said = BEDROCK_KEY if "Bearer" in handler.headers["authorization"] \
            else f"{AWS_SECRET} {AWS_SESSION}"
        return 200, {}, [json.dumps(message(said)).encode()]

    server = servers(echo)
    r = run(["--platform", "bedrock", "Hi"], sigv4_env(tmp_path, server))
    assert (r.code, r.stdout) == (0, "[REDACTED] [REDACTED]\n"), r
    r = run(["--platform", "bedrock", "Hi"], key_env(tmp_path, server))
    assert (r.code, r.stdout) == (0, "[REDACTED]\n"), r


def test_no_credentials_without_botocore_exit_11(tmp_path):
    env = cloud_env(tmp_path, AWS_REGION="us-east-1",
                    PYTHONPATH=without_packages(tmp_path, "botocore"))
    r = run(["--platform", "bedrock", "Hi"], env)
    assert r.code == 11, r
    assert "AWS_BEARER_TOKEN_BEDROCK" in r.stderr and "msgcli[bedrock]" in r.stderr


@needs_botocore
def test_no_credentials_with_botocore_exit_11(tmp_path):
    r = run(["--platform", "bedrock", "Hi"], cloud_env(tmp_path, AWS_REGION="us-east-1"))
    assert r.code == 11, r
    assert "AWS_BEARER_TOKEN_BEDROCK" in r.stderr


def test_key_path_works_without_botocore(servers, tmp_path):
    server = servers(bedrock_answer(piece=2), bearer_check(BEDROCK_KEY))
    env = key_env(tmp_path, server, PYTHONPATH=without_packages(tmp_path, "botocore"))
    r = run(["--platform", "bedrock", "--stream", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r


def test_no_region_exit_2(tmp_path):
    r = run(["--platform", "bedrock", "Hi"],
            cloud_env(tmp_path, AWS_BEARER_TOKEN_BEDROCK=BEDROCK_KEY))
    assert r.code == 2 and "AWS_REGION" in r.stderr, r


@needs_botocore
def test_region_from_the_profile(servers, tmp_path):
    (tmp_path / "aws-config").write_text("[profile work]\nregion = ap-south-1\n")
    (tmp_path / "aws-credentials").write_text(
        f"[work]\naws_access_key_id = {AWS_ACCESS}\naws_secret_access_key = {AWS_SECRET}\n")
    server = servers(bedrock_answer(), sigv4_check("bedrock", "ap-south-1"))
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_BASE_URL=server.base, AWS_PROFILE="work")
    r = run(["--platform", "bedrock", "-v", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert f"platform bedrock, region ap-south-1, endpoint {server.base}" in r.stderr


@pytest.mark.parametrize("args, what", [
    (["--count-tokens", "Hi"], "--count-tokens"),
    (["--list-models"], "--list-models"),
    (["--batch-list"], "Message Batches"),
    (["--jsonl", "--batch"], "Message Batches"),
])
def test_what_bedrock_lacks_is_refused_before_any_request(servers, tmp_path, args, what):
    server = servers(bedrock_answer(), bearer_check(BEDROCK_KEY))
    r = run(["--platform", "bedrock", *args], key_env(tmp_path, server), input=b'"Hi"\n')
    assert r.code == 2, r
    assert "--platform bedrock" in r.stderr and what in r.stderr
    assert server.log == []


@pytest.mark.parametrize("status, kind, code", [
    (429, "ThrottlingException", 12),
    (429, "ModelNotReadyException", 12),
    (503, "ServiceUnavailableException", 13),
    (403, "AccessDeniedException", 11),
    (400, "ValidationException", 10),
])
def test_error_shapes(servers, tmp_path, status, kind, code):
    def fail(handler, body):
        return status, {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/",
                        "x-amzn-RequestId": "aws-req-9"}, [
            json.dumps({"message": f"{kind} says no"}).encode()]

    server = servers(fail)
    r = run(["--platform", "bedrock", "--retries", "0", "Hi"], key_env(tmp_path, server))
    assert r.code == code, r
    assert f"HTTP {status}: {kind}: {kind} says no (request-id aws-req-9)" in r.stderr


def test_throttling_is_retried_like_a_429(servers, tmp_path):
    answers = iter([429, 200])
    ok = bedrock_answer()

    def flaky(handler, body):
        if next(answers) == 429:
            return 429, {"x-amzn-ErrorType": "ThrottlingException", "retry-after": "0"}, \
                [b'{"message": "Too many requests"}']
        return ok(handler, body)

    server = servers(flaky)
    r = run(["--platform", "bedrock", "--jsonl"], key_env(tmp_path, server), input=b'"Hi"\n')
    assert r.code == 0 and json.loads(r.stdout)["text"] == "Hello!", r
    assert len(server.log) == 2


def test_an_exception_frame_in_the_stream(servers, tmp_path):
    def broken(handler, body):
        frames = eventstream.chunk_frame(stream_events()[0]) + eventstream.encode_frame(
            {":message-type": "exception", ":exception-type": "ThrottlingException",
             ":content-type": "application/json"}, b'{"message": "slow down"}')
        return 200, {"content-type": eventstream.MEDIA_TYPE}, [frames]

    server = servers(broken)
    r = run(["--platform", "bedrock", "--stream", "Hi"], key_env(tmp_path, server))
    assert r.code == 12, r
    assert "ThrottlingException: slow down" in r.stderr


def test_a_corrupt_frame_is_a_bad_response(servers, tmp_path):
    def corrupt(handler, body):
        frame = bytearray(eventstream.chunk_frame(stream_events()[0]))
        frame[20] ^= 1
        return 200, {"content-type": eventstream.MEDIA_TYPE}, [bytes(frame)]

    server = servers(corrupt)
    r = run(["--platform", "bedrock", "--stream", "Hi"], key_env(tmp_path, server))
    assert r.code == 13 and "CRC" in r.stderr, r


def test_dry_run_shows_the_real_url_masked(tmp_path):
    env = cloud_env(tmp_path, AWS_BEARER_TOKEN_BEDROCK=BEDROCK_KEY, AWS_REGION="eu-central-1")
    r = run(["--platform", "bedrock", "--dry-run", "--stream", "Hi"], env)
    assert r.code == 0, r
    assert r.stdout.startswith("POST https://bedrock-runtime.eu-central-1.amazonaws.com/"
                               "model/global.anthropic.claude-haiku-4-5-20251001-v1:0/"
                               "invoke-with-response-stream\n")
    assert "authorization: [REDACTED]" in r.stdout
    env = cloud_env(tmp_path, AWS_ACCESS_KEY_ID=AWS_ACCESS, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                    AWS_REGION="eu-central-1")
    r = run(["--platform", "bedrock", "--dry-run", "Hi"], env)
    assert r.code == 0 and "authorization: [REDACTED]" in r.stdout, r
    assert "x-amz-date: (set when signed)" in r.stdout


def test_conversation_and_jsonl(servers, tmp_path):
    server = servers(bedrock_answer(piece=4), bearer_check(BEDROCK_KEY))
    env = key_env(tmp_path, server)
    convo = tmp_path / "c.json"
    assert run(["--platform", "bedrock", "-c", str(convo), "Hi"], env).code == 0
    r = run(["--platform", "bedrock", "-c", str(convo), "--stream", "Again"], env)
    assert r.code == 0, r
    assert [m["role"] for m in json.loads(convo.read_text())] == \
        ["user", "assistant", "user", "assistant"]
    assert len(server.bodies()[1]["messages"]) == 3
    r = run(["--platform", "bedrock", "--jsonl", "-P", "2"], env,
            input=b'"one"\n"two"\n"three"\n')
    assert r.code == 0, r
    assert [json.loads(line)["text"] for line in r.stdout.splitlines()] == ["Hello!"] * 3


def test_claude_code_switch_chooses_bedrock(servers, tmp_path):
    server = servers(bedrock_answer(), bearer_check(BEDROCK_KEY))
    r = run(["Hi"], key_env(tmp_path, server, CLAUDE_CODE_USE_BEDROCK="1"))
    assert r.code == 0 and server.log[0][0].endswith("/invoke"), r


@needs_botocore
def test_mantle_messages_endpoint(servers, tmp_path):
    server = servers(sse_answer(piece=1, count=9),
                     sigv4_check("bedrock-mantle", "us-west-2"))
    env = cloud_env(tmp_path, ANTHROPIC_BEDROCK_MANTLE_BASE_URL=server.base + "/anthropic",
                    AWS_ACCESS_KEY_ID=AWS_ACCESS, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                    AWS_REGION="us-west-2")
    args = ["--platform", "bedrock-mantle", "-m", "anthropic.claude-haiku-4-5"]
    r = run(args + ["--stream", "Hi"], env)
    assert (r.code, r.stdout) == (0, "Hello!\n"), r
    assert run(args + ["--count-tokens", "Hi"], env).stdout == "9\n"
    assert [p for p, _, _ in server.log] == ["/anthropic/v1/messages",
                                             "/anthropic/v1/messages/count_tokens"]
    assert server.bodies()[0]["model"] == "anthropic.claude-haiku-4-5"
    r = run(["--platform", "bedrock-mantle", "Hi"], env)
    assert r.code == 2 and "-m" in r.stderr, r


def test_deadline_holds_on_a_platform(servers, tmp_path):
    server = servers(bedrock_answer(delay=5), bearer_check(BEDROCK_KEY))
    r = run(["--platform", "bedrock", "--deadline", "1", "Hi"], key_env(tmp_path, server))
    assert r.code == 14 and "--deadline" in r.stderr, r


def test_a_streamed_key_split_across_frames_is_redacted(servers, tmp_path):
    """The key, echoed in two text deltas (so across two frames and two writes)."""
    server = servers(bedrock_answer(BEDROCK_KEY, piece=3), bearer_check(BEDROCK_KEY))
    r = run(["--platform", "bedrock", "--stream", "Hi"], key_env(tmp_path, server))
    assert (r.code, r.stdout) == (0, "[REDACTED]\n"), r
