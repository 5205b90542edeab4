"""The docs are true: every example in the README and the pages of docs/ (their
```sh blocks, and the README's crontab line), in the man page's EXAMPLES and in
--help runs, in a real shell, against a local server that answers as the API
would, and prints what the docs say it prints (a `# prints: TEXT` line after a
command).

Lines that install the package or set the real key are not run: the suite runs
inside an installed checkout with a fake key. Files the examples name (a diff in
a git repository, ant.jpg, CHANGES.txt, ...) are made in a temporary directory.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from msgcli.cli.command import cli
from tests.conftest import FAKE_KEY, REPO, assert_no_secret, clean_env, message
from tests.support.programs import need
from tests.support.sse import sse_body, text_stream

README = (REPO / "README.md").read_text()
# the README first, then docs/ by name: each a (name, text)
DOCS = [("README.md", README)] + [(f"docs/{p.name}", p.read_text())
                                  for p in sorted((REPO / "docs").glob("*.md"))]
MAN = (REPO / "man" / "msgcli.1").read_text()
MSGCLI = os.path.join(os.path.dirname(sys.executable), "msgcli")
NOT_RUN = re.compile(r"^(python3? -m venv|pip install|pipx install|export ANTHROPIC_API_KEY=)")


# -- a local server with the answers the examples expect ----------------------------

def last_user_text(body):
    for turn in reversed(body.get("messages", [])):
        if turn.get("role") != "user":
            continue
        content = turn["content"]
        if isinstance(content, str):
            return content
        return " ".join(b.get("text", "") for b in content if b.get("type") == "text")
    return ""


def has_tool_result(body):
    last = body["messages"][-1]
    return isinstance(last["content"], list) and \
        any(b.get("type") == "tool_result" for b in last["content"])


def answer(body):
    """(content blocks, stop_reason) as the real API would answer the example."""
    text = last_user_text(body)
    if body.get("tools"):
        if not has_tool_result(body):
            return [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                     "input": {"city": "Paris"}}], "tool_use"
        return [{"type": "text", "text": "It is sunny and 21 °C in Paris."}], "end_turn"
    if "latin for ant" in text.lower():
        # one token left after the prefill: the letter, then max_tokens
        return [{"type": "text", "text": "C"}], "max_tokens"
    schema = (body.get("output_config") or {}).get("format")
    if schema and "Sentiment" in text:
        return [{"type": "text", "text": '{"sentiment": "positive"}'}], "end_turn"
    if schema or "JSON object" in text:
        rest = '"name": "Paris", "country": "France"}'
        prefilled = body["messages"][-1]["role"] == "assistant"
        return [{"type": "text", "text": rest if prefilled else "{" + rest}], "end_turn"
    return [{"type": "text", "text": "An answer from the model."}], "end_turn"


BATCHES = "/v1/messages/batches"


def batch_object(server, batch_id):
    """A batch as the API shows it; the examples' batches end at once."""
    requests = server.batches[batch_id]
    return {"id": batch_id, "type": "message_batch", "processing_status": "ended",
            "request_counts": {"processing": 0, "succeeded": len(requests), "errored": 0,
                               "canceled": 0, "expired": 0},
            "created_at": "2026-11-29T20:00:00Z", "ended_at": "2026-11-29T20:05:00Z",
            "expires_at": "2026-11-30T20:00:00Z", "cancel_initiated_at": None,
            "archived_at": None, "results_url": f"{server.url}{BATCHES}/{batch_id}/results"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        """The Message Batches API: retrieve, list and results."""
        self.server.requests.append((self.path, None, dict(self.headers)))
        path = self.path.split("?")[0]
        batch_id = path[len(BATCHES) + 1:].split("/")[0]
        if path == BATCHES:
            page = [batch_object(self.server, i) for i in self.server.batches]
            self.send(json.dumps({"data": page, "has_more": False, "first_id": None,
                                  "last_id": None}).encode(), "application/json")
        elif path.endswith("/results"):
            lines = [{"custom_id": r["custom_id"], "result": {
                "type": "succeeded", "message": message(
                    content=answer(r["params"])[0], stop_reason=answer(r["params"])[1])}}
                for r in self.server.batches[batch_id]]
            self.send("".join(json.dumps(line) + "\n" for line in lines).encode(),
                      "application/x-jsonl")
        else:
            self.send(json.dumps(batch_object(self.server, batch_id)).encode(),
                      "application/json")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self.server.requests.append((self.path, body, dict(self.headers)))
        if self.path == BATCHES:
            batch_id = f"msgbatch_{len(self.server.batches) + 1:02d}"
            self.server.batches[batch_id] = body["requests"]
        if self.path.startswith(BATCHES):  # a create or a cancel
            batch_id = batch_id if self.path == BATCHES else self.path.split("/")[4]
            self.send(json.dumps(batch_object(self.server, batch_id)).encode(),
                      "application/json")
            return
        if self.path.startswith("/v1/messages/count_tokens"):
            self.send(json.dumps({"input_tokens": 42}).encode(), "application/json")
            return
        content, stop_reason = answer(body)
        if body.get("stream") and content[0]["type"] == "text" and len(content) == 1:
            words = re.findall(r"\S+\s*", content[0]["text"])
            self.send(sse_body(text_stream(words, stop_reason)), "text/event-stream")
        else:
            reply = message(content=content, stop_reason=stop_reason)
            self.send(json.dumps(reply).encode(), "application/json")

    def send(self, data, content_type):
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_examples")
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # an example that closes its pipe early (| head) leaves the handler writing
        # to nobody; that is not an error to print into another test's stderr
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server():
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.requests = []
    httpd.batches = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def workdir(tmp_path):
    """What the examples expect to find in the current directory."""
    work = tmp_path / "work"
    work.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    if shutil.which("git"):
        (work / "app.py").write_text("print('hi')\n")
        for args in (["init", "-q"], ["add", "app.py"], ["commit", "-qm", "first"]):
            subprocess.run(git + args, cwd=work, check=True, capture_output=True)
        (work / "app.py").write_text("print('hello')\n")
    (work / "prompt.txt").write_text("Say hello.\n")
    (work / "CHANGES.txt").write_text("- faster start-up\n- --no-stdin\n")
    (work / "tickets.txt").write_text("I was charged twice\nThe app crashes on start\n")
    (work / "tickets.jsonl").write_text('"I was charged twice"\n"The app crashes"\n')
    shutil.copy(REPO / "tests" / "data" / "pixel.jpg", work / "ant.jpg")
    shutil.copy(REPO / "tests" / "data" / "pixel.jpg", work / "photo.jpg")
    (work / "conversation.json").write_text('[{"role": "user", "content": "Hello"}]')
    (work / "schema.json").write_text(json.dumps({
        "type": "object", "properties": {"name": {"type": "string"}},
        "required": ["name"], "additionalProperties": False}))
    (work / "notes.md").write_text("# Notes\n")
    (work / "docs").mkdir()
    for name in ("intro.md", "usage.md"):
        (work / "docs" / name).write_text(f"# {name}\n")
    (work / "examples").symlink_to(REPO / "examples")
    return work


def run_shell(shell, script, cwd, base_url, home):
    env = clean_env(base_url, HOME=str(home))
    argv = {"bash": ["bash", "-eo", "pipefail", "-c"], "zsh": ["zsh", "-c"],
            "fish": ["fish", "--no-config", "-c"]}[shell]
    proc = subprocess.run(argv + [script], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)
    assert_no_secret(proc.stdout, proc.stderr)
    return proc


# -- the README and docs/ -------------------------------------------------------------

def blocks(text, language):
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def readme_blocks(language):
    return blocks(README, language)


def units(block):
    """A block's examples: runs of command lines (a heredoc or a continued line
    included), each with the comment before it and any `# prints:` lines after."""
    found = []
    comment, lines, heredoc = [], [], None
    for line in block.splitlines():
        if heredoc is not None:
            lines.append(line)
            heredoc = None if line == heredoc else heredoc
            continue
        if line.startswith("# prints: ") and (lines or found):
            if lines:
                found.append({"comment": comment, "lines": lines, "prints": []})
                comment, lines = [], []
            found[-1]["prints"].append(line[len("# prints: "):])
            continue
        if not line.strip() or line.startswith("#"):
            if lines:
                found.append({"comment": comment, "lines": lines, "prints": []})
                comment, lines = [], []
            if line.startswith("#"):
                comment.append(line)
            continue
        if NOT_RUN.match(line):
            continue
        lines.append(line)
        match = re.search(r"<<'?(\w+)'?", line)
        if match:
            heredoc = match.group(1)
    if lines:
        found.append({"comment": comment, "lines": lines, "prints": []})
    return found


# pages whose examples need a server of their own run in a file of their own
OWN_RUNNER = {"docs/files.md": "tests/test_files_docs.py"}
DOC_UNITS = [dict(unit, page=name) for name, text in DOCS if name not in OWN_RUNNER
             for block in blocks(text, "sh") for unit in units(block)]


def test_pages_with_a_runner_of_their_own_are_run_there():
    for page, runner in OWN_RUNNER.items():
        assert (REPO / page).exists() and page in (REPO / runner).read_text(), (page, runner)


def test_doc_examples_were_found():
    readme = [u for u in DOC_UNITS if u["page"] == "README.md"]
    assert len(readme_blocks("sh")) >= 4 and len(readme) >= 8
    assert len(DOC_UNITS) >= 23 and sum(bool(u["prints"]) for u in DOC_UNITS) >= 5
    for page in ("docs/messages-api.md", "docs/many-prompts.md", "docs/batches.md",
                 "docs/conversations.md", "docs/completion.md"):
        assert any(u["page"] == page for u in DOC_UNITS), f"no example found in {page}"


def test_doc_examples_are_all_in_blocks_that_run():
    """A command in a ```bash or ```console block would never be run: every
    fenced block is sh (run), crontab (run: the README's) or plain text."""
    for name, text in DOCS:
        fences = re.findall(r"^```(\S*)$", text, re.M)
        assert len(fences) % 2 == 0, f"{name}: a fenced block is not closed"
        openings = fences[::2]
        # yaml: GitHub Actions recipes, which need GitHub to run
        assert set(openings) <= {"sh", "crontab", "yaml", ""}, (name, openings)
        plain = re.split(r"^```\S*$", text, flags=re.M)[1::2]
        for opening, block in zip(openings, plain, strict=True):
            if opening == "":
                assert not re.search(r"^\$? ?msgcli ", block, re.M), (name, block)


def unit_id(unit):
    return f"{unit['page']}: {unit['lines'][0][:60]}"


@pytest.mark.parametrize("unit", DOC_UNITS, ids=unit_id)
def test_doc_example(unit, server, workdir):
    shell = "bash"
    if unit["comment"] and unit["comment"][0].startswith(("# zsh", "# fish")):
        shell = unit["comment"][0].split()[1].rstrip(",")
        need(shell)
    script = "\n".join(unit["lines"])
    if shell == "zsh":  # its comment says: after compinit
        script = "autoload -Uz compinit && compinit -u\n" + script
    proc = run_shell(shell, script, workdir, server.url, workdir)
    assert proc.returncode == 0, proc
    if unit["prints"]:
        assert proc.stdout == "".join(p + "\n" for p in unit["prints"]), proc
    if "msgcli" in script and "_MSGCLI_COMPLETE" not in script \
            and "--dry-run" not in script:
        assert server.requests, "the example sent nothing"


def test_readme_loop_recipe_handles_every_file(server, workdir):
    recipe = next(u for u in DOC_UNITS if "while read -r f" in "\n".join(u["lines"]))
    proc = run_shell("bash", "\n".join(recipe["lines"]), workdir, server.url, workdir)
    assert proc.returncode == 0 and proc.stderr == "", proc
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["intro.md", "usage.md"]
    assert len(server.requests) == 2


def test_prefill_example_is_honest_about_max_tokens(server, workdir):
    unit = next(u for u in DOC_UNITS if "The answer is (" in "\n".join(u["lines"]))
    script = "\n".join(unit["lines"]).replace("--ok max_tokens ", "")
    proc = run_shell("bash", script, workdir, server.url, workdir)
    assert (proc.returncode, proc.stdout) == (3, "The answer is (C\n")


# -- the crontab line, run as cron runs it ------------------------------------------

def cron_command(tmp_path, base_url):
    (line,) = [b.strip() for b in readme_blocks("crontab")]
    command = line.split(None, 5)[5].replace("\\%", "%")  # cron unescapes \%
    home = tmp_path / "me"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "msgcli").symlink_to(MSGCLI)
    (home / ".config" / "msgcli").mkdir(parents=True)
    key = home / ".config" / "msgcli" / "key"
    key.write_text(FAKE_KEY + "\n")
    key.chmod(0o600)
    (home / "reports").mkdir()
    (home / "reports" / "daily.json").write_text(
        '[{"role": "user", "content": "Summarize yesterday."}]')
    # cron's environment: nearly nothing; MSGCLI_BASE_URL points at the local server
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh",
           "LOGNAME": "me", "MSGCLI_BASE_URL": base_url,
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return command.replace("/home/me", str(home)), env, home


def test_readme_cron_line(server, tmp_path):
    command, env, home = cron_command(tmp_path, server.url)
    assert "ANTHROPIC_API_KEY" not in command
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=home, env=env,
                          capture_output=True, text=True, timeout=60)
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 0 and proc.stderr == "", proc
    (report,) = (home / "reports").glob("daily-*.md")
    assert re.fullmatch(r"daily-\d{4}-\d\d-\d\d\.md", report.name)
    assert report.read_text() == "An answer from the model.\n"
    assert server.requests[0][2]["x-api-key"] == FAKE_KEY


def test_readme_cron_line_refuses_a_loose_key(server, tmp_path):
    command, env, home = cron_command(tmp_path, server.url)
    (home / ".config" / "msgcli" / "key").chmod(0o644)
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=home, env=env,
                          capture_output=True, text=True, timeout=60)
    assert_no_secret(proc.stdout, proc.stderr)
    assert "chmod 600" in proc.stderr
    assert list((home / "reports").glob("daily-*.md")) == []
    assert server.requests == []


# -- the man page's EXAMPLES ----------------------------------------------------------

def man_examples():
    section = MAN[MAN.index(".SH EXAMPLES\n"):]
    section = section[:section.index("\n.SH ")]
    blocks = re.findall(r"^\.nf\n(.*?)^\.fi$", section, re.S | re.M)
    return [re.sub(r"\\\((aq|dq|rs)", lambda m: {"aq": "'", "dq": '"', "rs": "\\"}
                   [m.group(1)], b.replace("\\-", "-")) for b in blocks]


def test_man_examples_each_have_a_sentence():
    section = MAN[MAN.index(".SH EXAMPLES\n"):]
    section = section[:section.index("\n.SH ")]
    assert len(man_examples()) >= 10
    assert section.count(".nf\n") == section.count(":\n.PP\n.RS\n.nf\n")


@pytest.mark.parametrize("example", man_examples(), ids=lambda e: e.splitlines()[0][:60])
def test_man_example(example, server, workdir):
    proc = run_shell("bash", example, workdir, server.url, workdir)
    assert proc.returncode == 0, proc
    assert server.requests
    if "The answer is (" in example:
        assert proc.stdout == "The answer is (C\n"
        assert "prints\n.B The answer is (C\n" in MAN


# -- --help's examples ------------------------------------------------------------

def help_examples():
    doc = cli.help
    return [line.strip() for line in doc[doc.index("Examples:"):].splitlines()[1:]
            if line.strip().startswith(("msgcli", "git"))]


@pytest.mark.parametrize("example", help_examples())
def test_help_example(example, server, workdir):
    proc = run_shell("bash", example, workdir, server.url, workdir)
    assert proc.returncode == 0, proc
    if "| jq" in example:
        json.loads(proc.stdout)
