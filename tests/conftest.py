import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from msgcli.cli.command import cli
from tests.support.scripted_server import ScriptedServer

FAKE_KEY = "sk-ant-api03-FAKE-KEY-for-tests-0123456789abcdef"
FAKE_TOKEN = "fake-oauth-token-for-tests-9876543210"
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data" / "sdk-sse"


def message(text="Hello!", stop_reason="end_turn", content=None, **extra):
    """A Messages API reply body."""
    body = {
        "id": "msg_test", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content if content is not None else [{"type": "text", "text": text}],
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    body.update(extra)
    return body


def error_body(message_text, error_type="invalid_request_error"):
    """A Messages API error body."""
    return {"type": "error", "error": {"type": error_type, "message": message_text},
            "request_id": "req_400"}


# the usage of a reply that wrote and read the prompt cache
CACHED_USAGE = {"input_tokens": 12, "output_tokens": 5, "cache_creation_input_tokens": 2048,
                "cache_read_input_tokens": 4096,
                "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                   "ephemeral_1h_input_tokens": 2048}}


def assert_no_secret(*outputs):
    """Every run of every test passes through here: the credentials never leave."""
    for out in outputs:
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        assert FAKE_KEY not in out, "the API key leaked into msgcli's output"
        assert FAKE_TOKEN not in out, "the auth token leaked into msgcli's output"
        assert "Traceback" not in out, "msgcli printed a traceback"


class Result:
    def __init__(self, code, stdout, stderr):
        self.code = code
        self.stdout_bytes = stdout
        self.stdout = stdout.decode("utf-8", "replace")
        self.stderr = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) \
            else stderr

    def __repr__(self):
        return f"Result(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def clean_env(base_url, drop=(), **extra):
    # PYTHONUNBUFFERED would hide a missing flush: tests see what a user's shell sees
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MSGCLI_", "ANTHROPIC_", *drop)) and k != "PYTHONUNBUFFERED"}
    # the msgcli console script sits beside this interpreter, shim or no shim
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update({"ANTHROPIC_API_KEY": FAKE_KEY, "ANTHROPIC_BASE_URL": base_url,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """msgcli reads its model cache on every run: each test gets its own cache
    directory, inside the test's temporary directory, never the user's."""
    path = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path


@pytest.fixture
def api(httpserver):
    """pytest-httpserver with helpers for the Messages endpoint."""
    httpserver.base = httpserver.url_for("/").rstrip("/")

    def reply(body=None, status=200, headers=None, path="/v1/messages"):
        if body is None:
            body = message()
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        httpserver.expect_request(path, method="POST").respond_with_data(
            data, status=status, headers=headers or {"request-id": "req_test123"},
            content_type="application/json")

    def bodies():
        return [json.loads(req.get_data()) for req, _ in httpserver.log]

    def headers():
        return [req.headers for req, _ in httpserver.log]

    httpserver.reply = reply
    httpserver.bodies = bodies
    httpserver.headers = headers
    return httpserver


# click < 8.2 mixes stderr into stdout (and leaves result.stderr unset) unless
# mix_stderr=False; click 8.2 removed that parameter and always keeps them apart.
_RUNNER_KWARGS = ({"mix_stderr": False}
                  if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {})


def refused(api, r, *fragments):
    """A usage or input error (exit 2, one line naming `fragments`); nothing sent."""
    assert r.code == 2, r
    assert api.log == [], "a request was sent for bad input"
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for fragment in fragments:
        assert fragment in r.stderr, r.stderr


def check_not_internal_error(out, allow_internal_error):
    """Exit 1 is msgcli's "internal error (a bug)": no test passes with it unless it asks."""
    if not allow_internal_error:
        assert out.code != 1, f"msgcli exited 1 (internal error): {out!r}"


def checked(out, allow_internal_error=False):
    """What every run of msgcli in a test goes through: no secret, no traceback, and
    no exit 1 unless allowed."""
    assert_no_secret(out.stdout, out.stderr)
    check_not_internal_error(out, allow_internal_error)
    return out


@pytest.fixture
def invoke(api):
    """Run msgcli in-process (fast) against the `api` server."""

    def run(args, input=b"", env=None, base_url=None, allow_internal_error=False):
        runner = CliRunner(**_RUNNER_KWARGS)
        environment = clean_env(base_url or api.base, **(env or {}))
        for key in list(os.environ):
            if key.startswith(("MSGCLI_", "ANTHROPIC_")) and key not in environment:
                environment[key] = None
        result = runner.invoke(cli, args, input=input, env=environment,
                               catch_exceptions=True)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"unhandled {result.exception!r}"
        return checked(Result(result.exit_code, result.stdout_bytes, result.stderr_bytes),
                       allow_internal_error)

    return run


@pytest.fixture
def run_cli(api):
    """Run the installed msgcli in a real process (signals, pipes, stdin, exit)."""

    def run(args, input=b"", env=None, base_url=None, timeout=60, stdin=None,
            allow_internal_error=False):
        proc = subprocess.run(
            [sys.executable, "-m", "msgcli", *args],
            input=input if stdin is None else None, stdin=stdin,
            capture_output=True, timeout=timeout, cwd=REPO,
            env=clean_env(base_url or api.base, **(env or {})))
        return checked(Result(proc.returncode, proc.stdout, proc.stderr),
                       allow_internal_error)

    return run


@pytest.fixture
def scripted():
    servers = []

    def make(*scripts):
        server = ScriptedServer(scripts)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def hostile():
    """Make tests.support.hostile_server.HostileServers (scripts may be endless); all are
    closed after the test."""
    from tests.support.hostile_server import HostileServer

    servers = []

    def make(*scripts):
        server = HostileServer(*scripts)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def many():
    """Local --jsonl servers (tests/support/many_server.py), closed after the test."""
    from tests.support.many_server import ManyServer

    servers = []

    def make(**kwargs):
        server = ManyServer(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
