"""Local stand-ins for the cloud platforms, each checking what the real one would.

FakeCloud: one HTTP server on 127.0.0.1 that answers as Bedrock (InvokeModel and its
binary event stream, or the Messages endpoint), Vertex AI (rawPredict and
streamRawPredict) or Foundry, after an `authorise` check of the test's choosing:
a SigV4 signature recomputed with botocore from the same credentials and request, a
bearer token, an API key. A wrong one is refused with the platform's own 403.
It writes streams in pieces of the test's choosing (one byte each, say).
"""

import importlib.util
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from msgcli.platforms import eventstream
from tests.conftest import message
from tests.support.sse import sse_body

AWS_ACCESS = "AKIDFAKEACCESSKEY123"
AWS_SECRET = "fake-aws-secret-key-for-tests-0123456789abcdef"
AWS_SESSION = "fake-aws-session-token-for-tests-0123456789"
BEDROCK_KEY = "fake-bedrock-api-key-for-tests-0123456789"


# what only botocore can check (a SigV4 signature, the AWS credential chain): the
# other platform tests run without it too (noxfile's tests_without_extras)
needs_botocore = pytest.mark.skipif(
    importlib.util.find_spec("botocore") is None, reason="botocore is not installed")


def stream_events(text="Hello!", stop_reason="end_turn", extra_stop=None):
    """The Messages events of a short answer, split into two text deltas."""
    half = len(text) // 2
    return [
        {"type": "message_start", "message": dict(message(""), content=[],
                                                  stop_reason=None)},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "text_delta", "text": text[:half]}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "text_delta", "text": text[half:]}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": stop_reason},
         "usage": {"output_tokens": 5}},
        dict({"type": "message_stop"}, **(extra_stop or {})),
    ]


def sigv4_check(service, region, access=AWS_ACCESS, secret=AWS_SECRET, token=None):
    """An authorise function: the request's SigV4 signature, recomputed by botocore
    from the signed headers as received, must match."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def check(handler, body):
        auth = handler.headers.get("authorization") or ""
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "no SigV4 signature"
        fields = dict(part.strip().split("=", 1) for part in
                      auth[len("AWS4-HMAC-SHA256 "):].split(","))
        scope = fields["Credential"].split("/")
        if scope[0] != access or scope[2] != region or scope[3] != service:
            return f"wrong credential scope {fields['Credential']}"
        if token is not None and handler.headers.get("x-amz-security-token") != token:
            return "wrong session token"
        signed = fields["SignedHeaders"].split(";")
        headers = {name: handler.headers.get(name) for name in signed if name != "host"}
        url = f"http://{handler.headers['host']}{handler.path}"
        request = AWSRequest(method=handler.command, url=url, headers=headers, data=body)
        request.context["timestamp"] = handler.headers["x-amz-date"]
        signer = SigV4Auth(Credentials(access, secret, token), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != fields["Signature"]:
            return "the request signature we calculated does not match"
        return None

    return check


def bearer_check(token):
    def check(handler, body):
        if handler.headers.get("authorization") != f"Bearer {token}":
            return "bad bearer token"
        return None

    return check


class FakeCloud:
    """Answers every POST with `answer(handler, body)` -> (status, headers, pieces),
    after `authorise(handler, body)` -> None or the reason to refuse."""

    def __init__(self, answer, authorise=None, refuse=None):
        self.log = []
        self.answer = answer
        self.authorise = authorise
        self.refuse = refuse or (lambda reason: (403, {"x-amzn-ErrorType":
                                                       "AccessDeniedException:http://x/"},
                                                 [json.dumps({"message": reason}).encode()]))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size)
                outer.log.append((self.path, {k.lower(): v for k, v in self.headers.items()},
                                 body))
                reason = outer.authorise(self, body) if outer.authorise else None
                if reason:
                    status, headers, pieces = outer.refuse(reason)
                else:
                    status, headers, pieces = outer.answer(self, body)
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("transfer-encoding", "chunked")
                self.send_header("connection", "close")
                self.end_headers()
                for piece in pieces:
                    if piece:
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # a client that gave up (--deadline) is expected here, not a server error
        self.server.handle_error = lambda request, address: None
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        return [json.loads(body) for _, _, body in self.log]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def split(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] if size else [data]


def bedrock_answer(text="Hello!", piece=None, whole=None, delay=0.0):
    """InvokeModel's answer: a message, or for the stream action an event stream of
    chunk frames (written `piece` bytes at a time)."""
    def answer(handler, body):
        if delay:
            time.sleep(delay)
        if handler.path.endswith("/invoke-with-response-stream"):
            events = stream_events(text, extra_stop={"amazon-bedrock-invocationMetrics":
                                                     {"inputTokenCount": 10}})
            data = b"".join(eventstream.chunk_frame(e) for e in events)
            return 200, {"content-type": eventstream.MEDIA_TYPE,
                         "x-amzn-requestid": "aws-req-1"}, split(data, piece)
        reply = whole if whole is not None else message(text)
        return 200, {"x-amzn-requestid": "aws-req-1"}, [json.dumps(reply).encode()]

    return answer


def sse_answer(text="Hello!", piece=None, whole=None, delay=0.0, count=None):
    """An Anthropic-shaped answer (Vertex, Foundry, Bedrock's Messages endpoint): SSE
    when the body asks to stream, JSON otherwise; a token count for count paths."""
    def answer(handler, body):
        if delay:
            time.sleep(delay)
        if "count" in handler.path:
            return 200, {}, [json.dumps({"input_tokens": count or 42}).encode()]
        if json.loads(body or b"{}").get("stream"):
            data = sse_body(stream_events(text))
            return 200, {"content-type": "text/event-stream"}, split(data, piece)
        reply = whole if whole is not None else message(text)
        return 200, {}, [json.dumps(reply).encode()]

    return answer


def cloud_env(tmp_path, base_url="http://127.0.0.1:9", **extra):
    """The environment of a run on a cloud platform: tests' own, with no AWS, Google
    or Azure setting of the machine's (nor its files) leaking in."""
    from tests.conftest import clean_env

    return clean_env(base_url, drop=("AWS_", "GOOGLE_", "CLOUDSDK_", "AZURE_",
                                     "CLAUDE_CODE_", "CLOUD_ML_"), **{
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"), **extra})


def without_packages(tmp_path, *names):
    """A PYTHONPATH entry under which importing each of `names` fails as if it were
    not installed: the default install, within the test environment."""
    root = tmp_path / "hide"
    for name in names:
        package = root / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(
            f"raise ImportError('{name} is hidden by the test')\n")
    return str(root)


def run(args, env, input=b"", timeout=60):
    """msgcli in a real process, checked as every test's run is (no traceback, no
    exit 1), and with no cloud credential in its output."""
    import subprocess
    import sys

    from tests.conftest import REPO, Result, checked

    proc = subprocess.run([sys.executable, "-m", "msgcli", *args], input=input,
                          capture_output=True, timeout=timeout, cwd=REPO, env=env)
    result = checked(Result(proc.returncode, proc.stdout, proc.stderr))
    secrets = [AWS_SECRET, AWS_SESSION, BEDROCK_KEY] + [env[name] for name in CREDENTIALS
                                                        if env.get(name)]
    if env.get("ANTHROPIC_IDENTITY_TOKEN_FILE"):
        with open(env["ANTHROPIC_IDENTITY_TOKEN_FILE"]) as f:
            secrets.append(f.read().strip())
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, "a credential leaked"
    return result


# the variables that hold a credential: no run may show their values
CREDENTIALS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
               "MSGCLI_VERTEX_ACCESS_TOKEN", "ANTHROPIC_FOUNDRY_API_KEY",
               "MSGCLI_FOUNDRY_ACCESS_TOKEN", "ANTHROPIC_IDENTITY_TOKEN", "ANTHROPIC_API_KEY")
