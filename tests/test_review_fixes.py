"""Regression tests for problems a review of main found, one test (or more) per
problem; each failed before its fix."""

import json
import os

import pytest

from tests.conftest import FAKE_KEY, message, refused
from tests.hostile_server import (
    block_start,
    block_stop,
    delta,
    message_end,
    message_start,
    reply,
    stream,
)


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


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("where", ["stdout", "-o", "-c"])
def test_a_lone_surrogate_in_the_reply_becomes_u_fffd(hostile, invoke, tmp_path,
                                                     streamed, where):
    text = "a\ud800b"  # json.dumps sends it as the escape \ud800, alone
    if streamed:
        script = stream(message_start(), block_start(0, {"type": "text", "text": ""}),
                        delta(0, "text_delta", "text", text), block_stop(0), message_end())
    else:
        script = reply(json.dumps(message(text=text)))
    server = hostile(script)
    path = tmp_path / "file"
    args = {"stdout": [], "-o": ["-o", str(path)], "-c": ["-c", str(path)]}[where]
    r = invoke([*args, "--stream" if streamed else "--no-stream", "Hi"],
               base_url=server.url)
    assert r.code == 0, r
    if where == "stdout":
        assert r.stdout_bytes.decode("utf-8") == "a\ufffdb\n"
    elif where == "-o":
        assert path.read_text(encoding="utf-8") == "a\ufffdb\n"
    else:
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert saved[-1]["content"][0]["text"] == "a\ufffdb"


@pytest.mark.parametrize("streamed", [False, True])
def test_output_file_gets_an_echoed_key_redacted(hostile, invoke, tmp_path, streamed):
    cut = len(FAKE_KEY) // 2
    if streamed:
        pieces = [f"echo {FAKE_KEY[:cut]}", f"{FAKE_KEY[cut:]} done"]
        script = stream(message_start(), block_start(0, {"type": "text", "text": ""}),
                        *[delta(0, "text_delta", "text", p) for p in pieces],
                        block_stop(0), message_end())
    else:
        script = reply(json.dumps(message(text=f"echo {FAKE_KEY} done")))
    path = tmp_path / "answer.txt"
    r = invoke(["-o", str(path), "--stream" if streamed else "--no-stream", "Hi"],
               base_url=hostile(script).url)
    assert r.code == 0, r
    assert path.read_text() == "echo [REDACTED] done\n"


@pytest.mark.parametrize("large", [False, True])
def test_text_like_the_large_string_placeholder_is_sent_as_is(large):
    from msgcli.api.request import encode_body

    body = {"messages": [{"role": "user", "content": "\ue000msgcli-large-string-0\ue000"}]}
    if large:
        body["system"] = "x" * 100_000
    assert json.loads(b"".join(encode_body(body))) == body


@pytest.mark.parametrize("args,printed", [([], b"5"), (["-j"], b'{"input_tokens": 5}')])
def test_count_tokens_honours_no_newline(api, invoke, args, printed):
    for newline in (True, False):
        api.reply({"input_tokens": 5}, path="/v1/messages/count_tokens")
        r = invoke(["--count-tokens", *args, *([] if newline else ["-n"]), "Hi"])
        assert r.stdout_bytes == printed + b"\n" * newline, r


@pytest.mark.parametrize("as_object", [False, True])
def test_conversation_keeps_its_leading_system_message(api, invoke, tmp_path, as_object):
    start = [{"role": "system", "content": "Be brief."},
             {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps({"system": "Be kind.", "messages": start} if as_object
                               else start))
    for prompt in ("Hi", "Again"):
        api.reply()
        assert invoke(["-c", str(path), prompt]).code == 0
    saved = json.loads(path.read_text())
    messages = saved["messages"] if as_object else saved
    assert messages[:3] == start
    assert [m["role"] for m in messages[3:]] == ["user", "assistant"] * 2
    if as_object:
        assert saved["system"] == "Be kind."
    expected = "Be kind.\n\nBe brief." if as_object else "Be brief."
    assert [b["system"] for b in api.bodies()] == [expected] * 2


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


@pytest.mark.parametrize("flag", ["-o", "-c"])
def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(
        api, invoke, tmp_path, umask_027, flag):
    new, old = tmp_path / "new", tmp_path / "old"
    old.write_text("[]")
    old.chmod(0o604)
    for path in (new, old):
        api.reply()
        assert invoke([flag, str(path), "Hi"]).code == 0
    assert new.stat().st_mode & 0o777 == 0o640
    assert old.stat().st_mode & 0o777 == 0o604


@pytest.mark.parametrize("flag", ["-o", "-c"])
def test_sigterm_unwinds_while_the_files_are_written(api, invoke, tmp_path, monkeypatch,
                                                     flag):
    """While -o/-c write, SIGTERM raises (so atomic.replacing's cleanup runs and removes
    its temp file) rather than killing the process mid-write."""
    import signal

    from msgcli.errors import on_sigterm
    from msgcli.output import atomic

    real, handlers = atomic.replacing, []

    def spy(*args, **kwargs):  # (-o through atomic.write; -c streams into it)
        handlers.append(signal.getsignal(signal.SIGTERM))
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic, "replacing", spy)
    api.reply()
    assert invoke([flag, str(tmp_path / "file"), "Hi"]).code == 0
    assert handlers == [on_sigterm]
    assert signal.getsignal(signal.SIGTERM) is not on_sigterm  # restored afterwards


def test_the_retry_policy_names_no_private_urllib3_parameter():
    import inspect

    from msgcli.wire.transport import ApiRetry

    names = inspect.signature(ApiRetry.increment).parameters
    assert not [n for n in names if n.startswith("_")], names


def test_jsonl_results_get_an_echoed_key_redacted(api, invoke):
    api.reply(message(text=f"echo {FAKE_KEY} done"))
    r = invoke(["--jsonl"], input=b'"Hi"\n')  # invoke fails on a key in the output
    assert r.code == 0, r
    assert json.loads(r.stdout)["text"] == "echo [REDACTED] done"


def test_a_system_field_that_is_not_text_beside_system_messages_is_refused(
        api, invoke, tmp_path):
    """Found by test_any_messages_file once its text could hold anything."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"system": True, "messages": [
        {"role": "system", "content": "0"}, {"role": "user", "content": "0"}]}))
    refused(api, invoke(["-f", str(path)]), "'system' must be text", "a boolean")
