"""The process contract, wherever a run can end: closed and full stdout, bad bytes in
arguments, Ctrl-C while loading, a reply that is not what was asked for, the flags
that override a file, and the one failure gate (MSGCLI_DEBUG included)."""

import json
import os
import subprocess
import sys

import pytest

from msgcli.output import render
from tests.conftest import REPO, assert_no_secret, clean_env, message
from tests.support.scripted_server import plain_response, sse_response
from tests.support.sse import sse_body, text_stream


def run_with_stdout(args, stdout, env):
    proc = subprocess.run([sys.executable, "-m", "msgcli", *args], stdout=stdout,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=REPO,
                          env=env, timeout=60)
    assert_no_secret(proc.stderr)
    return proc


def closed_pipe():
    """A pipe whose reader is gone before msgcli writes: every write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


MODES = [["--help"], ["--version"], ["Hi"], ["--stream", "Hi"], ["-j", "Hi"],
         ["--dry-run", "Hi"], ["--count-tokens", "Hi"]]


def serve_for(mode, api, scripted):
    if "--stream" in mode:
        return scripted(sse_response([sse_body(text_stream(["y" * 1000] * 50))])).url
    if "--count-tokens" in mode:
        api.reply({"input_tokens": 12}, path="/v1/messages/count_tokens")
    else:
        api.reply(message("y" * 50000))
    return api.base


@pytest.mark.parametrize("mode", MODES, ids=" ".join)
def test_closed_pipe_is_141_and_quiet(api, scripted, mode):
    base = serve_for(mode, api, scripted)
    fd = closed_pipe()
    try:
        proc = run_with_stdout(mode, fd, clean_env(base))
    finally:
        os.close(fd)
    assert (proc.returncode, proc.stderr) == (141, b"")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("mode", MODES, ids=" ".join)
def test_full_stdout_is_15_in_one_line(api, scripted, mode):
    base = serve_for(mode, api, scripted)
    with open("/dev/full", "wb") as full:
        proc = run_with_stdout(mode, full, clean_env(base))
    assert proc.returncode == 15
    lines = proc.stderr.decode().splitlines()
    assert lines == ["msgcli: cannot write to stdout: No space left on device"]


def test_closed_stdout_is_15_in_one_line(api):
    api.reply()
    proc = subprocess.run(f"{sys.executable} -m msgcli Hi >&-", shell=True,
                          capture_output=True, cwd=REPO, env=clean_env(api.base),
                          timeout=60)
    assert proc.returncode == 15
    assert proc.stderr.decode().splitlines() == ["msgcli: cannot write to stdout: stdout "
                                                 "is closed"]


@pytest.mark.parametrize("args, where", [
    ([b"caf\xe9"], "PROMPT"),
    ([b"-s", b"caf\xe9", b"Hi"], "-s/--system"),
    ([b"-S", b"caf\xe9", b"Hi"], "-S/--stop"),
])
def test_argument_that_is_not_utf8_is_a_usage_error(api, args, where):
    proc = subprocess.run([sys.executable.encode(), b"-m", b"msgcli", *args],
                          capture_output=True, cwd=REPO, env=clean_env(api.base),
                          stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode() == f"msgcli: {where}: is not valid UTF-8 (check the locale " \
                                   "and the bytes given); see msgcli --help\n"
    assert not api.log


def test_environment_value_that_is_not_utf8_names_its_variable(api):
    env = {k.encode(): v.encode() for k, v in clean_env(api.base).items()}
    env[b"MSGCLI_SYSTEM"] = b"caf\xe9"
    proc = subprocess.run([sys.executable, "-m", "msgcli", "Hi"], capture_output=True,
                          cwd=REPO, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith(b"msgcli: MSGCLI_SYSTEM: is not valid UTF-8")


def test_ctrl_c_while_modules_load_is_130_and_quiet():
    """Deterministic stand-in for Ctrl-C in the first milliseconds: the interrupt
    arrives while msgcli.cli.command (and click with it) is being imported."""
    code = ("import sys\n"
            "class Interrupt:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'msgcli.cli.command':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupt())\n"
            "import msgcli\n"
            "msgcli.main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO,
                          timeout=60)
    assert (proc.returncode, proc.stderr) == (130, b"msgcli: interrupted\n")


# -- replies that are not what was asked for ---------------------------------------

@pytest.mark.parametrize("flags", [[], ["--stream"]])
def test_html_page_with_200_is_a_bad_reply_not_a_stream(invoke, scripted, flags):
    page = b"<html><body>Please log in to the hotel wifi</body></html>"
    server = scripted(plain_response("200 OK", page, content_type="text/html"))
    r = invoke([*flags, "Hi"], base_url=server.url)
    assert r.code == 13
    assert r.stderr == "msgcli: the server answered HTTP 200 with text/html, not an API " \
                       "reply; check --base-url and any proxy\n"
    assert r.stdout == ""


def test_event_stream_reply_is_read_as_a_stream_even_unasked(invoke, scripted):
    server = scripted(sse_response([sse_body(text_stream(["Hel", "lo"]))]))
    r = invoke(["Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "Hello\n")


# -- flags override the file, booleans included -----------------------------------

def test_no_stream_overrides_stream_true_in_a_messages_file(api, invoke, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({"stream": True, "messages": [
        {"role": "user", "content": "Hi"}]}))
    api.reply()
    r = invoke(["--no-stream", "-f", str(f)])
    assert (r.code, r.stdout) == (0, "Hello!\n")
    assert api.bodies()[0]["stream"] is False


def test_no_stream_overrides_stream_true_in_extra(api, invoke):
    api.reply()
    r = invoke(["--no-stream", "--extra", '{"stream": true}', "Hi"])
    assert r.code == 0
    assert api.bodies()[0]["stream"] is False


def test_stream_not_given_leaves_the_file_alone(api, invoke, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "Hi"}]}))
    api.reply()
    assert invoke(["-f", str(f)]).code == 0
    assert "stream" not in api.bodies()[0]


# -- the failure gate -------------------------------------------------------------

def broken_finish(self, message):
    raise RuntimeError("renderer exploded")


def test_a_bug_is_one_line_and_exit_1(api, invoke, monkeypatch):
    monkeypatch.setattr(render.TextRenderer, "finish", broken_finish)
    api.reply()
    r = invoke(["Hi"], allow_internal_error=True)
    assert r.code == 1
    assert r.stderr == ("msgcli: internal error: RuntimeError: renderer exploded; please "
                        "report this bug at https://github.com/msgcli/msgcli/issues "
                        "(MSGCLI_DEBUG=1 shows the traceback)\n")


def test_a_bug_fails_the_shared_helper_unless_asked(api, invoke, monkeypatch):
    monkeypatch.setattr(render.TextRenderer, "finish", broken_finish)
    api.reply()
    with pytest.raises(AssertionError, match="internal error"):
        invoke(["Hi"])


def test_msgcli_debug_shows_the_traceback(api, monkeypatch):
    monkeypatch.setattr(render.TextRenderer, "finish", broken_finish)
    api.reply()
    from click.testing import CliRunner

    from msgcli.cli.command import cli

    result = CliRunner().invoke(cli, ["Hi"], env=clean_env(api.base, MSGCLI_DEBUG="1"))
    assert isinstance(result.exception, RuntimeError)


# -- -o: the answer written atomically, or not at all ------------------------------

def test_output_file_gets_the_answer(api, invoke, tmp_path):
    target = tmp_path / "report.md"
    api.reply(message("The report."))
    r = invoke(["-o", str(target), "Hi"])
    assert (r.code, r.stdout) == (0, "")
    assert target.read_text() == "The report.\n"


@pytest.mark.parametrize("reply", [
    {"status": 500, "body": {"type": "error", "error": {"type": "api_error",
                                                         "message": "boom"}}},
    {"status": 200, "body": message("Cut", stop_reason="max_tokens")},
    {"status": 200, "body": b"not json"},
])
def test_output_file_untouched_when_the_run_fails(api, invoke, tmp_path, reply):
    target = tmp_path / "report.md"
    target.write_text("yesterday's report\n")
    api.reply(reply["body"], status=reply["status"])
    r = invoke(["--retries", "0", "-o", str(target), "Hi"])
    assert r.code != 0
    assert target.read_text() == "yesterday's report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_key_is_sent_and_never_shown_even_verbose(api, invoke):
    from tests.conftest import FAKE_KEY

    api.reply()
    r = invoke(["-v", "Hi"])
    assert r.code == 0
    assert api.headers()[0]["x-api-key"] == FAKE_KEY
    assert FAKE_KEY not in r.stderr and "POST " in r.stderr
