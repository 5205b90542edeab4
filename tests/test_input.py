"""Hostile and broken input: each is exit 2 with one line naming what and where,
and nothing is sent."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_no_secret, clean_env, refused

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("content,fragments", [
    ("[1, 2", ("line 1, column 6",)),
    ('{\n  "messages": [\n    {"role": "user" "content": "x"}\n  ]\n}', ("line 3, column 21",)),
    ('[{"role": "bot", "content": "x"}]', ("[0].role", "'bot'")),
    ('[{"role": "user", "content": 5}]', ("[0].content", "a number")),
    ('[{"role": "user", "content": ""}]', ("[0].content", "empty text")),
    ('[{"role": "user", "content": []}]', ("[0].content", "empty array")),
    ('[{"role": "user", "content": [{"text": "x"}]}]', ("[0].content[0]", "'type'")),
    ('[{"role": "user", "content": [{"type": "text", "text": 3}]}]', ("[0].content[0].text",)),
    ('["hello"]', ("[0]", "a string")),
    ('[{"role": "user"}]', ("missing 'content'",)),
    ('[{"role": "user", "content": "a", "name": "bob"}]', ("unknown field 'name'",)),
    ('[{"role": "user", "content": "a"}, {"role": "system", "content": "late"}]',
     ("[1]", "system message")),
    ('{"model": "x"}', ("'messages' array",)),
    ('{"messages": {"role": "user"}}', ("must be an array",)),
    ('"just a string"', ("not a string",)),
    ('[]', ("nothing to send",)),
])
def test_bad_messages_files(api, invoke, tmp_path, content, fragments):
    f = tmp_path / "m.json"
    f.write_text(content)
    refused(api, invoke(["-f", str(f)]), *fragments)


def test_messages_file_not_utf8(api, invoke, tmp_path):
    f = tmp_path / "m.json"
    data = b'[\n{"role": "user", "content": "caf\xe9"}]'
    f.write_bytes(data)
    offset = data.index(b"\xe9")
    refused(api, invoke(["-f", str(f)]), "not valid UTF-8", "line 2", f"offset {offset}")


def test_messages_file_is_directory(api, invoke, tmp_path):
    refused(api, invoke(["-f", str(tmp_path)]), "is a directory")


def test_messages_file_missing(api, invoke, tmp_path):
    refused(api, invoke(["-f", str(tmp_path / "nope.json")]), "does not exist")


def test_messages_file_unreadable(api, invoke, tmp_path, monkeypatch):
    f = tmp_path / "m.json"
    f.write_text("[]")
    real_open = open

    def deny(path, *a, **k):
        if str(path) == str(f):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", deny)
    refused(api, invoke(["-f", str(f)]), "permission denied")


def test_huge_messages_file(api, invoke, tmp_path):
    f = tmp_path / "m.json"
    with open(f, "wb") as out:
        out.truncate(33 * 1024 * 1024)
    refused(api, invoke(["-f", str(f)]), "32.")


def test_stdin_not_utf8(api, invoke):
    refused(api, invoke(["Summarize"], input=b"\xff\xfe bad"), "stdin", "UTF-8")


def test_messages_stdin_empty(api, invoke):
    refused(api, invoke(["-f", "-"], input=b""), "stdin is empty")


@pytest.mark.parametrize("name,data,fragment", [
    ("empty.png", b"", "it is empty"),
    ("text.png", b"hello world, not an image", "not JPEG, PNG, GIF or WebP"),
    ("doc.jpg", b"%PDF-1.4 ...", "use -d/--document"),
    ("bitmap.png", b"BM" + b"\0" * 60, "BMP"),
])
def test_bad_images(api, invoke, tmp_path, name, data, fragment):
    f = tmp_path / name
    f.write_bytes(data)
    refused(api, invoke(["-i", str(f), "What?"]), fragment, name)


@pytest.mark.parametrize("name", ["pixel.png", "pixel.jpg", "pixel.gif", "pixel.webp"])
def test_truncated_images(api, invoke, tmp_path, name):
    data = (DATA / name).read_bytes()
    f = tmp_path / name
    f.write_bytes(data[: len(data) // 2 + 8])
    refused(api, invoke(["-i", str(f), "What?"]), "truncated")


def test_image_over_api_limit(api, invoke, tmp_path):
    f = tmp_path / "big.png"
    png = (DATA / "pixel.png").read_bytes()
    # 3,932,161 bytes of file is one byte over the API's 5 MiB of base64
    f.write_bytes(png[:33] + b"\0" * (3_932_161 - len(png)) + png[33:])
    refused(api, invoke(["-i", str(f), "What?"]), "5,242,880")


def test_image_at_api_limit_is_sent(api, invoke, tmp_path):
    f = tmp_path / "big.png"
    png = (DATA / "pixel.png").read_bytes()
    f.write_bytes(png[:33] + b"\0" * (3_932_160 - len(png)) + png[33:])
    api.reply()
    assert invoke(["-i", str(f), "What?"]).code == 0


def test_image_missing(api, invoke, tmp_path):
    refused(api, invoke(["-i", str(tmp_path / "gone.jpg"), "What?"]), "does not exist")


@pytest.mark.parametrize("args,fragment", [
    (["-t", "-1", "x"], "-t"), (["-t", "many", "x"], "many"),
    (["--temperature", "hot", "x"], "hot"), (["--retries", "-1", "x"], "--retries"),
    (["--effort", "extreme", "x"], "extreme"), (["-p", "{ ", "x"], "whitespace"),
    (["-p", "", "x"], "empty"), (["--thinking", "lots", "x"], "lots"),
    (["-f", "a.json", "-c", "b.json"], "not both"),
])
def test_bad_options(api, invoke, args, fragment):
    r = invoke(args)
    assert r.code == 2
    assert fragment in r.stderr
    assert api.log == []


def test_a_system_field_that_is_not_text_beside_system_messages_is_refused(
        api, invoke, tmp_path):
    """Found by test_any_messages_file once its text could hold anything."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"system": True, "messages": [
        {"role": "system", "content": "0"}, {"role": "user", "content": "0"}]}))
    refused(api, invoke(["-f", str(path)]), "'system' must be text", "a boolean")


@pytest.mark.parametrize("flag", ["--timeout", "--stdin-timeout"])
def test_a_huge_timeout_is_a_usage_error(api, invoke, flag):
    r = invoke([flag, "1e300", "Hi"])
    refused(api, r, flag, "at most 1e+06")
    assert invoke([flag, "1000000", "--dry-run", "Hi"]).code == 0


@pytest.mark.parametrize("url,fragment", [
    ("http://a..b", "empty label"),
    ("http://127.0.0.1:99999", "Port out of range"),
    ("http://127.0.0.1:1/?beta=1", "query"),
    ("http://127.0.0.1:1/#here", "fragment"),
    ("http://:8080", "no host name"),
])
def test_an_unusable_base_url_is_a_usage_error(api, invoke, url, fragment):
    refused(api, invoke(["--base-url", url, "Hi"]), "--base-url", fragment)


def test_an_ipv6_or_international_base_url_is_still_taken(invoke):
    for url in ("http://[::1]:8080", "https://bücher.example/v1/"):
        assert invoke(["--base-url", url, "--dry-run", "Hi"]).code == 0


# -- stdin that never closes ----------------------------------------------------

def test_silent_stdin_pipe_with_prompt_does_not_hang(api):
    """A CI runner's stdin: a pipe that stays open and sends nothing."""
    api.reply()
    reader, writer = os.pipe()
    try:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "msgcli", "--stdin-timeout", "0.5", "Hello"],
            stdin=reader, capture_output=True, timeout=30, cwd=REPO,
            env=clean_env(api.base))
        elapsed = time.monotonic() - started
    finally:
        os.close(reader)
        os.close(writer)
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"Hello!\n"
    assert b"stdin sent nothing" in proc.stderr
    assert elapsed < 20
    assert json.loads(api.log[0][0].get_data())["messages"][0]["content"] == "Hello"


def test_slow_stdin_within_timeout_is_used(api):
    api.reply()
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgcli", "--stdin-timeout", "10", "Summarize"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        env=clean_env(api.base))
    time.sleep(0.5)
    out, err = proc.communicate(b"late data", timeout=30)
    assert_no_secret(out, err)
    assert proc.returncode == 0, err
    assert json.loads(api.log[0][0].get_data())["messages"][0]["content"] == \
        "late data\n\nSummarize"


def test_stdin_devnull_with_prompt(api, run_cli):
    api.reply()
    r = run_cli(["Hello"], stdin=subprocess.DEVNULL)
    assert (r.code, r.stdout) == (0, "Hello!\n")
    assert r.stderr == ""


def test_no_prompt_on_a_terminal_exits_2_at_once(api):
    """stdin a real terminal and no PROMPT: a usage error, never a wait for typing."""
    import pty

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "msgcli"], stdin=terminal,
                              capture_output=True, timeout=20, cwd=REPO,
                              env=clean_env(api.base))
    finally:
        os.close(controller)
        os.close(terminal)
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 2
    assert b"no prompt" in proc.stderr
    assert api.log == []


def test_prompt_with_terminal_stdin_does_not_read_it(api):
    import pty

    api.reply()
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "msgcli", "Hello"], stdin=terminal,
                              capture_output=True, timeout=20, cwd=REPO,
                              env=clean_env(api.base))
    finally:
        os.close(controller)
        os.close(terminal)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"Hello!\n", b"")
