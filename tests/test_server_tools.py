"""Server tools: --web-search, pause_turn continued (streamed, with a prefill, saved),
unpaired server tool calls dropped, the usage of a paused turn's parts summed, and
--citations as JSON lines."""

import json

from msgcli import status
from msgcli.api import server_tools
from tests.conftest import FAKE_KEY, assert_no_secret, message
from tests.support.scripted_server import sse_response
from tests.support.sse import sse_body, text_stream

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


def test_a_key_split_across_the_parts_of_a_paused_turn_is_redacted(scripted, invoke):
    """The text of one part may end with the start of a key that the continuation
    ends: the hold-back lasts across the parts, as it does across deltas."""
    cut = len(FAKE_KEY) // 2
    paused = text_stream([f"Key: {FAKE_KEY[:cut]}"], stop_reason="pause_turn")
    done = text_stream([f"{FAKE_KEY[cut:]} end."])
    server = scripted(sse_response([sse_body(paused)]), sse_response([sse_body(done)]))
    r = invoke(["--stream", "--web-search", "Key?"], base_url=server.url)
    assert (r.code, r.stdout) == (0, "Key: [REDACTED] end.\n")
    assert_no_secret(r.stdout, r.stderr)


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


def test_pause_turn_note_matches_the_bound():
    assert f"{server_tools.MAX_CONTINUATIONS} continuations" in \
        status.STOP_REASONS["pause_turn"][1]
    assert f"{server_tools.MAX_CONTINUATIONS} continuations" in \
        status.EXIT_STATUS_MEANINGS[status.ExitStatus.PAUSE_TURN]


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
