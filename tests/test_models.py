"""Issue 17, against local servers: long waits and --deadline, thinking display,
prompt caching, usage as data, hints for the 400s of newer models, the 2026-10-21
refusals, the model list and its lifecycle notes, the default model, server tools
and pause_turn. (Requests against SDK 2.16: tests/test_sdk_differential.py.)"""

import json
import os
import re
import threading
import time
import types
import typing

import anthropic
import pytest
from urllib3 import HTTPResponse

from msgcli import status
from msgcli.api import hints, models, server_tools
from msgcli.cli.options import DEFAULT_MODEL
from msgcli.cli.params import ModelName
from msgcli.wire.transport import ApiRetry
from msgcli.wire.waits import WaitLimits
from tests.conftest import FAKE_KEY, message
from tests.support.scripted_server import Pause, plain_response, sse_response
from tests.support.sse import sse_body, text_stream


def error_body(message_text, error_type="invalid_request_error"):
    return {"type": "error", "error": {"type": error_type, "message": message_text},
            "request_id": "req_400"}


# -- 1. long waits --------------------------------------------------------------------

def rate_limited(seconds):
    return plain_response("429 Too Many Requests", error_body("slow down", "rate_limit_error"),
                          headers={"retry-after": str(seconds)})


def test_retry_after_past_the_deadline_gives_up_at_once(invoke, scripted):
    server = scripted(rate_limited(100), plain_response("200 OK", message()))
    r = invoke(["--deadline", "30", "Hi"], base_url=server.url)
    assert r.code == 12  # what the server said last: rate limited
    assert len(server.requests) == 1
    assert "asked to wait 100 s, past --deadline" in r.stderr


def test_max_wait_zero_never_waits_on_retry_after(invoke, scripted):
    server = scripted(rate_limited(1), plain_response("200 OK", message()))
    r = invoke(["--max-wait", "0", "Hi"], base_url=server.url)
    assert r.code == 12 and len(server.requests) == 1
    assert "over --max-wait 0" in r.stderr


def test_deadline_cuts_a_stalled_stream(invoke, scripted):
    hold = threading.Event()
    first = sse_body(text_stream(["part"])[:3])
    server = scripted(sse_response([first, Pause(hold, 30)], terminate=False))
    try:
        r = invoke(["--stream", "--deadline", "1", "Hi"], base_url=server.url)
    finally:
        hold.set()
    assert r.code == 14
    assert r.stdout == "part"
    assert "deadline reached" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_deadline_cuts_a_server_that_never_answers(invoke, scripted):
    hold = threading.Event()
    server = scripted([Pause(hold, 30)])
    try:
        r = invoke(["--deadline", "0.5", "--retries", "3", "Hi"], base_url=server.url)
    finally:
        hold.set()
    assert r.code == 14
    assert "deadline" in r.stderr
    assert len(server.requests) == 1


def test_deadline_from_environment_and_checked(invoke):
    r = invoke(["Hi"], env={"MSGCLI_DEADLINE": "0"})
    assert r.code == 2 and "MSGCLI_DEADLINE" in r.stderr


def test_on_retry_gets_the_wait_and_what_is_left(monkeypatch):
    """The hook the terminal status line uses: wait and remaining seconds."""
    import msgcli.wire.transport

    slept, seen = [], []
    monkeypatch.setattr(msgcli.wire.transport, "time", types.SimpleNamespace(
        sleep=slept.append, monotonic=time.monotonic))
    retry = ApiRetry(total=2, on_retry=lambda h, r, wait, remaining=None:
                     seen.append((wait, remaining)),
                     limits=WaitLimits(max_wait=600, deadline=time.monotonic() + 100))
    response = HTTPResponse(status=429, headers={"retry-after": "7"})
    fresh = retry.increment("POST", "/v1/messages", response=response)
    fresh.sleep(response)
    (wait, remaining), = seen
    assert wait == 7 and 90 < remaining <= 100
    assert slept == [7]


# -- 2. thinking display -----------------------------------------------------------------

def test_show_thinking_streamed_and_display_sent(api, invoke):
    events = text_stream(["4"], thinking=["Two plus ", "two..."])
    api.expect_request("/v1/messages").respond_with_data(
        sse_body(events), content_type="text/event-stream")
    r = invoke(["--stream", "--thinking", "2048", "--show-thinking", "2+2?"])
    assert (r.code, r.stdout) == (0, "4\n")
    assert "Two plus two...\n" in r.stderr
    assert api.bodies()[0]["thinking"] == {"type": "enabled", "budget_tokens": 2048,
                                           "display": "summarized"}


def test_show_thinking_reaches_thinking_from_a_file(api, invoke, tmp_path):
    f = tmp_path / "req.json"
    f.write_text(json.dumps({"thinking": {"type": "adaptive", "display": "omitted"},
                             "messages": [{"role": "user", "content": "Hi"}]}))
    api.reply()
    assert invoke(["-f", str(f), "--show-thinking"]).code == 0
    assert api.bodies()[0]["thinking"] == {"type": "adaptive", "display": "summarized"}


def test_show_thinking_leaves_thinking_off_alone(api, invoke):
    api.reply()
    assert invoke(["--thinking", "off", "--show-thinking", "Hi"]).code == 0
    assert api.bodies()[0]["thinking"] == {"type": "disabled"}


# -- 3. caching ----------------------------------------------------------------------------

CACHED_USAGE = {"input_tokens": 12, "output_tokens": 5, "cache_creation_input_tokens": 2048,
                "cache_read_input_tokens": 4096,
                "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                   "ephemeral_1h_input_tokens": 2048}}


def test_usage_line_shows_cache_fields(api, invoke):
    api.reply(message(usage=CACHED_USAGE))
    r = invoke(["-u", "--cache", "Hi"])
    assert r.code == 0
    line, = r.stderr.splitlines()
    assert "cache_creation_input_tokens=2048" in line
    assert "cache_read_input_tokens=4096" in line
    assert api.bodies()[0]["cache_control"] == {"type": "ephemeral"}


def test_pre_warm_with_max_tokens_0(api, invoke):
    api.reply(message("", stop_reason="max_tokens", usage=CACHED_USAGE))
    r = invoke(["-t", "0", "--cache-ttl", "1h", "-s", "Long rules.", "Hi"])
    assert (r.code, r.stdout, r.stderr) == (0, "", "")  # nothing asked, nothing cut off
    body = api.bodies()[0]
    assert (body["max_tokens"], body["cache_control"]) == (0, {"type": "ephemeral",
                                                                "ttl": "1h"})


def test_document_breakpoint_not_saved_in_the_conversation(api, invoke, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("Long notes.")
    chat = tmp_path / "chat.json"
    api.reply()
    assert invoke(["-c", str(chat), "-d", str(doc), "--cache-breakpoint", "documents",
                   "Sum"]).code == 0
    sent_doc = api.bodies()[0]["messages"][0]["content"][0]
    assert sent_doc["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in chat.read_text()


@pytest.mark.parametrize("value", ["nowhere", "system,tools", ""])
def test_bad_cache_breakpoint(invoke, value):
    r = invoke(["--cache-breakpoint", value, "Hi"])
    assert r.code == 2 and "--cache-breakpoint" in r.stderr


# -- 4. usage as data ---------------------------------------------------------------------

PRICES = {"claude-sonnet-4-5": {"input_per_mtok": 3, "output_per_mtok": 15,
                                "cache_write_per_mtok": 3.75, "cache_read_per_mtok": 0.3,
                                "cache_write_1h_per_mtok": 6}}


def test_usage_json_is_one_line(api, invoke):
    api.reply(message(usage=CACHED_USAGE))
    r = invoke(["--usage-json", "Hi"])
    assert r.code == 0
    line, = r.stderr.splitlines()
    record = json.loads(line)
    assert record["request_id"] == "req_test123"
    assert record["model"] == "claude-sonnet-4-5"
    assert (record["input_tokens"], record["output_tokens"]) == (12, 5)
    assert (record["cache_creation_input_tokens"], record["cache_read_input_tokens"]) == \
        (2048, 4096)
    assert "cost" not in record


def test_usage_json_reports_absent_cache_counts_as_0(api, invoke):
    api.reply(message())
    record = json.loads(invoke(["--usage-json", "Hi"]).stderr)
    assert (record["cache_creation_input_tokens"], record["cache_read_input_tokens"]) == (0, 0)


def test_cost_from_a_price_file(api, invoke, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    api.reply(message(usage=CACHED_USAGE))
    record = json.loads(invoke(["--usage-json", "--cost", str(prices), "Hi"]).stderr)
    expected = (12 * 3 + 5 * 15 + 2048 * 6 + 4096 * 0.3) / 1e6
    assert record["cost"] == pytest.approx(expected)


def test_cost_alone_implies_the_usage_line(api, invoke, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"some-other-model": {"input_per_mtok": 1}}))
    api.reply(message())
    r = invoke(["--cost", str(prices), "Hi"])
    assert r.code == 0
    assert r.stderr.startswith("msgcli: usage: input_tokens=10 output_tokens=5 cost=unknown")


@pytest.mark.parametrize("prices,fragment", [
    ({"m": {"input_per_mtok": "cheap"}}, "must be a number"),
    ({"m": {"input_per_token": 1}}, "unknown price"),
    ({"m": 3}, "expected an object"),
])
def test_bad_price_file_is_a_usage_error(api, invoke, tmp_path, prices, fragment):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(prices))
    r = invoke(["--cost", str(f), "Hi"])
    assert r.code == 2 and fragment in r.stderr
    assert len(api.log) == 0


# -- 5. hints for the 400s of newer models ------------------------------------------------

HINTED = [
    ("This model does not support assistant message prefill. The conversation must end "
     "with a user message.", ["-p", "{"], "--schema instead of -p '{'"),
    ("`temperature` is deprecated for this model.", ["--temperature", "0.2"],
     "drop --temperature"),
    ("`top_k` is deprecated for this model.", ["--top-k", "3"], "drop --top-k"),
    ("`temperature` and `top_p` cannot both be specified for this model. Please use only "
     "one.", ["--temperature", "0.2", "--top-p", "0.9"], "--temperature or --top-p, not both"),
    ("temperature: Extra inputs are not permitted", [], "drop --temperature"),
    ('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
     'and "output_config.effort" to control thinking behavior.', ["--thinking", "2048"],
     "--thinking adaptive"),
    ("adaptive thinking is not supported on this model", ["--thinking", "adaptive"],
     "--thinking BUDGET"),
    ('"thinking.type.disabled" is not supported for this model.', ["--thinking", "off"],
     "drop --thinking off"),
    ("Thinking may not be enabled when tool_choice forces tool use.",
     ["--thinking", "2048", "--tool-choice", "any"], "--tool-choice auto"),
    ('tool_choice: type "tool" and "any" are not supported for this model.',
     ["--tool-choice", "any"], "--tool-choice auto"),
    ("output_config.effort 'xhigh' is not supported when thinking is disabled on this "
     "model. Use effort 'high' or below, or enable thinking.", ["--effort", "xhigh"],
     "--effort high or below"),
    ("`max_tokens` must be greater than `thinking.budget_tokens`.", [],
     "raise -t/--max-tokens"),
]


@pytest.mark.parametrize("api_message,args,hint", HINTED)
def test_400_of_a_newer_model_names_the_flag(api, invoke, api_message, args, hint):
    api.reply(error_body(api_message), status=400)
    r = invoke([*args, "Hi"])
    assert r.code == 10
    line, = r.stderr.splitlines()
    assert api_message in line  # the API's own words stay, in full
    assert hint in line


def test_hint_matching_ignores_case_and_unknown_messages_get_none():
    assert hints.for_message("THIS MODEL DOES NOT SUPPORT ASSISTANT MESSAGE PREFILL")
    assert hints.for_message("messages: roles must alternate") is None
    assert hints.for_message("metadata.foo: Extra inputs are not permitted") is None
    assert hints.for_message("") is None


def test_hint_in_a_stream_error_event(scripted, invoke):
    events = [text_stream(["x"])[0], {"type": "error", "error": {
        "type": "invalid_request_error", "message": "`temperature` is deprecated for this "
        "model."}}]
    server = scripted(sse_response([sse_body(events)]))
    r = invoke(["--stream", "Hi"], base_url=server.url)
    assert "drop --temperature" in r.stderr


# -- 6. --api-version 2026-10-21 ------------------------------------------------------------

NEW = ["--api-version", "2026-10-21"]


def conversation_file(tmp_path, messages, **fields):
    f = tmp_path / "m.json"
    f.write_text(json.dumps({**fields, "messages": messages}))
    return str(f)


ASSISTANT_DOC = [{"role": "user", "content": "Read"},
                 {"role": "assistant", "content": [{"type": "document", "source": {
                     "type": "text", "media_type": "text/plain", "data": "d"}}]},
                 {"role": "user", "content": "Sum"}]
CITATION = {"type": "char_location", "cited_text": "d", "document_index": 0,
            "start_char_index": 0, "end_char_index": 1}
USER_CITES = [{"role": "user", "content": [{"type": "text", "text": "as said",
                                            "citations": [CITATION]}]}]
SEARCH_CITES = [{"role": "user", "content": [{"type": "search_result", "source": "s",
                                              "title": "t", "content": [
                                                  {"type": "text", "text": "x",
                                                   "citations": [CITATION]}]}]}]


@pytest.mark.parametrize("case,fragment", [
    ("flag", "temperature (from --temperature)"),
    ("top-p flag", "top_p (from --top-p)"),
    ("extra", "top_k (from --extra)"),
    ("file", "temperature (from the -f/-c file)"),
    ("count tokens", "citations on user text"),
    ("assistant document", "document block in an assistant turn"),
    ("user citations", "citations on user text"),
    ("search result citations", "citations on user text"),
])
def test_2026_10_21_refused_locally(api, invoke, tmp_path, case, fragment):
    hi = [{"role": "user", "content": "Hi"}]
    args = {
        "flag": lambda: ["--temperature", "1.0", "Hi"],
        "top-p flag": lambda: ["--top-p", "0.99", "Hi"],
        "extra": lambda: ["--extra", '{"top_k": 5}', "Hi"],
        "file": lambda: ["-f", conversation_file(tmp_path, hi, temperature=1.0)],
        "count tokens": lambda: ["--count-tokens", "-f", conversation_file(
            tmp_path, USER_CITES)],
        "assistant document": lambda: ["-f", conversation_file(tmp_path, ASSISTANT_DOC)],
        "user citations": lambda: ["-f", conversation_file(tmp_path, USER_CITES)],
        "search result citations": lambda: ["-f", conversation_file(tmp_path, SEARCH_CITES)],
    }[case]()
    r = invoke(NEW + args)
    assert r.code == 2
    assert fragment in r.stderr
    assert len(api.log) == 0


def test_2026_10_21_sends_what_it_accepts_with_x_api_key(api, invoke, tmp_path):
    messages = [{"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello",
                                                   "citations": [CITATION]}]},
                {"role": "user", "content": [{"type": "document", "citations": {
                    "enabled": True}, "source": {"type": "text", "media_type": "text/plain",
                                                 "data": "d"}}, {"type": "text",
                                                                 "text": "More"}]}]
    api.reply()
    assert invoke(NEW + ["-f", conversation_file(tmp_path, messages)]).code == 0
    headers = api.headers()[0]
    assert headers["anthropic-version"] == "2026-10-21"
    assert headers["x-api-key"] == FAKE_KEY  # still accepted: the migration guide's cURL
    assert api.bodies()[0]["messages"] == messages


def test_2023_06_01_still_sends_sampling(api, invoke):
    api.reply()
    assert invoke(["--temperature", "0.2", "Hi"]).code == 0
    assert api.bodies()[0]["temperature"] == 0.2


# -- 7. the model list, its cache and lifecycle notes ---------------------------------------

def model_info(model_id, lifecycle="active", retires_at=None, deprecated_at=None):
    return {"type": "model", "id": model_id, "display_name": model_id,
            "created_at": "2026-01-01T00:00:00Z", "lifecycle": lifecycle,
            "deprecated_at": deprecated_at, "retires_at": retires_at}


PAGE_1 = [model_info("claude-opus-4-8"), model_info("claude-sonnet-4-6")]
PAGE_2 = [model_info("claude-opus-4-6", "deprecated", "2027-03-01T00:00:00Z",
                     "2026-09-01T00:00:00Z"),
          model_info("claude-haiku-3-9", "retired", "2026-01-05T00:00:00Z")]


def serve_models(api, models=PAGE_1 + PAGE_2, page_size=2):
    """GET /v1/models as the API serves it: `page_size` models a page, after_id as the
    cursor, and retired models only when `lifecycle[]` asks for them (without it the
    list holds active and deprecated models)."""
    from werkzeug import Response

    def handler(req):
        stages = req.args.getlist("lifecycle[]") or ["active", "deprecated"]
        listed = [m for m in models if m["lifecycle"] in stages]
        ids = [m["id"] for m in listed]
        after = req.args.get("after_id")
        start = ids.index(after) + 1 if after in ids else 0
        data = listed[start:start + min(page_size, int(req.args.get("limit", 20)))]
        return Response(json.dumps({
            "data": data, "has_more": start + len(data) < len(listed),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}), content_type="application/json")

    api.expect_request("/v1/models", method="GET").respond_with_handler(handler)


def test_list_models_follows_pages_and_caches(api, invoke, private_cache):
    serve_models(api)
    r = invoke(["--list-models"])
    assert r.code == 0
    assert [json.loads(line) for line in r.stdout.splitlines()] == PAGE_1 + PAGE_2
    assert len(api.log) == 2
    assert api.headers()[0]["x-api-key"] == FAKE_KEY
    cache = json.loads((private_cache / "msgcli" / "models.json").read_text())
    assert cache["data"] == PAGE_1 + PAGE_2 and cache["base_url"] == api.base
    assert os.listdir(private_cache / "msgcli") == ["models.json"]  # no temp file left
    again = invoke(["--list-models"])
    assert again.stdout == r.stdout
    assert len(api.log) == 2  # served from the fresh cache


def test_list_models_refreshes_a_stale_cache(api, invoke, private_cache):
    serve_models(api)
    invoke(["--list-models"])
    path = private_cache / "msgcli" / "models.json"
    cache = json.loads(path.read_text())
    cache["fetched_at"] -= models.CACHE_SECONDS + 1
    path.write_text(json.dumps(cache))
    assert invoke(["--list-models"]).code == 0
    assert len(api.log) == 4


def test_list_models_without_a_key(invoke):
    r = invoke(["--list-models"], env={"ANTHROPIC_API_KEY": None})
    assert r.code == 11


def test_chosen_model_deprecated_said_once_status_unchanged(api, invoke):
    serve_models(api)
    invoke(["--list-models"])
    api.reply(message(stop_reason="max_tokens"))
    r = invoke(["-m", "claude-opus-4-6", "Hi"])
    assert r.code == 3
    notes = [line for line in r.stderr.splitlines() if "deprecated" in line]
    assert notes == ["msgcli: model claude-opus-4-6 is deprecated and retires on 2027-03-01 "
                     "(per the cached model list); choose another with -m (see "
                     "--list-models)"]


def test_retired_model_listed_cached_and_noted(api, invoke, private_cache):
    """Issue 26: the endpoint lists retired models only when asked, so --list-models
    asks for every lifecycle stage; the cache then holds the retired model, and a run
    with -m naming it says so on stderr (and still sends: the API has the last word)."""
    serve_models(api)
    r = invoke(["--list-models"])
    assert r.code == 0
    assert "claude-haiku-3-9" in [json.loads(line)["id"] for line in r.stdout.splitlines()]
    asked = [req.args.getlist("lifecycle[]") for req, _ in api.log]
    assert asked == [["active", "deprecated", "retired"]] * 2
    cached = json.loads((private_cache / "msgcli" / "models.json").read_text())["data"]
    assert [m["id"] for m in cached] == [m["id"] for m in PAGE_1 + PAGE_2]
    api.clear()
    api.reply()
    r = invoke(["-m", "claude-haiku-3-9", "Hi"])
    assert r.code == 0 and r.stdout == "Hello!\n"
    assert r.stderr == ("msgcli: model claude-haiku-3-9 is retired (since 2026-01-05) (per "
                        "the cached model list); choose another with -m (see "
                        "--list-models)\n")
    assert [req.method for req, _ in api.log] == ["POST"]  # the note made no request


def test_retired_and_active_models(api, invoke):
    serve_models(api)
    invoke(["--list-models"])
    api.reply()
    assert "is retired (since 2026-01-05)" in invoke(["-m", "claude-haiku-3-9", "Hi"]).stderr
    assert invoke(["-m", "claude-opus-4-8", "Hi"]).stderr == ""


def test_active_model_with_a_retirement_date(api, invoke, private_cache):
    (private_cache / "msgcli").mkdir(parents=True)
    (private_cache / "msgcli" / "models.json").write_text(json.dumps({
        "fetched_at": time.time(), "base_url": api.base, "data": [
            model_info("claude-x", "active", "2027-09-09T00:00:00Z")]}))
    api.reply()
    r = invoke(["-m", "claude-x", "Hi"])
    assert r.stderr.startswith("msgcli: model claude-x retires on 2027-09-09 (per the cached")


def test_model_note_reads_only_the_cache(api, invoke):
    api.reply()
    r = invoke(["-m", "claude-opus-4-6", "Hi"])
    assert r.stderr == ""  # no cache, not in the SDK's table: nothing, and no GET
    assert [req.method for req, _ in api.log] == ["POST"]


def test_built_in_table_without_a_cache(api, invoke):
    api.reply()
    r = invoke(["-m", "claude-sonnet-4-5", "Hi"])
    assert r.code == 0
    assert "claude-sonnet-4-5 is deprecated and retires on 2026-11-30 (per SDK 2.14's " \
        "table)" in r.stderr


def test_default_model_deprecated_in_the_cache_says_how_to_pin(api, invoke, private_cache):
    (private_cache / "msgcli").mkdir(parents=True)
    (private_cache / "msgcli" / "models.json").write_text(json.dumps({
        "fetched_at": time.time(), "base_url": api.base, "data": [
            model_info(DEFAULT_MODEL, "deprecated", "2027-06-01T00:00:00Z")]}))
    api.reply()
    r = invoke(["Hi"])
    assert r.code == 0
    assert f"model {DEFAULT_MODEL} is deprecated and retires on 2027-06-01" in r.stderr
    assert "pin a model with -m or MSGCLI_MODEL" in r.stderr


def test_broken_cache_is_ignored(api, invoke, private_cache):
    (private_cache / "msgcli").mkdir(parents=True)
    (private_cache / "msgcli" / "models.json").write_text("{not json")
    api.reply()
    r = invoke(["-m", "claude-opus-4-6", "Hi"])
    assert (r.code, r.stderr) == (0, "")
    assert ModelName().shell_complete(None, None, "") == []


def test_model_completion_reads_the_cache_only(api, invoke, run_cli):
    serve_models(api)
    invoke(["--list-models"])
    api.clear()
    r = run_cli([], env={"_MSGCLI_COMPLETE": "bash_complete",
                         "COMP_WORDS": "msgcli -m claude-o", "COMP_CWORD": "2"})
    assert r.code == 0
    assert r.stdout.splitlines() == ["plain,claude-opus-4-8", "plain,claude-opus-4-6"]
    assert len(api.log) == 0


# -- 8. the default model -------------------------------------------------------------------

def test_default_model_follows_the_rule():
    """In SDK 2.12's model table, not in SDK 2.14's deprecation table (copied in
    models.BUILT_IN_RETIREMENTS), and not of the 4.6+ generations that refuse a
    prefill, which the README's examples use."""
    assert DEFAULT_MODEL in typing.get_args(typing.get_args(anthropic.types.Model)[0])
    assert DEFAULT_MODEL not in models.BUILT_IN_RETIREMENTS
    major, minor = re.fullmatch(r"claude-[a-z]+-(\d+)(?:-(\d+))?", DEFAULT_MODEL).groups()
    assert (int(major), int(minor or 0)) < (4, 6)


def test_default_model_sent_and_quiet(api, invoke):
    api.reply()
    r = invoke(["-p", "The answer is (", "Q?"])
    assert (r.code, r.stderr) == (0, "")
    assert api.bodies()[0]["model"] == DEFAULT_MODEL


# -- 9. server tools and pause_turn -----------------------------------------------------------

SEARCH_CALL = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
               "input": {"query": "ants"}}
SEARCH_RESULT = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
    {"type": "web_search_result", "url": "https://example.com/a", "title": "A",
     "encrypted_content": "e", "page_age": None}]}
CITE = {"type": "web_search_result_location", "url": "https://example.com/a", "title": "A",
        "cited_text": "Ants are insects", "encrypted_index": "idx"}


def test_pause_turn_continued_streamed_and_saved(scripted, invoke, tmp_path):
    paused = text_stream(["Searching. "], stop_reason="pause_turn")
    done = text_stream(["Ants are insects."])
    server = scripted(sse_response([sse_body(paused)]),
                      sse_response([sse_body(done)]))
    chat = tmp_path / "chat.json"
    r = invoke(["--stream", "--web-search", "-u", "-c", str(chat), "Ants?"],
               base_url=server.url)
    assert (r.code, r.stdout) == (0, "Searching. Ants are insects.\n")
    first, second = server.json_bodies()
    assert first["tools"] == [server_tools.WEB_SEARCH] == second["tools"]
    assert second["messages"][-1] == {"role": "assistant", "content": [
        {"type": "text", "text": "Searching. "}]}
    saved = json.loads(chat.read_text())
    saved = saved["messages"] if isinstance(saved, dict) else saved
    assert [b["text"] for b in saved[-1]["content"]] == ["Searching. ", "Ants are insects."]
    assert "input_tokens=14" in r.stderr  # the parts' usage summed (7 + 7)


def test_pause_turn_with_prefill_resends_it_once(api, invoke):
    api.expect_ordered_request("/v1/messages").respond_with_json(
        message(" (C", stop_reason="pause_turn"))
    api.expect_ordered_request("/v1/messages").respond_with_json(message(")"))
    r = invoke(["-p", "The answer is", "Q?"])
    assert (r.code, r.stdout) == (0, "The answer is (C)\n")
    second = api.bodies()[1]["messages"]
    assert second[-1] == {"role": "assistant", "content": [
        {"type": "text", "text": "The answer is"}, {"type": "text", "text": " (C"}]}
    assert len(second) == 2


def test_unpaired_server_tool_use_dropped_on_continuation():
    content = [{"type": "text", "text": "a"}, SEARCH_CALL, SEARCH_RESULT,
               dict(SEARCH_CALL, id="srvtoolu_2")]
    assert server_tools.paired(content) == content[:3]
    merged = server_tools.merge({"content": content}, {"content": [SEARCH_CALL]})
    assert merged["content"] == content[:3] + [SEARCH_CALL]


def test_citations_as_json_lines(api, invoke):
    api.reply(message(content=[{"type": "text", "text": "Ants are insects.",
                                "citations": [CITE]}, {"type": "text", "text": " Yes."}]))
    r = invoke(["--web-search", "--citations", "Ants?"])
    assert (r.code, r.stdout) == (0, "Ants are insects. Yes.\n")
    line, = r.stderr.splitlines()
    assert json.loads(line) == {"citation": 1, "type": "web_search_result_location",
                                "url": "https://example.com/a", "title": "A",
                                "cited_text": "Ants are insects",
                                "text": "Ants are insects."}


def test_pause_turn_note_matches_the_bound():
    assert f"{server_tools.MAX_CONTINUATIONS} continuations" in \
        status.STOP_REASONS["pause_turn"][1]
    assert f"{server_tools.MAX_CONTINUATIONS} continuations" in \
        status.EXIT_STATUS_MEANINGS[status.ExitStatus.PAUSE_TURN]


def test_retry_after_within_the_deadline_is_waited(invoke, scripted):
    server = scripted(rate_limited(1), plain_response("200 OK", message("after the wait")))
    r = invoke(["--deadline", "30", "Hi"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "after the wait\n")
    assert len(server.requests) == 2


def test_verbose_retry_line_shows_the_time_left(invoke, scripted):
    server = scripted(rate_limited(0.01), plain_response("200 OK", message()))
    r = invoke(["-v", "--deadline", "60", "Hi"], base_url=server.url)
    assert r.code == 0
    assert re.search(r"retrying in 0\.01 s \(attempt 2, \d+\.\d s left before --deadline\)",
                     r.stderr)


def test_list_models_to_a_file_and_dry_run(api, invoke, tmp_path):
    serve_models(api)
    out = tmp_path / "models.jsonl"
    assert invoke(["--list-models", "-o", str(out)]).code == 0
    assert len(out.read_text().splitlines()) == 4
    api.clear()
    r = invoke(["--list-models", "--dry-run"])
    assert r.code == 0 and len(api.log) == 0
    assert r.stdout.startswith(f"GET {api.base}/v1/models?lifecycle%5B%5D=active&"
                               "lifecycle%5B%5D=deprecated&lifecycle%5B%5D=retired&"
                               "limit=1000\n")
    assert FAKE_KEY not in r.stdout


def test_parts_of_a_paused_turn_sum_their_usage():
    first = {"content": [{"type": "text", "text": "a"}], "usage": {
        "input_tokens": 5, "output_tokens": 1, "server_tool_use": {"web_search_requests": 1},
        "service_tier": "standard"}}
    later = {"content": [{"type": "text", "text": "b"}], "stop_reason": "end_turn", "usage": {
        "input_tokens": 9, "output_tokens": 2, "server_tool_use": {"web_search_requests": 2},
        "service_tier": "standard"}}
    merged = server_tools.merge(first, later)
    assert merged["usage"] == {"input_tokens": 14, "output_tokens": 3,
                               "server_tool_use": {"web_search_requests": 3},
                               "service_tier": "standard"}
    assert [b["text"] for b in merged["content"]] == ["a", "b"]
    assert merged["stop_reason"] == "end_turn"


def test_terminal_line_shows_what_is_left_of_the_deadline():
    """The shell's waiting line (msgcli.output.progress), given --deadline by the transport."""
    from msgcli.output.progress import Waiting

    now = [100.0]
    waiting = Waiting(types.SimpleNamespace(is_terminal=lambda: False), "claude-x",
                      started=100.0, run_deadline=130.0, clock=lambda: now[0])
    now[0] = 112.0
    assert waiting.text() == "waiting for claude-x\u2026 12s, 18s left of --deadline"
    waiting.retrying(HTTPResponse(status=429), None, 8, 2, 3)
    assert waiting.text() == "rate limited (429), retrying in 8s, attempt 2/3, " \
        "18s left of --deadline"
    assert Waiting(None, "m", started=0, clock=lambda: 5).text() == "waiting for m\u2026 5s"


def test_cache_breakpoints_from_the_environment(api, invoke):
    api.reply()
    r = invoke(["-s", "Rules.", "Hi"], env={"MSGCLI_CACHE_BREAKPOINT": "system\ndocuments\n"})
    assert r.code == 0
    assert api.bodies()[0]["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_a_deadline_already_spent_stops_at_once():
    """As after waiting out another run's lock on the conversation file."""
    from msgcli.wire.waits import DeadlineReached, alarm

    reached = []
    with pytest.raises(DeadlineReached):
        with alarm(-0.5):
            reached.append(True)
    assert reached == []


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_could_begin_a_key_still_gets_its_newline(api, invoke, scripted,
                                                                 tmp_path, stream):
    """'s' may begin the key (sk-ant-...), so it is held back until the end; the
    newline rule must still see it (found by test_fast_path's hypothesis run)."""
    server = scripted(sse_response([sse_body(text_stream(["s"]))]) if stream
                      else plain_response("200 OK", message("s")))
    args = ["--stream"] if stream else []
    assert invoke([*args, "Hi"], base_url=server.url).stdout == "s\n"
    out = tmp_path / "answer.txt"
    assert invoke([*args, "-o", str(out), "Hi"], base_url=server.url).code == 0
    assert out.read_text() == "s\n"
