"""The official Python SDK as a differential oracle.

The SDK is the version setup.cfg's test extra pins (2.16.0). Requests: for the same
logical request, the JSON body msgcli sends equals the body the SDK sends (both
captured on a local server), path and query string included, and the headers that
matter agree; --list-models's GETs and --count-tokens's body too.
Responses: for the same recorded replies, including SSE streams, msgcli's text equals
the text the SDK parses, and msgcli's exit status matches the SDK's stop_reason.

Differences by design, stated per case:
- auth: SDK 2.x sends an API key as `Authorization: Bearer`; msgcli's contract sends
  it as `x-api-key`. The key value is compared; with ANTHROPIC_AUTH_TOKEN both send
  the same Bearer header, and with both variables set both send the key alone.
- anthropic-version: the SDK defaults to its own ANTHROPIC_API_VERSION, msgcli to
  2023-06-01 (its contract); the cases pass --api-version set to the SDK's value, and
  test_default_versions_differ states the default difference.
- SDK 2.x has no named temperature/top_p/top_k arguments: they go through extra_body,
  and under the SDK's own version (2026-10-21) the API rejects them, so msgcli refuses
  them locally there; the sampling case runs both sides at 2023-06-01.
- msgcli lifts OpenAI-style leading system messages into `system`; the SDK is given
  the lifted form.
"""

import base64
import json
import warnings
from pathlib import Path

import anthropic
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from msgcli import status
from msgcli.api.request import COUNT_TOKENS_REFUSED, DEFAULT_MODEL
from tests.conftest import FAKE_KEY, FAKE_TOKEN, REPO, message
from tests.support.scripted_server import plain_response, sse_response
from tests.support.sse import FIXTURE_NAMES, fixture_bytes

DATA = Path(__file__).parent / "data"
TOOLS = json.loads((REPO / "examples" / "weather_tools.json").read_text())
PNG = base64.b64encode((DATA / "pixel.png").read_bytes()).decode()
PDF = base64.b64encode((DATA / "tiny.pdf").read_bytes()).decode()
MODEL = DEFAULT_MODEL
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
          "additionalProperties": False}


EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def user(content):
    return [{"role": "user", "content": content}]


def base(**kw):
    return {"model": MODEL, "max_tokens": 4096, **kw}


# name: (msgcli args, SDK call kwargs, SDK method)
CASES = {
    "basic": (["Hello, Claude"], base(messages=user("Hello, Claude")), "create"),
    "model and max_tokens": (["-m", "claude-opus-4-5", "-t", "77", "Hi"],
                             dict(model="claude-opus-4-5", max_tokens=77,
                                  messages=user("Hi")), "create"),
    "system": (["-s", "Be terse.", "Hi"], base(system="Be terse.", messages=user("Hi")),
               "create"),
    "sampling (SDK: extra_body)": (
        ["--temperature", "0.3", "--top-p", "0.8", "--top-k", "5", "Hi"],
        base(messages=user("Hi"), extra_body={"temperature": 0.3, "top_p": 0.8,
                                              "top_k": 5}), "create"),
    "stop sequences": (["-S", "END", "-S", "###", "Hi"],
                       base(stop_sequences=["END", "###"], messages=user("Hi")), "create"),
    "prefill": (["-t", "1", "-p", "The answer is (", "Q?"],
                dict(model=MODEL, max_tokens=1, messages=[
                    {"role": "user", "content": "Q?"},
                    {"role": "assistant", "content": "The answer is ("}]), "create"),
    "image base64": (["-i", str(DATA / "pixel.png"), "What?"], base(messages=user([
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": PNG}},
        {"type": "text", "text": "What?"}])), "create"),
    "image url": (["-i", "https://example.com/a.jpg", "What?"], base(messages=user([
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "What?"}])), "create"),
    "document pdf": (["-d", str(DATA / "tiny.pdf"), "Sum"], base(messages=user([
        {"type": "document", "title": "tiny.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        {"type": "text", "text": "Sum"}])), "create"),
    "document titled, and untitled": (
        ["-d", str(DATA / "tiny.pdf"), "-d", str(DATA / "tiny.pdf"), "--document-title",
         "Q3 report", "--document-title", "", "Sum"], base(messages=user([
            {"type": "document", "title": "Q3 report",
             "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
            {"type": "document",
             "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
            {"type": "text", "text": "Sum"}])), "create"),
    "thinking": (["--thinking", "2048", "Hi"], base(
        thinking={"type": "enabled", "budget_tokens": 2048}, messages=user("Hi")), "create"),
    "adaptive thinking and effort": (
        ["--thinking", "adaptive", "--effort", "high", "Hi"],
        base(thinking={"type": "adaptive"}, output_config={"effort": "high"},
             messages=user("Hi")), "create"),
    "schema": (["--schema", json.dumps(SCHEMA), "Hi"], base(
        output_config={"format": {"type": "json_schema", "schema": SCHEMA}},
        messages=user("Hi")), "create"),
    "tools": (["--tools", str(REPO / "examples" / "weather_tools.json"),
               "--tool-choice", "get_weather", "Weather?"],
              base(tools=TOOLS, tool_choice={"type": "tool", "name": "get_weather"},
                   messages=user("Weather?")), "create"),
    "tool result": (["--tool-result", "toolu_1", "21C", "Go on"], base(messages=user([
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C"},
        {"type": "text", "text": "Go on"}])), "create"),
    "extra": (["--extra", '{"metadata": {"user_id": "u1"}, "service_tier": "auto"}', "Hi"],
              base(metadata={"user_id": "u1"}, service_tier="auto", messages=user("Hi")),
              "create"),
    "stream": (["--stream", "Hi"], base(messages=user("Hi"), stream=True), "create"),
    "count tokens": (["--count-tokens", "-s", "sys", "Hi"],
                     dict(model=MODEL, system="sys", messages=user("Hi")), "count_tokens"),
    "beta": (["--beta", "a-2025-01-01", "--beta", "b-2025-02-02", "Hi"],
             base(messages=user("Hi"), betas=["a-2025-01-01", "b-2025-02-02"]), "beta"),
    # -- issue 17. Where the vendored OpenAPI document (May 2026) is older than a
    # field, the SDK is the oracle (2.12 then, 2.16 now): web_search_20260318 /
    # web_fetch_20260318 exist only in the SDK's tool union; the rest (top-level and
    # block cache_control, thinking.display, max_tokens 0) are in both.
    "cache": (["--cache", "-s", "Long rules.", "Hi"],
              base(cache_control=EPHEMERAL, system="Long rules.", messages=user("Hi")),
              "create"),
    "cache 1h, system and document breakpoints": (
        ["--cache-ttl", "1h", "--cache-breakpoint", "system,documents", "-s", "Rules.",
         "-d", str(DATA / "tiny.pdf"), "Sum"],
        base(cache_control=HOUR, system=[{"type": "text", "text": "Rules.",
                                          "cache_control": HOUR}],
             messages=user([{"type": "document", "title": "tiny.pdf", "cache_control": HOUR,
                             "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": PDF}},
                            {"type": "text", "text": "Sum"}])), "create"),
    "cache breakpoint alone": (["--cache-breakpoint", "system", "-s", "Rules.", "Hi"],
                               base(system=[{"type": "text", "text": "Rules.",
                                             "cache_control": EPHEMERAL}],
                                    messages=user("Hi")), "create"),
    "cache pre-warm (max_tokens 0)": (
        ["--cache", "-t", "0", "-s", "Rules.", "Hi"],
        dict(model=MODEL, max_tokens=0, cache_control=EPHEMERAL, system="Rules.",
             messages=user("Hi")), "create"),
    "count tokens with cache": (["--count-tokens", "--cache", "Hi"],
                                dict(model=MODEL, cache_control=EPHEMERAL,
                                     messages=user("Hi")), "count_tokens"),
    # issue 26: what the current count_tokens takes is kept (speed is newer than the
    # May spec), what it refuses is dropped (max_tokens, stop_sequences, metadata)
    "count tokens keeps speed, drops create-only fields": (
        ["--count-tokens", "--extra", '{"speed": "fast", "metadata": {"user_id": "u1"}}',
         "-t", "99", "-S", "END", "--effort", "high", "--thinking", "adaptive", "Hi"],
        dict(model=MODEL, speed="fast", output_config={"effort": "high"},
             thinking={"type": "adaptive"}, messages=user("Hi")), "count_tokens"),
    "show thinking (budget)": (
        ["--thinking", "2048", "--show-thinking", "Hi"],
        base(thinking={"type": "enabled", "budget_tokens": 2048, "display": "summarized"},
             messages=user("Hi")), "create"),
    "show thinking (adaptive, stream)": (
        ["--thinking", "adaptive", "--show-thinking", "--stream", "Hi"],
        base(thinking={"type": "adaptive", "display": "summarized"}, stream=True,
             messages=user("Hi")), "create"),
    "web search and fetch": (
        ["--web-search", "--web-fetch", "Hi"],
        base(tools=[{"type": "web_search_20260318", "name": "web_search"},
                    {"type": "web_fetch_20260318", "name": "web_fetch"}],
             messages=user("Hi")), "create"),
    "web search beside --tools": (
        ["--tools", str(REPO / "examples" / "weather_tools.json"), "--web-search", "Hi"],
        base(tools=TOOLS + [{"type": "web_search_20260318", "name": "web_search"}],
             messages=user("Hi")), "create"),
}


# cases that run at 2023-06-01 on both sides: their fields are gone in 2026-10-21
OLD_VERSION_CASES = {"sampling (SDK: extra_body)"}


@pytest.fixture
def sdk_run(api):
    def run(kwargs, method, auth_token=False, version=None):
        client = anthropic.Anthropic(
            api_key=None if auth_token else FAKE_KEY,
            auth_token=FAKE_TOKEN if auth_token else None,
            base_url=api.base, max_retries=0,
            default_headers={"anthropic-version": version} if version else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if method == "create":
                result = client.messages.create(**kwargs)
                if kwargs.get("stream"):
                    for _ in result:
                        pass
            elif method == "count_tokens":
                client.messages.count_tokens(**kwargs)
            else:
                client.beta.messages.create(**kwargs)
        client.close()

    return run


def reply_for(api, args):
    if "--count-tokens" in args:
        api.reply({"input_tokens": 3}, path="/v1/messages/count_tokens")
    elif "--stream" in args:
        api.expect_request("/v1/messages").respond_with_data(
            fixture_bytes("basic_response.sse"), content_type="text/event-stream")
    else:
        api.reply(message())


def capture(api, run):
    api.clear()
    run()
    (request, _), = api.log
    return request


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_as_the_sdk(api, invoke, sdk_run, name):
    args, kwargs, method = CASES[name]
    version = "2023-06-01" if name in OLD_VERSION_CASES else ANTHROPIC_API_VERSION

    def with_msgcli():
        reply_for(api, args)
        r = invoke(["--api-version", version, *args])
        assert r.code == 0, r

    def with_sdk():
        reply_for(api, args)
        sdk_run(kwargs, method, version=version)

    ours, theirs = capture(api, with_msgcli), capture(api, with_sdk)
    assert json.loads(ours.get_data()) == json.loads(theirs.get_data())
    # the query too: no ?beta=true on a beta call, as SDK 2.x (issue 26)
    assert (ours.path, ours.query_string) == (theirs.path, theirs.query_string)
    for header in ("anthropic-version", "anthropic-beta", "content-type"):
        assert ours.headers.get(header) == theirs.headers.get(header), header
    # by design: x-api-key (msgcli's contract) against Bearer (SDK 2.x), same key
    assert ours.headers["x-api-key"] == FAKE_KEY
    assert theirs.headers["authorization"] == f"Bearer {FAKE_KEY}"


def _body_params(method):
    """The body fields an SDK method takes: its named parameters, bar those it sends as
    headers (betas, workspace_id, user_profile_id) and the SDK-side output_format helper
    (it becomes output_config)."""
    import inspect

    names = set(inspect.signature(method).parameters) - {"timeout"}
    return {n for n in names if not n.startswith("extra_")} - {
        "betas", "workspace_id", "user_profile_id", "output_format"}


def test_count_tokens_drops_only_what_the_sdk_count_does_not_take():
    """issue 26: --count-tokens drops from the Messages body only the fields no token
    count of SDK 2.16 takes (plain or beta), plus the sampling fields SDK 2.x leaves to
    extra_body; every field the endpoint takes is kept, newer ones included."""
    client = anthropic.Anthropic(api_key=FAKE_KEY, base_url="http://127.0.0.1:9")
    create = _body_params(client.messages.create) | \
        _body_params(client.beta.messages.create)
    count = _body_params(client.messages.count_tokens) | \
        _body_params(client.beta.messages.count_tokens)
    assert {"speed", "output_config", "context_management"} <= count
    assert COUNT_TOKENS_REFUSED == (create - count) | {"temperature", "top_p", "top_k"}
    client.close()


def test_auth_token_headers_identical(api, invoke, sdk_run):
    env = {"ANTHROPIC_API_KEY": None, "ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN}

    def with_msgcli():
        api.reply()
        assert invoke(["Hi"], env=env).code == 0

    def with_sdk():
        api.reply()
        sdk_run(base(messages=user("Hi")), "create", auth_token=True)

    ours, theirs = capture(api, with_msgcli), capture(api, with_sdk)
    assert ours.headers["authorization"] == theirs.headers["authorization"] == \
        f"Bearer {FAKE_TOKEN}"
    assert "x-api-key" not in ours.headers and "x-api-key" not in theirs.headers


def test_both_credentials_set_one_is_sent_the_key_as_the_sdk(api, invoke):
    """issue 26: with ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN both set, SDK 2.16
    sends the key alone (as `Authorization: Bearer`, its way) and warns; msgcli sends
    the key alone too (as x-api-key, its contract), never the token beside it, and
    says so on stderr."""
    env = {"ANTHROPIC_API_KEY": FAKE_KEY, "ANTHROPIC_AUTH_TOKEN": FAKE_TOKEN}

    def with_msgcli():
        api.reply()
        r = invoke(["Hi"], env=env)
        assert (r.code, r.stdout) == (0, "Hello!\n")
        assert r.stderr == ("msgcli: warning: both ANTHROPIC_API_KEY and "
                            "ANTHROPIC_AUTH_TOKEN are set; sending the API key only "
                            "(x-api-key): unset ANTHROPIC_API_KEY to use the token\n")

    def with_sdk():
        api.reply()
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            client = anthropic.Anthropic(base_url=api.base, max_retries=0)
            client.messages.create(**base(messages=user("Hi")))
            client.close()

    ours, theirs = capture(api, with_msgcli), capture(api, with_sdk)
    assert theirs.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert "x-api-key" not in theirs.headers
    assert ours.headers["x-api-key"] == FAKE_KEY
    assert "authorization" not in ours.headers


def test_default_versions_differ_by_design(api, invoke):
    """msgcli's default is its frozen contract; the SDK's moved on. Stated, not hidden,
    and checked on the header msgcli really sends."""
    api.reply()
    assert invoke(["Hi"]).code == 0
    sent_version = api.headers()[0]["anthropic-version"]
    assert sent_version == "2023-06-01"
    assert ANTHROPIC_API_VERSION != sent_version


def test_openai_system_messages_lifted_like_sdk_system(api, invoke, sdk_run, tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "system", "content": "Be kind."},
                             {"role": "user", "content": "Hi"}]))

    def with_msgcli():
        api.reply()
        invoke(["-f", str(f)])

    def with_sdk():
        api.reply()
        sdk_run(base(system="Be kind.", messages=user("Hi")), "create")

    assert json.loads(capture(api, with_msgcli).get_data()) == \
        json.loads(capture(api, with_sdk).get_data())


# -- generated conversations --------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda s: s.strip())
block = st.one_of(
    text.map(lambda t: {"type": "text", "text": t}),
    st.just({"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}}))
turn_content = st.one_of(text, st.lists(block, min_size=1, max_size=3))


@st.composite
def conversations(draw):
    turns = draw(st.integers(1, 6))
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": draw(turn_content)}
            for i in range(turns)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=conversations(), system=st.one_of(st.none(), text),
       # the SDK refuses non-streaming calls it expects to last over 10 minutes
       max_tokens=st.integers(1, 21333))
def test_generated_conversations(api, invoke, sdk_run, tmp_path, conversation, system,
                                 max_tokens):
    f = tmp_path / "conv.json"
    f.write_text(json.dumps(conversation))
    args = ["-f", str(f), "-t", str(max_tokens)] + (["-s", system] if system else [])
    kwargs = dict(model=MODEL, max_tokens=max_tokens, messages=conversation)
    if system:
        kwargs["system"] = system

    def with_msgcli():
        api.reply()
        assert invoke(args).code == 0

    def with_sdk():
        api.reply()
        sdk_run(kwargs, "create")

    assert json.loads(capture(api, with_msgcli).get_data()) == \
        json.loads(capture(api, with_sdk).get_data())


# -- the same replies, parsed by both ------------------------------------------------------

def sdk_text(final):
    return "".join(b.text for b in final.content if b.type == "text")


def expected_stdout(final):
    out = sdk_text(final)
    calls = [b for b in final.content if b.type == "tool_use"] \
        if final.stop_reason == "tool_use" else []
    if calls:
        if out and not out.endswith("\n"):
            out += "\n"
        for b in calls:
            out += json.dumps({"id": b.id, "name": b.name, "input": b.input},
                              ensure_ascii=False, separators=(",", ":")) + "\n"
    elif out and not out.endswith("\n"):
        out += "\n"
    return out


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_streams_parsed_like_the_sdk(invoke, scripted, name):
    server = scripted(sse_response([fixture_bytes(name)]))
    client = anthropic.Anthropic(api_key=FAKE_KEY, base_url=server.url, max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with client.messages.stream(**base(messages=user("Hi"))) as stream:
            final = stream.get_final_message()
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert r.stdout == expected_stdout(final)
    assert r.code == status.for_stop_reason(final.stop_reason)[0]


REPLIES = {
    "text": message("Hello there."),
    "two text blocks": message(content=[{"type": "text", "text": "A, "},
                                        {"type": "text", "text": "B."}]),
    "max_tokens": message("cut", stop_reason="max_tokens"),
    "stop_sequence": message("x", stop_reason="stop_sequence", stop_sequence="END"),
    "refusal": message("", stop_reason="refusal"),
    "tool_use": message(stop_reason="tool_use", content=[
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]),
    "thinking": message(content=[{"type": "thinking", "thinking": "hm", "signature": "s"},
                                 {"type": "text", "text": "Done"}]),
    "unicode": message("héllo 👋 世界"),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_whole_replies_parsed_like_the_sdk(invoke, scripted, name):
    server = scripted(plain_response("200 OK", REPLIES[name]))
    client = anthropic.Anthropic(api_key=FAKE_KEY, base_url=server.url, max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        final = client.messages.create(**base(messages=user("Hi")))
    r = invoke(["Hi"], base_url=server.url)
    assert r.stdout == expected_stdout(final)
    assert r.code == status.for_stop_reason(final.stop_reason)[0]


# -- pause_turn: msgcli continues it as the server-tools docs do with the SDK ------------

SEARCH = {"type": "web_search_20260318", "name": "web_search"}
PAUSED = message(stop_reason="pause_turn", content=[
    {"type": "text", "text": "Searching. "},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
     "input": {"query": "ants"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
        {"type": "web_search_result", "url": "https://example.com/ants", "title": "Ants",
         "encrypted_content": "enc", "page_age": None}]}])
FINISHED = message(content=[{"type": "text", "text": "Ants are insects.", "citations": [
    {"type": "web_search_result_location", "url": "https://example.com/ants",
     "title": "Ants", "cited_text": "Ants are insects", "encrypted_index": "idx"}]}])


def test_pause_turn_continued_like_the_sdk_docs(invoke, scripted):
    """The docs' recipe with the SDK: send the paused reply's content back as the
    assistant turn, same tools, no new user turn. msgcli's continuation body must
    equal the SDK's for it."""
    server = scripted(plain_response("200 OK", PAUSED), plain_response("200 OK", FINISHED))
    r = invoke(["--web-search", "Ants?"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "Searching. Ants are insects.\n")
    ours = server.json_bodies()
    assert len(ours) == 2

    server = scripted(plain_response("200 OK", PAUSED), plain_response("200 OK", FINISHED))
    client = anthropic.Anthropic(api_key=FAKE_KEY, base_url=server.url, max_retries=0)
    first = client.messages.create(**base(tools=[SEARCH], messages=user("Ants?")))
    client.messages.create(**base(tools=[SEARCH], messages=user("Ants?") + [
        {"role": "assistant", "content": first.content}]))
    theirs = server.json_bodies()
    assert ours == theirs


def test_list_models_asks_for_the_pages_the_sdk_asks_for(api, invoke):
    """--list-models against SDK 2.16's `client.models.list(limit=1000,
    lifecycle=["active", "deprecated", "retired"])` iterated to the end: the same GETs,
    query strings byte for byte (the lifecycle[] pairs as the SDK encodes them, after_id
    = the page's last_id), and the same models listed, the retired one included."""
    pages = [{"data": [{"type": "model", "id": "m1", "display_name": "M1",
                        "created_at": "2026-01-01T00:00:00Z", "lifecycle": "active"}],
              "has_more": True, "first_id": "m1", "last_id": "m1"},
             {"data": [{"type": "model", "id": "m2", "display_name": "M2",
                        "created_at": "2026-01-01T00:00:00Z", "lifecycle": "retired",
                        "deprecated_at": "2026-06-01T00:00:00Z",
                        "retires_at": "2026-09-01T00:00:00Z"}],
              "has_more": False, "first_id": "m2", "last_id": "m2"}]

    def serve():
        api.clear()
        api.expect_request("/v1/models").respond_with_handler(
            lambda req: Response(json.dumps(pages[1] if req.args.get("after_id") == "m1"
                                            else pages[0]),
                                 content_type="application/json"))

    def sent():
        return [(req.method, req.path, req.query_string.decode()) for req, _ in api.log]

    serve()
    r = invoke(["--list-models"])
    assert r.code == 0
    ours = sent()
    serve()
    client = anthropic.Anthropic(api_key=FAKE_KEY, base_url=api.base, max_retries=0)
    listed = list(client.models.list(limit=1000, lifecycle=["active", "deprecated",
                                                            "retired"]))
    theirs = sent()
    stages = "lifecycle%5B%5D=active&lifecycle%5B%5D=deprecated&lifecycle%5B%5D=retired"
    assert ours == theirs == [("GET", "/v1/models", f"{stages}&limit=1000"),
                              ("GET", "/v1/models", f"{stages}&limit=1000&after_id=m1")]
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == \
        [m.id for m in listed] == ["m1", "m2"]
