"""--show-thinking: the thinking streamed to stderr, and the display it asks for,
whether thinking comes from --thinking or from a request file."""

import json

from tests.support.sse import sse_body, text_stream


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
