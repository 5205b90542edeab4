"""The seed examples of "Using the Messages API", the request each flag builds, and
the output contract. Every request body is checked against CreateMessageParams."""

import base64
import json
from pathlib import Path

import pytest

from msgcli.cli.options import DEFAULT_MODEL
from tests.conftest import FAKE_KEY, FAKE_TOKEN, message
from tests.support.spec import assert_valid

DATA = Path(__file__).parent / "data"


def sent(api, schema="CreateMessageParams"):
    bodies = api.bodies()
    assert len(bodies) == 1
    assert_valid(bodies[0], schema)
    return bodies[0]


# -- the seed examples --------------------------------------------------------

def test_default_model_and_max_tokens(api, invoke):
    api.reply()
    invoke(["Hi"])
    body = sent(api)
    assert (body["model"], body["max_tokens"]) == (DEFAULT_MODEL, 4096)


def test_basic_request(api, invoke):
    api.reply(message("Hello! How can I help?"))
    r = invoke(["-m", "claude-haiku-4-5", "Hello, Claude"])
    assert r.code == 0
    assert r.stdout == "Hello! How can I help?\n"
    assert r.stderr == ""
    assert sent(api) == {"model": "claude-haiku-4-5", "max_tokens": 4096,
                         "messages": [{"role": "user", "content": "Hello, Claude"}]}
    headers = api.headers()[0]
    assert headers["x-api-key"] == FAKE_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"


def test_multi_turn_with_synthetic_assistant_turn(api, invoke, tmp_path):
    conversation = [
        {"role": "user", "content": "Hello, Claude"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Can you describe LLMs to me?"},
    ]
    f = tmp_path / "conv.json"
    f.write_text(json.dumps(conversation))
    api.reply(message("Sure, LLMs are..."))
    r = invoke(["-f", str(f)])
    assert (r.code, r.stdout) == (0, "Sure, LLMs are...\n")
    assert sent(api)["messages"] == conversation


def test_prefill_prints_prefill_then_continuation(api, invoke):
    question = ("What is latin for Ant? (A) Apoidea, (B) Rhopalocera, (C) Formicidae")
    api.reply(message("C)"))
    r = invoke(["-t", "1", "-p", "The answer is (", question])
    assert (r.code, r.stdout) == (0, "The answer is (C)\n")
    body = sent(api)
    assert body["max_tokens"] == 1
    assert body["messages"] == [{"role": "user", "content": question},
                                {"role": "assistant", "content": "The answer is ("}]


def test_prefill_hidden(api, invoke):
    api.reply(message('"a": 1}'))
    r = invoke(["-p", "{", "--hide-prefill", "json please"])
    assert r.stdout == '"a": 1}\n'


def test_prefill_brace_pipes_into_json(api, invoke):
    api.reply(message('"name": "Ada"}'))
    r = invoke(["-p", "{", "Give JSON"])
    assert json.loads(r.stdout) == {"name": "Ada"}


@pytest.mark.parametrize("name,media_type", [
    ("pixel.jpg", "image/jpeg"), ("pixel.png", "image/png"),
    ("pixel.gif", "image/gif"), ("pixel.webp", "image/webp")])
def test_vision_base64_sniffs_type(api, invoke, tmp_path, name, media_type):
    # the extension lies on purpose: the bytes decide the media type
    liar = tmp_path / "picture.bmp"
    liar.write_bytes((DATA / name).read_bytes())
    api.reply(message("An ant."))
    r = invoke(["-i", str(liar), "What is in the above image?"])
    assert (r.code, r.stdout) == (0, "An ant.\n")
    content = sent(api)["messages"][0]["content"]
    assert content[0] == {"type": "image", "source": {
        "type": "base64", "media_type": media_type,
        "data": base64.b64encode((DATA / name).read_bytes()).decode()}}
    assert content[1] == {"type": "text", "text": "What is in the above image?"}


def test_vision_url(api, invoke):
    url = "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
    api.reply(message("An ant."))
    r = invoke(["-i", url, "What is in the above image?"])
    assert r.code == 0
    assert sent(api)["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": url}},
        {"type": "text", "text": "What is in the above image?"}]


def test_image_from_stdin(api, invoke):
    api.reply(message("A pixel."))
    r = invoke(["-i", "-", "Describe"], input=(DATA / "pixel.png").read_bytes())
    assert r.code == 0
    assert sent(api)["messages"][0]["content"][0]["source"]["media_type"] == "image/png"


def test_several_images_keep_order_before_text(api, invoke):
    api.reply()
    invoke(["-i", str(DATA / "pixel.png"), "-i", str(DATA / "pixel.gif"), "Compare"])
    content = sent(api)["messages"][0]["content"]
    assert [b["type"] for b in content] == ["image", "image", "text"]
    assert [b["source"]["media_type"] for b in content[:2]] == ["image/png", "image/gif"]


# -- prompt assembly ----------------------------------------------------------

def test_prompt_words_joined_with_spaces(api, invoke):
    api.reply()
    invoke(["Hello,", "Claude", "how", "are", "you?"])
    assert sent(api)["messages"][0]["content"] == "Hello, Claude how are you?"


def test_stdin_then_blank_line_then_prompt(api, invoke):
    api.reply()
    invoke(["Summarize this."], input=b"line one\nline two\n")
    assert sent(api)["messages"][0]["content"] == "line one\nline two\n\nSummarize this."


def test_stdin_alone_is_the_prompt(api, invoke):
    api.reply()
    invoke([], input="Bonjour, ça va ?".encode())
    assert sent(api)["messages"][0]["content"] == "Bonjour, ça va ?"


def test_no_prompt_at_all_is_usage_error(api, invoke):
    r = invoke([], input=b"")
    assert r.code == 2
    assert "nothing to send" in r.stderr
    assert api.log == []


def test_request_object_file_fields_and_flag_override(api, invoke, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({
        "model": "claude-opus-4-5", "max_tokens": 100, "system": "Be terse.",
        "temperature": 0.2, "stop_sequences": ["END"],
        "messages": [{"role": "user", "content": "Hi"}]}))
    api.reply()
    invoke(["-f", str(f), "-t", "50", "--temperature", "0.9"])
    body = sent(api)
    assert body == {"model": "claude-opus-4-5", "max_tokens": 50, "system": "Be terse.",
                    "temperature": 0.9, "stop_sequences": ["END"],
                    "messages": [{"role": "user", "content": "Hi"}]}


def test_prompt_with_messages_file_is_appended(api, invoke, tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Hello"}]))
    api.reply()
    invoke(["-f", str(f), "And", "now?"])
    assert sent(api)["messages"][-1] == {"role": "user", "content": "And now?"}


def test_messages_from_stdin(api, invoke):
    api.reply()
    r = invoke(["-f", "-"], input=b'[{"role":"user","content":"From stdin"}]')
    assert r.code == 0
    assert sent(api)["messages"] == [{"role": "user", "content": "From stdin"}]


def test_openai_style_system_messages_are_lifted(api, invoke, tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps([
        {"role": "system", "content": "You are a pirate."},
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}]))
    api.reply()
    invoke(["-f", str(f)])
    body = sent(api)
    assert body["system"] == "You are a pirate.\n\nBe brief."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_every_body_flag(api, invoke):
    api.reply()
    r = invoke(["-s", "Be kind.", "-m", "claude-opus-4-5", "-t", "300",
                "--temperature", "0.5", "--top-p", "0.9", "--top-k", "40",
                "-S", "END", "-S", "STOP", "Hi"])
    assert r.code == 0
    assert sent(api) == {
        "model": "claude-opus-4-5", "max_tokens": 300, "system": "Be kind.",
        "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END", "STOP"],
        "messages": [{"role": "user", "content": "Hi"}]}


def test_options_from_environment(api, invoke):
    api.reply()
    invoke(["Hi"], env={"MSGCLI_MODEL": "claude-haiku-4-5", "MSGCLI_MAX_TOKENS": "77",
                        "MSGCLI_SYSTEM": "sys"})
    body = sent(api)
    assert (body["model"], body["max_tokens"], body["system"]) == \
        ("claude-haiku-4-5", 77, "sys")


# -- output ---------------------------------------------------------------

def test_text_blocks_concatenated_other_blocks_ignored(api, invoke):
    api.reply(message(content=[
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Part one, "},
        {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
        {"type": "some_future_block", "data": 1},
        {"type": "text", "text": "part two."}]))
    r = invoke(["Hi"])
    assert (r.code, r.stdout) == (0, "Part one, part two.\n")


def test_no_newline(api, invoke):
    api.reply(message("exact"))
    assert invoke(["-n", "Hi"]).stdout == "exact"


def test_text_already_ending_in_newline_gets_no_second(api, invoke):
    api.reply(message("line\n"))
    assert invoke(["Hi"]).stdout == "line\n"


def test_json_prints_body_exactly(api, invoke):
    raw = json.dumps(message("Hi there"), indent=1)
    api.reply(raw)
    r = invoke(["-j", "Hi"])
    assert r.code == 0
    assert r.stdout == raw + "\n"


def test_usage_on_stderr(api, invoke):
    api.reply(message("ok", usage={"input_tokens": 12, "output_tokens": 3,
                                   "cache_read_input_tokens": 0}))
    r = invoke(["-u", "Hi"])
    assert r.stdout == "ok\n"
    assert "input_tokens=12 output_tokens=3 cache_read_input_tokens=0" in r.stderr


def test_verbose_on_stderr(api, invoke):
    api.reply()
    r = invoke(["-v", "Hi"])
    assert r.stdout == "Hello!\n"
    assert f"POST {api.base}/v1/messages" in r.stderr
    assert "HTTP 200" in r.stderr and "req_test123" in r.stderr
    assert FAKE_KEY not in r.stderr


def test_dry_run_touches_no_network_and_redacts(api, invoke):
    r = invoke(["--dry-run", "-H", "X-Trace: 1", "--beta", "foo-2025-01-01", "Hello"])
    assert r.code == 0
    assert api.log == []
    head, _, body = r.stdout.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == f"POST {api.base}/v1/messages"  # no ?beta=true, as SDK 2.x
    assert "x-api-key: [REDACTED]" in lines
    assert "anthropic-beta: foo-2025-01-01" in lines
    assert "X-Trace: 1" in lines
    parsed = json.loads(body)
    assert_valid(parsed)
    assert parsed["messages"] == [{"role": "user", "content": "Hello"}]


def test_dry_run_without_credentials(api, invoke):
    r = invoke(["--dry-run", "Hello, Claude"], env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0
    assert "x-api-key" not in r.stdout


def test_dry_run_json_is_just_the_body(api, invoke):
    r = invoke(["--dry-run", "-j", "Hello"])
    assert json.loads(r.stdout)["messages"][0]["content"] == "Hello"


# -- connection and config ----------------------------------------------------

def test_auth_token_is_bearer(api, invoke):
    api.reply()
    r = invoke(["Hi"], env={"ANTHROPIC_API_KEY": None, "ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN})
    assert r.code == 0
    headers = api.headers()[0]
    assert headers["authorization"] == f"Bearer {FAKE_TOKEN}"
    assert "x-api-key" not in headers


BOTH_SET = ("msgcli: warning: both ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN are set; "
            "sending the API key only (x-api-key): unset ANTHROPIC_API_KEY to use the "
            "token\n")


@pytest.mark.parametrize("args, stdin, path, reply", [
    (["Hi"], b"", "/v1/messages", message()),
    (["--count-tokens", "Hi"], b"", "/v1/messages/count_tokens", {"input_tokens": 3}),
    (["--jsonl", "-P", "1"], b'"Hi"\n', "/v1/messages", message()),
    (["--list-models"], b"", "/v1/models",
     {"data": [], "has_more": False, "first_id": None, "last_id": None}),
    (["--batch-list"], b"", "/v1/messages/batches",
     {"data": [], "has_more": False, "first_id": None, "last_id": None}),
], ids=["single", "count-tokens", "jsonl", "list-models", "batch-list"])
def test_both_credentials_send_the_key_alone_and_say_so_once(api, invoke, args, stdin,
                                                              path, reply):
    """issue 26: with both variables set, one credential is sent, the key (as SDK 2.16
    chooses), in every kind of run, and stderr says so once."""
    api.expect_request(path).respond_with_json(reply)
    r = invoke(args, input=stdin, env={"ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN})
    assert r.code == 0, r
    assert r.stderr.count("both ANTHROPIC_API_KEY") == 1
    assert r.stderr.startswith(BOTH_SET)
    for headers in api.headers():
        assert headers["x-api-key"] == FAKE_KEY
        assert "authorization" not in headers


def test_no_credentials_is_exit_11_before_sending(api, invoke):
    r = invoke(["Hi"], env={"ANTHROPIC_API_KEY": None})
    assert r.code == 11
    assert "ANTHROPIC_API_KEY" in r.stderr
    assert api.log == []


def test_base_url_flag_beats_environment(api, invoke):
    api.reply()
    r = invoke(["--base-url", api.base, "Hi"], base_url="http://127.0.0.1:9")
    assert r.code == 0


def test_api_version_beta_and_headers(api, invoke):
    api.reply(path="/v1/messages")
    r = invoke(["--api-version", "2099-01-01", "--beta", "a-1", "--beta", "b-2,c-3",
                "-H", "X-Custom: yes", "Hi"])
    assert r.code == 0
    h = api.headers()[0]
    assert h["anthropic-version"] == "2099-01-01"
    assert h["anthropic-beta"] == "a-1,b-2,c-3"
    assert h["x-custom"] == "yes"
    req = api.log[0][0]
    assert req.query_string == b""  # the header selects the betas; no ?beta=true (SDK 2.x)
    assert_valid(api.bodies()[0], "BetaCreateMessageParams")


def test_bad_header_is_usage_error(api, invoke):
    r = invoke(["-H", "no colon here", "Hi"])
    assert r.code == 2
    assert "Name: value" in r.stderr


def test_version_and_help(invoke):
    assert invoke(["--version"]).stdout.startswith("msgcli ")
    r = invoke(["--help"])
    assert r.code == 0
    assert "Exit status" in r.stdout


def test_unknown_option_is_exit_2(invoke):
    r = invoke(["--no-such-flag"])
    assert r.code == 2
    assert "No such option" in r.stderr


def test_boolean_options_from_environment(api, invoke):
    api.reply()
    r = invoke(["Hi"], env={"MSGCLI_JSON": "1", "MSGCLI_NO_NEWLINE": "true"})
    assert json.loads(r.stdout)["content"][0]["text"] == "Hello!"
    assert not r.stdout.endswith("\n")


def test_stream_from_environment(api, invoke):
    from tests.support.sse import fixture_bytes

    api.expect_request("/v1/messages").respond_with_data(
        fixture_bytes("basic_response.sse"), content_type="text/event-stream")
    r = invoke(["Hi"], env={"MSGCLI_STREAM": "1"})
    assert (r.code, r.stdout) == (0, "Hello there!\n")
    assert sent(api)["stream"] is True


def test_every_option_has_its_msgcli_variable():
    from msgcli.cli.command import cli

    for param in cli.params:
        longest = max(param.opts, key=len)
        if not longest.startswith("--"):
            continue
        expected = "MSGCLI_" + longest[2:].upper().replace("-", "_")
        envvars = param.envvar if isinstance(param.envvar, list) else [param.envvar]
        assert expected in envvars or (param.envvar is None and
                                       expected == f"MSGCLI_{param.name.upper()}"), longest


def test_shell_completion_is_clicks(run_cli):
    r = run_cli([], env={"_MSGCLI_COMPLETE": "bash_source"})
    assert r.code == 0
    assert "_msgcli_completion()" in r.stdout
    r = run_cli([], env={"_MSGCLI_COMPLETE": "bash_complete",
                         "COMP_WORDS": "msgcli --max-to", "COMP_CWORD": "1"})
    assert "--max-tokens" in r.stdout
