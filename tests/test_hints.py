"""Hints for the 400s of newer models: the API's own words, then the flag to change
(in a reply and in a stream's error event)."""

import pytest

from msgcli.api import hints
from tests.conftest import error_body
from tests.support.scripted_server import sse_response
from tests.support.sse import sse_body, text_stream

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
