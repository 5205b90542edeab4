"""Conversation files, documents, thinking, effort, structured output, tools, token
counting and --extra. Bodies are validated against the spec."""

import base64
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from msgcli.api.request import DEFAULT_MODEL
from tests.conftest import REPO, assert_no_secret, clean_env, message
from tests.support.scripted_server import plain_response
from tests.support.spec import assert_valid

DATA = Path(__file__).parent / "data"
TOOLS = REPO / "examples" / "weather_tools.json"


def body_of(api, schema="CreateMessageParams", index=-1):
    body = api.bodies()[index]
    assert_valid(body, schema)
    return body


def layout(value):
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


# -- conversation files ------------------------------------------------------------

def test_two_turn_chat(api, invoke, tmp_path):
    chat = tmp_path / "chat.json"
    api.reply(message("Hi! I'm Claude."))
    assert invoke(["-c", str(chat), "Hello"]).code == 0
    assert chat.read_text() == layout([
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi! I'm Claude."}]}])
    first = chat.read_text()
    api.clear()
    api.reply(message("More about me."))
    r = invoke(["-c", str(chat), "Tell me more"])
    assert (r.code, r.stdout) == (0, "More about me.\n")
    sent = body_of(api)
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][-1] == {"role": "user", "content": "Tell me more"}
    # stable layout: the old text is kept line for line, new turns only appended
    second = chat.read_text()
    assert second.startswith(first[:-3])
    assert json.loads(second)[-1]["content"][0]["text"] == "More about me."


def test_conversation_object_keeps_its_fields(api, invoke, tmp_path):
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps({"system": "Be brief.", "model": "claude-opus-4-5",
                                "messages": [{"role": "user", "content": "Hi"},
                                             {"role": "assistant", "content": "Yo"}]}))
    api.reply(message("Sure."))
    assert invoke(["-c", str(chat), "Again"]).code == 0
    sent = body_of(api)
    assert (sent["system"], sent["model"]) == ("Be brief.", "claude-opus-4-5")
    saved = json.loads(chat.read_text())
    assert saved["system"] == "Be brief." and len(saved["messages"]) == 4


def test_thinking_signatures_and_tool_ids_survive(api, invoke, tmp_path):
    chat = tmp_path / "chat.json"
    content = [{"type": "thinking", "thinking": "Let me check.", "signature": "EqQBsig=="},
               {"type": "text", "text": "Checking."},
               {"type": "tool_use", "id": "toolu_01ABC", "name": "get_weather",
                "input": {"city": "Paris"}}]
    api.reply(message(content=content, stop_reason="tool_use"))
    r = invoke(["-c", str(chat), "--tools", str(TOOLS), "Weather in Paris?"])
    assert r.code == 5
    assert json.loads(chat.read_text())[-1] == {"role": "assistant", "content": content}
    api.clear()
    api.reply(message("It is sunny."))
    r = invoke(["-c", str(chat), "--tools", str(TOOLS), "--tool-result", "toolu_01ABC",
                '{"forecast": "sunny"}'])
    assert (r.code, r.stdout) == (0, "It is sunny.\n")
    sent = body_of(api)
    assert sent["messages"][1]["content"] == content
    assert sent["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01ABC",
         "content": '{"forecast": "sunny"}'}]}


def test_prefill_is_folded_into_the_saved_turn(api, invoke, tmp_path):
    chat = tmp_path / "chat.json"
    api.reply(message('"a": 1}'))
    assert invoke(["-c", str(chat), "-p", "{", "JSON please"]).code == 0
    assert json.loads(chat.read_text())[-1] == {
        "role": "assistant", "content": [{"type": "text", "text": '{"a": 1}'}]}


@pytest.mark.parametrize("failure", ["http-500", "refusal", "bad-json", "network"])
def test_conversation_unchanged_on_failure(api, invoke, tmp_path, failure):
    chat = tmp_path / "chat.json"
    original = '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]'
    chat.write_text(original)
    base_url = None
    if failure == "http-500":
        api.reply({"type": "error", "error": {"type": "api_error", "message": "x"}},
                  status=500)
    elif failure == "refusal":
        api.reply(message("", stop_reason="refusal"))
    elif failure == "bad-json":
        api.reply(b"{not json")
    else:
        base_url = "http://127.0.0.1:9"
    r = invoke(["--retries", "0", "-c", str(chat), "Next"], base_url=base_url)
    assert r.code != 0
    assert chat.read_text() == original
    # no temp file left; the lock file beside it stays by design (see conversation.locked)
    assert sorted(os.listdir(tmp_path)) == [".chat.json.lock", "chat.json"]


def test_conversation_unchanged_on_full_disk(api, invoke, tmp_path, monkeypatch):
    chat = tmp_path / "chat.json"
    original = '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]'
    chat.write_text(original)
    api.reply(message("An answer."))

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    r = invoke(["-c", str(chat), "Next"])
    assert r.code == 2
    assert "No space left on device" in r.stderr and "left as it was" in r.stderr
    assert r.stdout == "An answer.\n"
    assert chat.read_text() == original
    # no temp file left; the lock file beside it stays by design (see conversation.locked)
    assert sorted(os.listdir(tmp_path)) == [".chat.json.lock", "chat.json"]


def test_conversation_keeps_file_mode(api, invoke, tmp_path):
    chat = tmp_path / "chat.json"
    chat.write_text("[]")
    chat.chmod(0o640)
    api.reply()
    assert invoke(["-c", str(chat), "Hi"]).code == 0
    assert chat.stat().st_mode & 0o777 == 0o640


def test_conversation_and_messages_exclusive(api, invoke, tmp_path):
    r = invoke(["-c", str(tmp_path / "a"), "-f", str(tmp_path / "b"), "Hi"])
    assert r.code == 2


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


# -- documents ---------------------------------------------------------------------

def test_pdf_document(api, invoke):
    api.reply()
    assert invoke(["-d", str(DATA / "tiny.pdf"), "Summarize"]).code == 0
    block = body_of(api)["messages"][0]["content"][0]
    assert block == {"type": "document", "title": "tiny.pdf", "source": {
        "type": "base64", "media_type": "application/pdf",
        "data": base64.b64encode((DATA / "tiny.pdf").read_bytes()).decode()}}


def test_text_document_and_url(api, invoke, tmp_path):
    notes = tmp_path / "notes.bin"
    notes.write_text("Meeting at noon.\nBring snacks.\n")
    api.reply()
    url = "https://example.com/paper.pdf"
    assert invoke(["-d", str(notes), "-d", url, "-i", str(DATA / "pixel.png"), "Q?"]).code == 0
    content = body_of(api)["messages"][0]["content"]
    assert [b["type"] for b in content] == ["image", "document", "document", "text"]
    assert content[1]["source"] == {"type": "text", "media_type": "text/plain",
                                    "data": "Meeting at noon.\nBring snacks.\n"}
    assert content[2]["source"] == {"type": "url", "url": url}


@pytest.mark.parametrize("data,fragment", [
    (b"\x00\x01\x02binary", "neither a PDF nor a text file"),
    (b"caf\xe9 latin-1", "neither a PDF nor UTF-8"),
    (b"%PDF-1.4\n1 0 obj\n", "truncated"),
    (b"   \n", "empty"),
])
def test_bad_documents(api, invoke, tmp_path, data, fragment):
    f = tmp_path / "doc"
    f.write_bytes(data)
    r = invoke(["-d", str(f), "Summarize"])
    assert r.code == 2
    assert fragment in r.stderr
    assert api.log == []


def test_document_from_stdin(api, invoke):
    api.reply()
    assert invoke(["-d", "-", "Summarize"], input=(DATA / "tiny.pdf").read_bytes()).code == 0
    assert body_of(api)["messages"][0]["content"][0]["source"]["media_type"] == \
        "application/pdf"


# -- thinking and effort --------------------------------------------------------------

def test_thinking_budget(api, invoke):
    api.reply(message(content=[
        {"type": "thinking", "thinking": "Two plus two...", "signature": "sig"},
        {"type": "text", "text": "4"}]))
    r = invoke(["-t", "4096", "--thinking", "2048", "2+2?"])
    assert (r.code, r.stdout, r.stderr) == (0, "4\n", "")
    assert body_of(api)["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_show_thinking_goes_to_stderr(api, invoke):
    api.reply(message(content=[
        {"type": "thinking", "thinking": "Two plus two...", "signature": "sig"},
        {"type": "text", "text": "4"}]))
    r = invoke(["--thinking", "adaptive", "--show-thinking", "2+2?"])
    assert (r.stdout, r.stderr) == ("4\n", "Two plus two...\n")
    # some models default display to "omitted": --show-thinking asks for it
    assert body_of(api)["thinking"] == {"type": "adaptive", "display": "summarized"}


@pytest.mark.parametrize("args,fragment", [
    (["-t", "2000", "--thinking", "2048"], "less than --max-tokens"),
    (["--thinking", "512"], "minimum of 1024"),
])
def test_thinking_budget_checked(api, invoke, args, fragment):
    r = invoke([*args, "Hi"])
    assert r.code == 2 and fragment in r.stderr
    assert api.log == []


def test_effort_and_schema_share_output_config(api, invoke):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}},
              "required": ["n"], "additionalProperties": False}
    api.reply(message('{\n  "n": 4\n}'))
    r = invoke(["--effort", "low", "--schema", json.dumps(schema), "2+2?"])
    assert (r.code, r.stdout) == (0, '{"n":4}\n')
    assert body_of(api)["output_config"] == {
        "effort": "low", "format": {"type": "json_schema", "schema": schema}}


def test_schema_from_file_streamed_equals_whole(api, invoke, tmp_path, scripted):
    from tests.support.scripted_server import sse_response
    from tests.support.sse import sse_body, text_stream

    f = tmp_path / "schema.json"
    f.write_text('{"type": "object"}')
    pieces = ['{"city":', ' "Paris",\n', ' "ok": true}']
    server = scripted(sse_response([sse_body(text_stream(pieces))]))
    streamed = invoke(["--stream", "--schema", str(f), "Q"], base_url=server.url)
    api.reply(message("".join(pieces)))
    whole = invoke(["--schema", str(f), "Q"])
    assert streamed.stdout == whole.stdout == '{"city":"Paris","ok":true}\n'
    assert body_of(api)["output_config"]["format"]["schema"] == {"type": "object"}


@pytest.mark.parametrize("value,fragment", [
    ("{not json", "invalid JSON at line 1"), ("[1, 2]", "must be a JSON object"),
    ("/no/such/schema.json", "does not exist")])
def test_bad_schema(api, invoke, value, fragment):
    r = invoke(["--schema", value, "Hi"])
    assert r.code == 2 and fragment in r.stderr
    assert api.log == []


# -- tools -------------------------------------------------------------------------------

@pytest.mark.parametrize("choice,expected", [
    ("auto", {"type": "auto"}), ("any", {"type": "any"}), ("none", {"type": "none"}),
    ("get_weather", {"type": "tool", "name": "get_weather"})])
def test_tools_and_choice(api, invoke, choice, expected):
    api.reply()
    assert invoke(["--tools", str(TOOLS), "--tool-choice", choice, "Weather?"]).code == 0
    body = body_of(api)
    assert body["tools"] == json.loads(TOOLS.read_text())
    assert body["tool_choice"] == expected


def test_tool_use_output_lines_and_exit_5(api, invoke):
    api.reply(message(stop_reason="tool_use", content=[
        {"type": "text", "text": "Let me look that up."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]))
    r = invoke(["--tools", str(TOOLS), "Weather in Oslo and Rome?"])
    assert r.code == 5
    assert r.stdout.splitlines() == [
        "Let me look that up.",
        '{"id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}',
        '{"id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}']


def test_tool_choice_unknown_name(api, invoke):
    r = invoke(["--tools", str(TOOLS), "--tool-choice", "get_time", "Hi"])
    assert r.code == 2 and "get_time" in r.stderr


def test_tool_error_turn(api, invoke):
    api.reply()
    invoke(["--tool-error", "toolu_9", "service down", "--tool-result", "toolu_8", "ok",
            "Continue"])
    content = body_of(api)["messages"][0]["content"]
    assert content == [
        {"type": "tool_result", "tool_use_id": "toolu_8", "content": "ok"},
        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "service down",
         "is_error": True},
        {"type": "text", "text": "Continue"}]


@pytest.mark.skipif(shutil.which("jq") is None, reason="the example script needs jq")
def test_tool_loop_example_script(scripted):
    server = scripted(
        plain_response("200 OK", message(stop_reason="tool_use", content=[
            {"type": "text", "text": "Checking the weather."},
            {"type": "tool_use", "id": "toolu_01X", "name": "get_weather",
             "input": {"city": "Paris"}}])),
        plain_response("200 OK", message("It is sunny and 21 °C in Paris.")))
    proc = subprocess.run([str(REPO / "examples" / "tool_loop.sh"), "Weather in Paris?"],
                          capture_output=True, text=True, timeout=60,
                          env=clean_env(server.url))
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "It is sunny and 21 °C in Paris.\n"
    assert "Checking the weather." in proc.stderr
    second = json.loads(server.requests[1]["body"])
    assert_valid(second)
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_01X"
    assert json.loads(result["content"]) == {"city": "Paris", "forecast": "sunny",
                                             "celsius": 21}


# -- token counting and --extra ----------------------------------------------------------

def test_count_tokens(api, invoke):
    api.reply({"input_tokens": 1234}, path="/v1/messages/count_tokens")
    r = invoke(["--count-tokens", "-s", "sys", "-t", "99", "-S", "x", "--temperature", "1",
                "--stream", "Hello"])
    assert (r.code, r.stdout) == (0, "1234\n")
    body = body_of(api, "CountMessageTokensParams")
    assert body == {"model": DEFAULT_MODEL, "system": "sys",
                    "messages": [{"role": "user", "content": "Hello"}]}


def test_count_tokens_json(api, invoke):
    api.reply({"input_tokens": 7}, path="/v1/messages/count_tokens")
    assert json.loads(invoke(["--count-tokens", "-j", "Hi"]).stdout) == {"input_tokens": 7}


@pytest.mark.parametrize("args,printed", [([], b"5"), (["-j"], b'{"input_tokens": 5}')])
def test_count_tokens_honours_no_newline(api, invoke, args, printed):
    for newline in (True, False):
        api.reply({"input_tokens": 5}, path="/v1/messages/count_tokens")
        r = invoke(["--count-tokens", *args, *([] if newline else ["-n"]), "Hi"])
        assert r.stdout_bytes == printed + b"\n" * newline, r


def test_extra_deep_merges_and_flags_win(api, invoke, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({"temperature": 0.1, "metadata": {"user_id": "file"},
                             "messages": [{"role": "user", "content": "Hi"}]}))
    extra = {"metadata": {"user_id": "extra"}, "service_tier": "standard_only",
             "temperature": 0.5, "output_config": {"effort": "max"}}
    api.reply()
    assert invoke(["-f", str(f), "--extra", json.dumps(extra), "--temperature", "0.9",
                   "--schema", '{"type": "object"}']).code == 0
    body = body_of(api)
    assert body["metadata"] == {"user_id": "extra"}
    assert body["service_tier"] == "standard_only"
    assert body["temperature"] == 0.9
    assert body["output_config"] == {"effort": "max", "format": {
        "type": "json_schema", "schema": {"type": "object"}}}


def test_extra_from_file_shown_by_dry_run(api, invoke, tmp_path):
    f = tmp_path / "extra.json"
    f.write_text('{"cache_control": {"type": "ephemeral"}}')
    r = invoke(["--dry-run", "-j", "--extra", f"@{f}", "Hi"])
    body = json.loads(r.stdout)
    assert body["cache_control"] == {"type": "ephemeral"}
    assert_valid(body)


def test_beta_parameters_validate_against_beta_schema(api, invoke):
    api.reply()
    extra = {"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}}
    r = invoke(["--beta", "context-management-2025-06-27", "--extra", json.dumps(extra), "Hi"])
    assert r.code == 0
    body_of(api, "BetaCreateMessageParams")


@pytest.mark.parametrize("value,fragment", [("{oops", "invalid JSON"),
                                            ("[1]", "must be a JSON object")])
def test_bad_extra(api, invoke, value, fragment):
    r = invoke(["--extra", value, "Hi"])
    assert r.code == 2 and fragment in r.stderr
