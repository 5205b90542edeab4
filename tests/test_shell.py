"""Day one in a real shell (issue 12): loops, --ok, the key file for cron, values
through environment variables, early input errors, the CI recipe."""

import os
import shutil
import socket
import subprocess
import threading

import pytest

from tests.conftest import FAKE_KEY, FAKE_TOKEN, REPO, clean_env, message, refused


def user_text(body):
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


# -- the while-read loop --------------------------------------------------------

LOOP = ('printf "%s\\n" a.txt b.txt c.txt | while read -r f; do '
        'msgcli {flags} -d "$f" "Summarize" > "out-$f" || exit 1; done')


@pytest.mark.parametrize("flags,files", [("--no-stdin", 3), ("", 1)])
def test_while_read_loop(api, tmp_path, flags, files):
    """With --no-stdin the loop handles every file; without it, the first run
    swallows the remaining names (ssh's old trap) and says so on stderr."""
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"text of {name}\n")
    api.reply(message("summary"))
    proc = subprocess.run(["bash", "-c", LOOP.format(flags=flags)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env=clean_env(api.base))
    assert proc.returncode == 0, proc.stderr
    bodies = api.bodies()
    assert len(bodies) == files
    assert sorted(p.name for p in tmp_path.glob("out-*")) == \
        ["out-a.txt", "out-b.txt", "out-c.txt"][:files]
    if flags:
        assert [user_text(b) for b in bodies] == ["Summarize"] * 3
        assert proc.stderr == ""
    else:
        assert "b.txt\nc.txt" in user_text(bodies[0])
        assert "warning: stdin (2 lines) was read into the prompt as well as -d" \
            in proc.stderr
        assert "--no-stdin" in proc.stderr


def test_no_stdin_from_environment(api, invoke, tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("notes\n")
    api.reply()
    r = invoke(["-d", str(doc), "Summarize"], input=b"other names\n",
               env={"MSGCLI_NO_STDIN": "1"})
    assert r.code == 0 and r.stderr == ""
    assert user_text(api.bodies()[0]) == "Summarize"


def test_stdin_says_you_mean_it(api, invoke, tmp_path):
    doc = tmp_path / "spec.txt"
    doc.write_text("spec\n")
    api.reply()
    r = invoke(["--stdin", "-d", str(doc), "Check the data"], input=b"data\n")
    assert r.code == 0 and r.stderr == ""
    assert user_text(api.bodies()[0]) == "data\n\nCheck the data"


def test_stdin_beside_prompt_alone_is_not_warned(api, invoke):
    api.reply()
    r = invoke(["Review this"], input=b"diff\n")
    assert r.code == 0 and r.stderr == ""


@pytest.mark.parametrize("args,fragment", [
    (["--no-stdin"], "--no-stdin leaves stdin unread"),
    (["--no-stdin", "--stdin", "Hi"], "not both"),
    (["--no-stdin", "-f", "-"], "--no-stdin says not to"),
])
def test_no_stdin_misuse(api, invoke, args, fragment):
    refused(api, invoke(args, input=b"[]"), fragment)


# -- --ok and -o ------------------------------------------------------------------

@pytest.mark.parametrize("ok", ["max_tokens", "3", "MAX_TOKENS"])
def test_ok_accepts_a_truncated_answer(api, invoke, tmp_path, ok):
    out = tmp_path / "report.md"
    out.write_text("yesterday\n")
    api.reply(message("The answer is (C", stop_reason="max_tokens"))
    r = invoke(["-o", str(out), "--ok", ok, "Hi"])
    assert r.code == 0, r
    assert out.read_text() == "The answer is (C\n"
    assert "cut off at max_tokens" in r.stderr  # still said, no longer a failure


def test_ok_for_another_status_does_not_accept(api, invoke, tmp_path):
    out = tmp_path / "report.md"
    out.write_text("yesterday\n")
    api.reply(message("cut", stop_reason="max_tokens"))
    r = invoke(["-o", str(out), "--ok", "refusal", "--ok", "tool_use", "Hi"])
    assert r.code == 3
    assert out.read_text() == "yesterday\n"


def test_ok_from_environment_one_per_line(api, invoke):
    api.reply(message("x", stop_reason="refusal"))
    assert invoke(["Hi"], env={"MSGCLI_OK": "max_tokens\nrefusal\n"}).code == 0


@pytest.mark.parametrize("value", ["12", "end_turn", "rate_limit", "0"])
def test_ok_only_for_statuses_with_an_answer(api, invoke, value):
    refused(api, invoke(["--ok", value, "Hi"]), "--ok", "3-8")


def test_ok_under_set_e(api, tmp_path):
    """A `set -e` script accepts a truncated answer with --ok max_tokens."""
    api.reply(message("partial", stop_reason="max_tokens"))
    script = "set -e\nmsgcli --ok max_tokens -o out.md 'Hi'\necho reached\n"
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=clean_env(api.base))
    assert proc.returncode == 0 and proc.stdout == "reached\n", proc
    assert (tmp_path / "out.md").read_text() == "partial\n"


# -- the key from a file (cron) ----------------------------------------------------

def key_file(tmp_path, mode=0o600, text=FAKE_KEY + "\n"):
    path = tmp_path / "anthropic.key"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_api_key_file(api, invoke, tmp_path):
    api.reply(message(f"echo {FAKE_KEY}"))
    path = key_file(tmp_path)
    r = invoke(["--api-key-file", str(path), "-v", "Hi"], env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0
    assert api.headers()[0]["x-api-key"] == FAKE_KEY
    assert r.stdout == "echo [REDACTED]\n"  # assert_no_secret checked stderr too


def test_api_key_file_wins_over_the_environment(api, invoke, tmp_path):
    api.reply()
    r = invoke(["Hi"], env={"ANTHROPIC_API_KEY": "sk-ant-wrong-key-000000",
                            "MSGCLI_API_KEY_FILE": str(key_file(tmp_path))})
    assert r.code == 0
    assert api.headers()[0]["x-api-key"] == FAKE_KEY


def test_api_key_file_serves_list_models_and_beats_the_token(api, invoke, tmp_path):
    """--list-models read the environment only, not --api-key-file; with a token set
    too, the file's key is the one credential sent (issue 26), and the warning names
    --api-key-file."""
    api.expect_request("/v1/models").respond_with_json(
        {"data": [], "has_more": False, "first_id": None, "last_id": None})
    r = invoke(["--api-key-file", str(key_file(tmp_path)), "--list-models"],
               env={"ANTHROPIC_API_KEY": None, "ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN})
    assert r.code == 0, r
    (headers,) = api.headers()
    assert headers["x-api-key"] == FAKE_KEY and "authorization" not in headers
    assert r.stderr.startswith("msgcli: warning: both --api-key-file and "
                               "ANTHROPIC_AUTH_TOKEN are set")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_api_key_file_readable_by_others_is_refused(api, invoke, tmp_path, mode):
    path = key_file(tmp_path, mode)
    r = invoke(["--api-key-file", str(path), "Hi"])
    refused(api, r, f"chmod 600 {path}", f"{mode:04o}")


@pytest.mark.parametrize("text,fragment", [("", "the key alone"),
                                           ("a b\n", "the key alone"),
                                           (None, "does not exist")])
def test_api_key_file_bad(api, invoke, tmp_path, text, fragment):
    path = tmp_path / "none.key" if text is None else key_file(tmp_path, text=text)
    refused(api, invoke(["--api-key-file", str(path), "Hi"]), fragment)


def test_api_key_file_in_dry_run_is_redacted(api, invoke, tmp_path):
    r = invoke(["--dry-run", "--api-key-file", str(key_file(tmp_path)), "Hi"],
               env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0 and "x-api-key: [REDACTED]" in r.stdout


# -- repeatable options through environment variables ------------------------------

def test_stop_with_spaces_from_environment(api, invoke):
    api.reply()
    assert invoke(["Hi"], env={"MSGCLI_STOP": "END OF ANSWER"}).code == 0
    assert api.bodies()[0]["stop_sequences"] == ["END OF ANSWER"]


def test_stop_sequences_one_per_line(api, invoke):
    api.reply()
    assert invoke(["Hi"], env={"MSGCLI_STOP": "END OF ANSWER\r\n###\n"}).code == 0
    assert api.bodies()[0]["stop_sequences"] == ["END OF ANSWER", "###"]


def test_header_from_environment(api, invoke):
    api.reply()
    assert invoke(["Hi"], env={"MSGCLI_HEADER": "X-Team: infra\nX-Run: nightly 7"}).code == 0
    headers = api.headers()[0]
    assert headers["X-Team"] == "infra" and headers["X-Run"] == "nightly 7"


def test_beta_and_documents_from_environment(api, invoke, tmp_path):
    docs = [tmp_path / "my notes.txt", tmp_path / "other notes.txt"]
    for doc in docs:
        doc.write_text("notes\n")
    api.reply()
    r = invoke(["Hi"], env={"MSGCLI_BETA": "a-2025\nb-2026",
                            "MSGCLI_DOCUMENT": "\n".join(map(str, docs))})
    assert r.code == 0, r
    assert api.headers()[0]["anthropic-beta"] == "a-2025,b-2026"
    blocks = api.bodies()[0]["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["document", "document", "text"]


def test_tool_results_from_environment(api, invoke):
    api.reply()
    r = invoke(["--no-stdin"], env={"MSGCLI_TOOL_RESULT": "toolu_1\n18 degrees, sunny"})
    assert r.code == 0, r
    block = api.bodies()[0]["messages"][0]["content"][0]
    assert block == {"type": "tool_result", "tool_use_id": "toolu_1",
                     "content": "18 degrees, sunny"}


@pytest.mark.parametrize("name,value,expected", [
    ("MSGCLI_RETRIES", "abc", "MSGCLI_RETRIES: 'abc' is not a whole number"),
    ("MSGCLI_OK", "banana", "MSGCLI_OK: 'banana'"),
    ("MSGCLI_BASE_URL", "localhost:8080", "MSGCLI_BASE_URL: 'localhost:8080' is not"),
])
def test_usage_error_from_environment_names_the_variable(api, invoke, name, value,
                                                          expected):
    refused(api, invoke(["Hi"], env={name: value}), expected)


# -- early, clear input errors -----------------------------------------------------

@pytest.mark.parametrize("url", ["localhost:8080", "127.0.0.1:8080", "ftp://x",
                                 "http://"])
def test_base_url_without_scheme(api, invoke, url):
    r = invoke(["--base-url", url, "Hi"])
    refused(api, r, "--base-url", "is not an http:// or https:// URL")
    if "://" not in url:
        assert f"did you mean http://{url} ?" in r.stderr


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/"])
def test_base_url_ending_in_v1(api, invoke, suffix):
    api.reply()
    assert invoke(["--base-url", api.base + suffix, "Hi"]).code == 0
    assert api.log[0][0].path == "/v1/messages"


def test_conversation_directory_missing(api, invoke, tmp_path):
    refused(api, invoke(["-c", str(tmp_path / "no" / "such" / "chat.json"), "Hi"]),
            "does not exist")


def test_output_directory_missing(api, invoke, tmp_path):
    refused(api, invoke(["-o", str(tmp_path / "nope" / "out.md"), "Hi"]),
            "output file", "does not exist")


def test_conversation_directory_not_writable(api, invoke, tmp_path, monkeypatch):
    """(os.access says no, as it would for a user; root may write anywhere.)"""
    import msgcli.inputs.conversation

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(msgcli.inputs.conversation.os, "access",
                        lambda path, mode: False if str(path) == str(locked)
                        else real_access(path, mode))
    refused(api, invoke(["-c", str(locked / "chat.json"), "Hi"]), "permission denied")


def test_schema_that_is_a_json_string(api, invoke):
    refused(api, invoke(["--schema", '"a string"', "Hi"]),
            "must be a JSON object, not a string")


def test_tool_choice_name_without_tools(api, invoke):
    refused(api, invoke(["--tool-choice", "get_weather", "Hi"]), "no tools are defined")


@pytest.fixture
def plain_http_server():
    """Answers anything with a plain HTTP 400, as a plain server meets a TLS hello."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"
                                 b"connection: close\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    sock.close()


def test_tls_to_a_plain_http_server(api, invoke, plain_http_server):
    r = invoke(["--retries", "0", "Hi"], base_url=plain_http_server)
    assert r.code == 14, r
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and len(line) < 160, line
    assert "is the server plain HTTP?" in line
    assert "SSL" not in line and "Max retries" not in line


# -- the README's CI recipe under GitHub Actions' shell ----------------------------

def ci_recipe():
    text = (REPO / "README.md").read_text()
    start = text.index("# CI: stream a long answer")
    block = text[start:text.index("\n\n", start)]
    return "\n".join(line for line in block.splitlines() if not line.startswith("#"))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("stop_reason,code,notes,annotation", [
    ("end_turn", 0, "Notes\n", ""),
    ("max_tokens", 0, "Notes\n", "::warning::answer truncated\n"),
    ("refusal", 1, "Notes\n", ""),
])
def test_ci_recipe_under_bash_eo_pipefail(api, tmp_path, stop_reason, code, notes,
                                          annotation):
    (tmp_path / "CHANGES.txt").write_text("- fixed things\n")
    api.reply(message("Notes", stop_reason=stop_reason))
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", ci_recipe()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env=clean_env(api.base))
    assert proc.returncode == code, proc
    assert (tmp_path / "notes.md").read_text() == notes
    assert proc.stdout == notes + annotation


def test_ci_recipe_network_failure(api, tmp_path):
    (tmp_path / "CHANGES.txt").write_text("- fixed things\n")
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", ci_recipe()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env=clean_env("http://127.0.0.1:9", MSGCLI_RETRIES="0"))
    assert proc.returncode == 1, proc
    assert "connection refused" in proc.stderr


def test_stdin_warning_never_echoes_what_was_read(api, invoke, tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x\n")
    api.reply()
    r = invoke(["-d", str(doc), "Hi"], input=b"secret-ish line\n")
    assert r.code == 0
    assert "secret-ish" not in r.stderr and len(r.stderr.splitlines()) == 1


def test_usage_error_names_the_flag_when_both_are_given(api, invoke):
    """The flag on the command line is what failed, not the variable beside it."""
    refused(api, invoke(["--retries", "x", "Hi"], env={"MSGCLI_RETRIES": "3"}),
            "--retries: 'x' is not a whole number")


@pytest.mark.parametrize("value", ["toolu_1", "toolu_1\nok\ntoolu_2"])
def test_tool_result_from_environment_needs_pairs(api, invoke, value):
    """click pairs the lines and would drop an unpaired last one without a word."""
    refused(api, invoke(["Hi"], env={"MSGCLI_TOOL_RESULT": value}),
            "MSGCLI_TOOL_RESULT: takes an ID and a TEXT on alternate lines")


def test_help_defaults_as_typed_and_effort_in_words():
    from click.testing import CliRunner

    from msgcli.cli.command import cli

    out = " ".join(CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "80"}).output.split())
    assert "[default: 600]" in out and "600.0" not in out
    assert "--effort [low|medium|high|xhigh|max] How much effort the model spends" in out
    for section in ("Input:", "Model features:", "Output:", "Connection:"):
        assert section in out
