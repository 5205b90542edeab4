"""Memory and time bounds, shown rather than guessed: msgcli runs in a child process
whose address space is capped (RLIMIT_AS) against an endless or oversized reply and
endless input, and must end with its documented status (13 for the server, 2 for
input), one line on stderr, never MemoryError or exit 1. The subprocess timeout is a
generous guard against a hang, not a timing assertion."""

import resource
import subprocess
import sys

import pytest

from msgcli.api.limits import MAX_REPLY_BYTES, MAX_REQUEST_BYTES
from msgcli.status import ExitStatus
from tests.conftest import REPO, Result, assert_no_secret, check_not_internal_error, clean_env
from tests.support.hostile_server import (
    block_start,
    endless,
    head,
    message_start,
    reply,
)
from tests.support.scripted_server import chunked
from tests.support.sse import sse_event

# Room for the interpreter, requests and one reply at its limit, with a margin; far
# below what an unbounded read of any of these would take.
MEMORY_LIMIT = 640 * 2**20
GUARD_SECONDS = 300
# as many "[]," as fit under the input limit: about 11 million lists, some 800 MB
TINY_INPUT_VALUES = (MAX_REQUEST_BYTES - 100) // 3


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(args, base_url="http://127.0.0.1:9", stdin=subprocess.DEVNULL):
    proc = subprocess.run([sys.executable, "-m", "msgcli", "--retries", "0", *args],
                          stdin=stdin, capture_output=True, timeout=GUARD_SECONDS,
                          cwd=REPO, env=clean_env(base_url), preexec_fn=limited)
    out = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_no_secret(out.stdout, out.stderr)
    check_not_internal_error(out, False)
    assert "MemoryError" not in out.stderr
    assert out.stderr.count("\n") == 1, out
    return out


JSON_HEAD = head()  # no length: the body runs until the server closes
SSE_HEAD = head(content_type="text/event-stream")
PING = sse_event({"type": "ping"})
# text deltas exactly as the API sends them, an event per chunk: the fast path takes
# them from the chunked body itself (msgcli.wire.chunked.Framed), and must count them too
API_DELTAS = b"".join(chunked([sse_event(
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "text_delta", "text": "x" * 4000}}, compact=True)] * 16)[:-1])


@pytest.mark.parametrize("name,first,piece,words", [
    ("endless body", [JSON_HEAD, b'{"content": "'], b"x" * 65536, "reply is over"),
    ("endless event-stream line", [SSE_HEAD, b"data: "], b"x" * 65536, "line is over"),
    ("endless data lines, no blank line", [SSE_HEAD], b"data: " + b"x" * 4090 + b"\n",
     "event is over"),
    ("endless comment line", [SSE_HEAD, b":"], b"y" * 65536, "line is over"),
    ("endless events", [SSE_HEAD, message_start()], PING * 1000, "stream is over"),
    ("endless text deltas, chunked as the API sends them",
     [head(content_type="text/event-stream", is_chunked=True),
      *chunked([message_start(), block_start(0, {"type": "text", "text": ""})])[:-1]],
     API_DELTAS, "stream is over"),
])
def test_endless_reply_ends_13(hostile, name, first, piece, words):
    server = hostile(endless(first, piece))
    r = run_limited(["--stream" if b"event-stream" in first[0] else "--no-stream", "Hi"],
                    server.url)
    assert r.code == ExitStatus.SERVER_ERROR, r
    assert words in r.stderr


def test_reply_at_its_limit_of_tiny_json_values_ends_13(hostile):
    """Within the byte limit, yet millions of values: more than the memory limit
    holds once parsed."""
    body = b'{"content": [' + b"[]," * ((MAX_REPLY_BYTES - 100) // 3) + b"[]]}"
    server = hostile(reply(body))
    r = run_limited(["Hi"], server.url)
    assert r.code == ExitStatus.SERVER_ERROR, r
    assert "too large to hold in memory" in r.stderr


def test_gzip_bomb_is_refused_13(hostile):
    import gzip

    bomb = gzip.compress(b"{" + b" " * (64 * 2**20) + b"}", compresslevel=9)
    server = hostile(reply(bomb, headers={"content-encoding": "gzip"}))
    r = run_limited(["Hi"], server.url)
    assert r.code == ExitStatus.SERVER_ERROR and "compressed" in r.stderr, r
    assert server.requests[0]["headers"]["accept-encoding"] == "identity"


def test_gzip_event_stream_is_refused_13(hostile):
    import gzip

    body = gzip.compress(message_start() + sse_event({"type": "message_stop"}))
    server = hostile(reply(body, content_type="text/event-stream",
                           headers={"content-encoding": "gzip"}))
    r = run_limited(["--stream", "Hi"], server.url)
    assert r.code == ExitStatus.SERVER_ERROR and "compressed" in r.stderr, r


@pytest.mark.parametrize("args", [
    ["-f", "/dev/zero"], ["-c", "/dev/zero"], ["-i", "/dev/zero", "Hi"],
    ["-d", "/dev/zero", "Hi"], ["--tools", "/dev/zero", "Hi"],
    ["--schema", "/dev/zero", "Hi"], ["--extra", "@/dev/zero", "Hi"],
    ["--tools", "@/dev/zero", "Hi"], ["-f", "-"], ["-i", "-", "Hi"], ["Hi"], [],
])
def test_endless_input_ends_2(args):
    with open("/dev/zero", "rb") as zero:
        r = run_limited(args, stdin=zero)
    assert r.code == ExitStatus.USAGE, r


@pytest.mark.parametrize("what", ["-f", "--extra"])
def test_input_json_of_tiny_values_ends_2(tmp_path, what):
    path = tmp_path / "big.json"
    if what == "-f":
        path.write_bytes(b'[{"role": "user", "content": [' + b"[]," * TINY_INPUT_VALUES
                         + b"[]]}]")
        args = ["-f", str(path)]
    else:
        path.write_bytes(b'{"metadata": [' + b"[]," * TINY_INPUT_VALUES + b"[]]}")
        args = ["--extra", f"@{path}", "Hi"]
    r = run_limited(args)
    assert r.code == ExitStatus.USAGE, r
    assert "too large to hold in memory" in r.stderr


def test_json_nested_too_deep_in_reply_and_input(hostile, tmp_path):
    deep = b"[" * 200_000 + b"]" * 200_000
    server = hostile(reply(b'{"content": ' + deep + b"}"))
    assert run_limited(["Hi"], server.url).code == ExitStatus.SERVER_ERROR
    path = tmp_path / "deep.json"
    path.write_bytes(deep)
    assert run_limited(["-f", str(path)]).code == ExitStatus.USAGE
    arg = '{"a": ' + "[" * 20_000 + "]" * 20_000 + "}"  # an argument is at most 128 KB
    assert run_limited(["--extra", arg, "Hi"]).code == ExitStatus.USAGE
