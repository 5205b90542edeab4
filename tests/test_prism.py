"""Conformance against Prism, a mock server built from the official OpenAPI spec: it
validates every request msgcli sends and answers from the spec's examples.

Where Node.js and npm are installed, the first run does `npm ci` in tests/prism (once,
from the npm registry); without them these skip with a reason that says how to get them.
.ci/run sets MSGCLI_REQUIRE_PRISM=1, which turns a skip into a failure."""

import json
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO, Result, assert_no_secret, clean_env
from tests.support.spec import SPEC_PATH

pytestmark = pytest.mark.prism
PRISM_DIR = REPO / "tests" / "prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
DATA = Path(__file__).parent / "data"
# The answer every example in the spec gives
EXAMPLE_TEXT = "Hi! My name is Claude."


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason):
    if os.environ.get("MSGCLI_REQUIRE_PRISM"):
        pytest.fail(f"Prism conformance tests must run here: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def prism_installed():
    """Prism's path; `npm ci` in tests/prism once if it is not installed yet."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("Node.js and npm are not installed: install them (e.g. `apt-get install "
                     "nodejs npm`, or from https://nodejs.org) to run the Prism tests")
    if not PRISM.exists():
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=PRISM_DIR, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not PRISM.exists():
            _unavailable(f"`npm ci` in tests/prism failed ({proc.returncode}): "
                         f"{proc.stderr.strip()[-500:]}")
    return PRISM


@contextmanager
def prism_serving(prism_installed, spec, log_name):
    """Prism mocking `spec` on a free port, for as long as the block runs; its log in
    tests/prism/`log_name`."""
    port = _free_port()
    log = open(PRISM_DIR / log_name, "w")
    proc = subprocess.Popen([str(prism_installed), "mock", "-h", "127.0.0.1", "-p", str(port),
                             str(spec)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Prism exited with {proc.returncode}; see tests/prism/{log_name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("Prism did not start within 120 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def prism(prism_installed):
    with prism_serving(prism_installed, SPEC_PATH, "prism.log") as url:
        yield url


def msgcli(prism, args, input=b""):
    proc = subprocess.run(["msgcli", "--retries", "0", *args], input=input,
                          capture_output=True, timeout=60, cwd=REPO,
                          env=clean_env(prism))
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_no_secret(result.stdout, result.stderr)
    return result


def accepted(result, shown_prefill=""):
    assert result.code == 0, result
    assert result.stdout == shown_prefill + EXAMPLE_TEXT + "\n"
    assert result.stderr == ""


CASES = {
    "basic": ["Hello, Claude"],
    "system": ["-s", "You are terse.", "Hello"],
    "every sampling flag": ["-m", "claude-haiku-4-5", "-t", "100", "--temperature", "0.3",
                            "--top-p", "0.9", "--top-k", "20", "Hi"],
    "stop sequences": ["-S", "END", "-S", "###", "Hi"],
    "prefill": ["-t", "1", "-p", "The answer is (", "Latin for ant?"],
    "image base64": ["-i", str(DATA / "pixel.png"), "What is this?"],
    "image base64 jpeg gif webp": ["-i", str(DATA / "pixel.jpg"), "-i",
                                   str(DATA / "pixel.gif"), "-i", str(DATA / "pixel.webp"),
                                   "Compare"],
    "image url": ["-i", "https://example.com/ant.jpg", "What is this?"],
    "document pdf": ["-d", str(DATA / "tiny.pdf"), "Summarize"],
    "document text": ["-d", str(REPO / "README.md"), "Summarize"],
    "document url": ["-d", "https://example.com/paper.pdf", "Summarize"],
    "thinking budget": ["-t", "4000", "--thinking", "2048", "Think"],
    "thinking adaptive": ["--thinking", "adaptive", "Think"],
    "effort": ["--effort", "high", "Hi"],
    "schema": ["--schema", '{"type":"object","properties":{"a":{"type":"string"}}}', "Hi"],
    "tools": ["--tools", str(REPO / "examples" / "weather_tools.json"),
              "--tool-choice", "get_weather", "Weather in Paris?"],
    "tool choice auto": ["--tools", str(REPO / "examples" / "weather_tools.json"),
                         "--tool-choice", "any", "Weather?"],
    "extra": ["--extra", '{"metadata": {"user_id": "u-1"}, "service_tier": "auto"}', "Hi"],
    "beta": ["--beta", "context-management-2025-06-27", "Hi"],
    "header": ["-H", "X-Trace-Id: abc", "Hi"],
    "stream": ["--stream", "Hi"],
    # issue 17 (web_*_20260318 are newer than the spec: the SDK differential covers them)
    "cache, 1h, breakpoints": ["--cache-ttl", "1h", "--cache-breakpoint", "system,documents",
                               "-s", "Rules.", "-d", str(DATA / "tiny.pdf"), "Summarize"],
    "cache pre-warm": ["--cache", "-t", "0", "-s", "Rules.", "Hi"],
    "show thinking": ["-t", "4000", "--thinking", "2048", "--show-thinking", "Think"],
    "show adaptive thinking": ["--thinking", "adaptive", "--show-thinking", "Think"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_accepted(prism, name):
    args = CASES[name]
    prefill = args[args.index("-p") + 1] if "-p" in args else ""
    accepted(msgcli(prism, args), prefill)


def test_list_models(prism, tmp_path):
    r = msgcli(prism, ["--list-models"])
    assert r.code == 0, r
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines and all(isinstance(m.get("id"), str) for m in lines)


def test_multi_turn_from_file(prism, tmp_path):
    f = tmp_path / "conv.json"
    f.write_text(json.dumps([{"role": "user", "content": "Hello, Claude"},
                             {"role": "assistant", "content": "Hello!"},
                             {"role": "user", "content": "Describe LLMs"}]))
    accepted(msgcli(prism, ["-f", str(f)]))


def test_request_object_with_openai_system(prism, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({"max_tokens": 50, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}))
    accepted(msgcli(prism, ["-f", str(f)]))


def test_conversation_file_two_turns(prism, tmp_path):
    chat = tmp_path / "chat.json"
    accepted(msgcli(prism, ["-c", str(chat), "Hello"]))
    accepted(msgcli(prism, ["-c", str(chat), "Tell me more"]))
    turns = json.loads(chat.read_text())
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]


def test_tool_result_turn(prism, tmp_path):
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01",
                                           "name": "get_weather",
                                           "input": {"city": "Paris"}}]}]))
    accepted(msgcli(prism, ["-c", str(chat), "--tools",
                            str(REPO / "examples" / "weather_tools.json"),
                            "--tool-result", "toolu_01", '{"celsius": 21}']))


def test_count_tokens(prism):
    r = msgcli(prism, ["--count-tokens", "-s", "sys", "-t", "10", "-S", "x", "Hello"])
    assert (r.code, r.stdout, r.stderr) == (0, "2095\n", "")


def test_json_output_is_the_example(prism):
    r = msgcli(prism, ["-j", "Hi"])
    assert r.code == 0
    assert json.loads(r.stdout)["content"][0]["text"] == EXAMPLE_TEXT


@pytest.mark.parametrize("args", [
    ["--extra", '{"max_tokens": "lots"}', "Hi"],
    ["--extra", '{"unknown_parameter": 1}', "Hi"],
    ["--extra", '{"tool_choice": {"type": "sometimes"}}', "Hi"],
])
def test_prism_rejects_what_the_spec_forbids(prism, args):
    """The mock is a real validator: a body the spec forbids is refused (exit 10)."""
    r = msgcli(prism, args)
    assert r.code == 10, r
    assert "invalid_request_error" in r.stderr


BATCH_LINES = "\n".join([
    json.dumps("Hello, Claude"),
    json.dumps([{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"},
                {"role": "user", "content": "More"}]),
    json.dumps({"custom_id": "ticket-7", "system": "Be terse.",
                "messages": [{"role": "user", "content": "Hi"}]}),
    json.dumps({"custom_id": "b_9", "params": {"model": "claude-haiku-4-5", "max_tokens": 9,
                                              "messages": [{"role": "user", "content": "x"}]}}),
]) + "\n"


@pytest.mark.parametrize("flags", [
    [],
    ["-s", "sys", "-t", "4000", "--thinking", "2048", "-S", "END"],
    ["-i", str(DATA / "pixel.png"), "--tools", str(REPO / "examples" / "weather_tools.json"),
     "--tool-choice", "get_weather", "--effort", "high"],
    ["--beta", "context-management-2025-06-27"],
], ids=["plain", "sampling-thinking", "image-tools", "beta"])
def test_batch_create_accepted(prism, flags):
    """Prism validates the create request (POST /v1/messages/batches) against the spec
    and answers with the spec's MessageBatch example."""
    r = msgcli(prism, ["--jsonl", "--batch", *flags], input=BATCH_LINES.encode())
    assert r.code == 0, r
    (batch,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert batch["type"] == "message_batch" and batch["id"].startswith("msgbatch_")
    assert r.stderr == ""


def test_batch_create_refused_when_the_spec_forbids_it(prism):
    r = msgcli(prism, ["--jsonl", "--batch", "--extra", '{"unknown_parameter": 1}'],
               input=BATCH_LINES.encode())
    assert r.code == 10, r
    assert r.stdout == ""


@pytest.mark.parametrize("command", ["--batch-status", "--batch-cancel"])
def test_batch_status_and_cancel_accepted(prism, command):
    r = msgcli(prism, [command, "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"])
    assert r.code == 0, r
    assert json.loads(r.stdout)["type"] == "message_batch"


def test_batch_list_stops_on_a_page_that_would_repeat_forever(prism):
    """Prism's example page always says has_more with last_id "string": msgcli
    follows it once, then stops rather than loop."""
    r = msgcli(prism, ["--batch-list"])
    assert r.code == 13, r
    assert len(r.stdout.splitlines()) == 2
    assert "no new last_id" in r.stderr
