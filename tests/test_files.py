"""The Files API (issue 25): managing files, referring to them by id, and
--upload-files, which uploads each local -d/-i once (cached) for any number of
requests, --jsonl lines and batches included. Against tests/support/files_server.py, which
parses every upload strictly and pages its list."""

import json
import os
import stat
import subprocess
import sys
import types

import pytest

from msgcli.api import files as api_files
from msgcli.cli import modes
from msgcli.files import cache
from msgcli.wire.multipart import PIECE, FileBody, FileChangedError, Rate
from tests.conftest import FAKE_KEY, REPO, assert_no_secret, clean_env
from tests.support.batch_server import BatchEngine
from tests.support.files_server import FilesApi

DATA = REPO / "tests" / "data"
BETA = "files-api-2025-04-14"


@pytest.fixture
def server(api):
    return FilesApi(api)


def lines(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def file_calls(server, method=None):
    return [c for c in server.calls if c[1].startswith("/v1/files")
            and (method is None or c[0] == method)]


# -- managing files ----------------------------------------------------------------

def test_upload_prints_one_file_object_per_file(run_cli, server):
    r = run_cli(["--upload", str(DATA / "tiny.pdf"), str(DATA / "pixel.png")])
    assert r.code == 0 and r.stderr == "", r
    shown = lines(r.stdout)
    assert [f["filename"] for f in shown] == ["tiny.pdf", "pixel.png"]
    assert [f["mime_type"] for f in shown] == ["application/pdf", "image/png"]
    for value in shown:
        assert set(value) >= {"id", "filename", "mime_type", "size_bytes", "created_at"}
    # parsed strictly by hand and by werkzeug: the same bytes, nothing else
    assert server.bad == []
    assert [server.files[f["id"]][1] for f in shown] == \
        [(DATA / "tiny.pdf").read_bytes(), (DATA / "pixel.png").read_bytes()]
    for _, _, query, headers in file_calls(server):
        assert headers.get("Anthropic-Beta") == BETA and query == {}  # no ?beta=true


def test_api_version_2026_10_21_needs_no_beta(run_cli, server):
    """SDK 2.x's version has the Files API without the beta header or the beta path."""
    r = run_cli(["--api-version", "2026-10-21", "--upload", str(DATA / "tiny.pdf")])
    assert r.code == 0, r
    ((_, _, query, headers),) = file_calls(server)
    assert "Anthropic-Beta" not in headers and "beta" not in query


@pytest.mark.parametrize("next_page", [False, True], ids=["after_id", "next_page"])
def test_list_files_prints_every_page(run_cli, api, next_page):
    server = FilesApi(api, page_limit=2, next_page=next_page)
    made = [server.add(filename=f"{n}.pdf")["id"] for n in range(5)]
    r = run_cli(["--list-files"])
    assert r.code == 0, r
    assert [f["id"] for f in lines(r.stdout)] == made
    assert len(file_calls(server, "GET")) == 3


def test_file_info_delete_and_a_gone_file(run_cli, server):
    one, two = server.add()["id"], server.add()["id"]
    r = run_cli(["--file-info", one, two])
    assert r.code == 0 and [f["id"] for f in lines(r.stdout)] == [one, two], r
    r = run_cli(["--delete-file"], input=f"{one}\n".encode())  # ids on stdin too
    assert r.code == 0 and lines(r.stdout) == [{"id": one, "type": "file_deleted"}], r
    assert one not in server.files
    r = run_cli(["--file-info", one])
    assert r.code == 10 and r.stdout == "", r
    assert "not_found_error" in r.stderr and "--list-files" in r.stderr


def test_download_file_to_stdout_and_to_o_atomically(run_cli, server, tmp_path):
    content = bytes(range(256)) * 5000
    file_id = server.add(content, "data.bin", "application/octet-stream")["id"]
    r = run_cli(["--download-file", file_id])
    assert r.code == 0 and r.stdout_bytes == content, r.stderr
    out = tmp_path / "out.bin"
    out.write_bytes(b"kept")
    r = run_cli(["--download-file", "file_gone", "-o", str(out)])
    assert r.code == 10 and out.read_bytes() == b"kept", r
    r = run_cli(["--download-file", file_id, "-o", str(out)])
    assert r.code == 0 and r.stdout == "" and out.read_bytes() == content, r
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary left


@pytest.mark.parametrize("args, fragment", [
    (["--file-info", "../v1/messages"], "not a file id"),
    (["--download-file", "file_a", "file_b"], "one file id"),
    (["--list-files", "file_a"], "takes no file ids"),
    (["--upload", "--file-info", "x"], "not several"),
    (["--upload", "-d", "x.pdf", "y"], "does not go with --upload"),
    (["--file-info", "-o", "out", "file_a"], "does not go with --file-info"),
    (["--upload", "no-such-file.pdf"], "does not exist"),
])
def test_file_commands_refuse_before_sending(run_cli, server, args, fragment):
    r = run_cli(args)
    assert r.code == 2 and fragment in r.stderr, r
    assert server.calls == []


# -- size limit, streaming, progress ---------------------------------------------------

@pytest.mark.parametrize("args", [["--upload"], ["--upload-files", "Hi", "-d"]])
def test_a_file_over_the_limit_is_refused_before_sending(run_cli, server, tmp_path,
                                                         args):
    big = tmp_path / "big.pdf"
    with open(big, "wb") as f:  # sparse: costs no disk
        f.truncate(api_files.MAX_FILE_BYTES + 1)
    r = run_cli([*args, str(big)])
    assert r.code == 2 and "at most 500.0 MB" in r.stderr, r
    assert server.calls == []


def test_the_body_streams_the_file_in_pieces(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(3 * PIECE + 5))
    seen = []
    body = FileBody(str(path), path.stat().st_size, 'a "b".bin', "application/pdf",
                    progress=lambda sent, total: seen.append((sent, total)))
    parts = list(body)
    assert len(b"".join(parts)) == len(body)
    assert max(len(p) for p in parts) == PIECE  # never the whole file at once
    assert b'filename="a %22b%22.bin"' in parts[0]
    assert seen[-1] == (3 * PIECE + 5, 3 * PIECE + 5) and len(seen) == 4
    assert b"".join(parts) == b"".join(body)  # a retry sends it again, whole
    path.write_bytes(b"shorter")
    with pytest.raises(FileChangedError):
        list(body)


def test_progress_says_bytes_rate_and_time_left():
    shown, now = [], [0.0]
    rate = Rate(shown.append, "big.pdf", clock=lambda: now[0])
    now[0] = 2.0
    rate(20 * 2**20, 200 * 2**20)
    now[0] = 2.1  # too soon for another line
    rate(21 * 2**20, 200 * 2**20)
    assert shown == ["uploading big.pdf: 20.0 of 200.0 MB, 10.0 MB/s, 18 s left"]


# -- referring to a file ---------------------------------------------------------------

def test_an_id_is_sent_as_a_file_source_with_the_beta(run_cli, server):
    file_id = server.add()["id"]
    image = server.add((DATA / "pixel.png").read_bytes(), "p.png", "image/png")["id"]
    r = run_cli(["-d", file_id, "-i", image, "Summarize"])
    assert r.code == 0 and r.stdout == "Read it.\n", r
    (body,) = server.messages
    assert body["messages"][0]["content"][:2] == [
        {"type": "image", "source": {"type": "file", "file_id": image}},
        {"type": "document", "source": {"type": "file", "file_id": file_id}}]
    (call,) = [c for c in server.calls if c[1] == "/v1/messages"]
    assert call[3]["Anthropic-Beta"] == BETA and call[2] == {}


def test_an_existing_path_that_looks_like_an_id_is_a_path(invoke, server, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file_notes").write_text("my notes\n")
    r = invoke(["-d", "file_notes", "Summarize"])
    assert r.code == 0, r
    (body,) = server.messages
    assert body["messages"][0]["content"][0]["source"] == {
        "type": "text", "media_type": "text/plain", "data": "my notes\n"}


def test_a_gone_file_id_is_exit_10_with_a_hint(run_cli, server):
    r = run_cli(["-d", "file_deletedLongAgo", "Summarize"])
    assert r.code == 10 and r.stdout == "", r
    assert "not_found_error" in r.stderr and "--upload-files" in r.stderr
    assert len(r.stderr.splitlines()) == 1


# -- --upload-files ----------------------------------------------------------------------

def test_upload_files_uploads_once_then_reuses_the_cached_id(run_cli, server,
                                                             private_cache):
    args = ["--upload-files", "-d", str(DATA / "tiny.pdf"), "-i", str(DATA / "pixel.png"),
            "Summarize"]
    assert run_cli(args).code == 0
    assert [u[:2] for u in server.uploads] == [("pixel.png", "image/png"),
                                               ("tiny.pdf", "application/pdf")]
    r = run_cli(args, env={"MSGCLI_UPLOAD_FILES": "1"})  # the variable works too
    assert r.code == 0, r
    assert len(server.uploads) == 2  # not again: one metadata GET each instead
    assert len(file_calls(server, "GET")) == 2
    for body in server.messages:
        sources = [b["source"] for b in body["messages"][0]["content"][:2]]
        assert [s["type"] for s in sources] == ["file", "file"]
        assert body["messages"][0]["content"][1]["title"] == "tiny.pdf"
    # private, atomic, keyed without the credential
    path = private_cache / "msgcli" / "files.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert FAKE_KEY not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["files.json"]


def test_a_cached_id_that_is_gone_is_uploaded_again(run_cli, server):
    args = ["--upload-files", "-d", str(DATA / "tiny.pdf"), "Summarize"]
    assert run_cli(args).code == 0
    server.files.clear()  # deleted meanwhile (or expired)
    r = run_cli(args)
    assert r.code == 0, r
    assert len(server.uploads) == 2
    assert server.messages[-1]["messages"][0]["content"][0]["source"]["file_id"] in \
        server.files


def test_another_key_is_another_upload(run_cli, server):
    args = ["--upload-files", "-d", str(DATA / "tiny.pdf"), "Summarize"]
    assert run_cli(args).code == 0
    assert run_cli(args, env={"ANTHROPIC_API_KEY": "sk-ant-api03-another-key-xyz"}).code == 0
    assert len(server.uploads) == 2


def test_jsonl_uploads_the_shared_document_once(run_cli, server):
    text = b"".join(json.dumps(f"Question {n}").encode() + b"\n" for n in range(20))
    r = run_cli(["--jsonl", "--upload-files", "-d", str(DATA / "tiny.pdf")], input=text)
    assert r.code == 0, r
    assert len(server.uploads) == 1 and len(server.messages) == 20
    ids = {b["messages"][0]["content"][0]["source"]["file_id"] for b in server.messages}
    assert ids == set(server.files)


def test_jsonl_batch_of_1000_lines_sends_the_document_once(run_cli, api, tmp_path):
    files = FilesApi(api)
    engine = BatchEngine(api)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + os.urandom(2 * 2**20) + b"\n%%EOF\n")
    text = b"".join(json.dumps(f"Question {n}").encode() + b"\n" for n in range(1000))
    r = run_cli(["--jsonl", "--batch", "-d", str(big), "--upload-files"], input=text)
    assert r.code == 0, r
    assert [u[2] for u in files.uploads] == [big.stat().st_size]  # once
    (file_id,) = files.files
    (create,) = engine.creates
    assert len(create["requests"]) == 1000
    for item in create["requests"]:
        assert item["params"]["messages"][0]["content"][0]["source"] == \
            {"type": "file", "file_id": file_id}
    creates = [c for c in engine.calls if c[0] == "POST"]
    assert len(creates) == 1
    assert len(creates[0][3]) < 1000 * 1024  # ids, not 2 MB of base64 a line
    assert engine.invalid == []


def test_cache_key_never_holds_the_credential():
    who = cache.account("https://api.anthropic.com", (FAKE_KEY, None))
    assert FAKE_KEY not in who and len(who) == 64
    assert who != cache.account("http://127.0.0.1:1", (FAKE_KEY, None))


# -- platforms ---------------------------------------------------------------------------

def _opts(**given):
    fields = dict(upload=False, list_files=False, file_info=False, delete_file=False,
                  download_file=False, upload_files=False, document=(), image=())
    return types.SimpleNamespace(**{**fields, **given})


PLATFORM_ENV = {"AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": "bedrock-key-for-tests",
                "MSGCLI_VERTEX_ACCESS_TOKEN": "vertex-token-for-tests",
                "CLOUD_ML_REGION": "us-east5", "ANTHROPIC_VERTEX_PROJECT_ID": "p",
                "ANTHROPIC_FOUNDRY_RESOURCE": "r", "ANTHROPIC_FOUNDRY_API_KEY": "foundry-key"}


@pytest.mark.parametrize("given", [["--upload", "contract.pdf"], ["--list-files"],
                                   ["--upload-files", "-d", "contract.pdf", "Hi"],
                                   ["-d", "file_011abc", "Hi"]])
@pytest.mark.parametrize("platform", ["bedrock", "bedrock-mantle", "vertex", "foundry"])
def test_files_are_refused_on_every_other_platform(given, platform, tmp_path, monkeypatch):
    """Bedrock and Vertex have no Files API, and msgcli routes none through Foundry:
    exit 2 naming the platform, before any request (the base URL answers nothing)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contract.pdf").write_bytes((REPO / "tests/data/tiny.pdf").read_bytes())
    env = clean_env("http://127.0.0.1:9", **PLATFORM_ENV)
    proc = subprocess.run([sys.executable, "-m", "msgcli", "--platform", platform, *given],
                          capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc
    assert f"no requests on --platform {platform}" in proc.stderr, proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)


def test_files_are_refused_with_workload_identity_federation():
    opts = types.SimpleNamespace(upload=True, list_files=False, file_info=False,
                                 delete_file=False, download_file=False, upload_files=False,
                                 document=(), image=(), platform="anthropic")
    with pytest.raises(modes.click.UsageError, match="with workload identity federation"):
        modes.refuse_files_on_other_platforms(opts, {"upload": "--upload"})
    modes.refuse_files_on_other_platforms(
        types.SimpleNamespace(**{**vars(opts), "platform": None}), {"upload": "--upload"})


def test_upload_progress_on_a_terminal_only(run_cli, server, tmp_path):
    from tests.test_terminal import Terminal

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * PIECE))
    terminal = Terminal(["--upload", str(big)], server.base)
    code, stdout, screen = terminal.finish()
    assert code == 0 and json.loads(stdout)["size_bytes"] == 3 * PIECE
    assert "uploading big.bin: " in screen and " of 3.0 MB, " in screen
    assert screen.endswith("\r\x1b[K")  # cleared: nothing is left on the line
    r = run_cli(["--upload", str(big)])  # stderr a pipe: not a byte
    assert r.code == 0 and r.stderr == "", r


def test_a_batch_gets_the_beta_when_any_line_refers_to_a_file(run_cli, api):
    """Line 1 refers to no file, line 2 does: the batch create carries the files beta
    (the engine then checks it against the beta schema, which has file sources), not
    line 1's headers."""
    files = FilesApi(api)
    engine = BatchEngine(api)
    file_id = files.add()["id"]
    text = (json.dumps("Plain question") + "\n" + json.dumps({"messages": [
        {"role": "user", "content": [
            {"type": "document", "source": {"type": "file", "file_id": file_id}},
            {"type": "text", "text": "Summarize"}]}]}) + "\n").encode()
    r = run_cli(["--jsonl", "--batch"], input=text)
    assert r.code == 0, r
    assert engine.invalid == [] and len(engine.creates) == 1
    assert len([c for c in engine.calls if c[0] == "POST"]) == 1


def test_deadline_bounds_a_file_command(run_cli, api):
    """A server that never answers: --deadline ends the command, exit 14."""
    import threading

    go = threading.Event()
    api.expect_request("/v1/files").respond_with_handler(lambda r: go.wait(30) and None)
    r = run_cli(["--retries", "0", "--deadline", "1", "--list-files"])
    go.set()
    assert r.code == 14 and "--deadline" in r.stderr, r


def test_an_upload_is_never_held_whole(tmp_path):
    """Hashing a file for the cache and sending it read it a piece at a time: what
    Python allocates stays near one piece, whatever the file's size (bench/upload.py
    measures the RSS of a 200 MB upload)."""
    import tracemalloc

    from msgcli.files import endpoints

    size = 32 * 2**20
    path = tmp_path / "big.pdf"
    with open(path, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))

    class Sent:
        status_code = 200
        headers = {"content-type": "application/json"}

    class Transport:
        def request(self, method, url, headers, data=None):
            self.sent = sum(len(chunk) for chunk in data)  # as requests sends it
            return Sent()

        def read_body(self, response):
            return json.dumps({"id": "file_01", "size_bytes": size}).encode()

    transport = Transport()
    tracemalloc.start()
    try:
        digest = cache.file_digest(str(path))
        endpoints.Api(transport, "http://127.0.0.1:9", {}).upload(
            str(path), "big.pdf", "application/pdf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(digest) == 64 and transport.sent > size
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MB at the peak for a 32 MB file"


def test_a_key_given_with_h_is_another_account(run_cli, server):
    args = ["--upload-files", "-d", str(DATA / "tiny.pdf"), "Summarize"]
    env = {"ANTHROPIC_API_KEY": None}
    assert run_cli([*args, "-H", "x-api-key: sk-ant-api03-first-key-000"], env=env).code == 0
    assert run_cli([*args, "-H", "x-api-key: sk-ant-api03-other-key-111"], env=env).code == 0
    assert len(server.uploads) == 2
    assert len(file_calls(server, "GET")) == 0  # the second key never saw the first's id
