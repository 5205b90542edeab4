"""--api-version 2026-10-21: what it rejects is refused locally, with the flag or file
that set it; what it accepts is sent (x-api-key included); 2023-06-01 still sends
sampling parameters."""

import json

import pytest

from tests.conftest import FAKE_KEY

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
