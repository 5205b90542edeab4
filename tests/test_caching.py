"""Prompt caching: --cache and --cache-ttl, --cache-breakpoint (flag and environment),
a pre-warm with -t 0, and breakpoints kept out of the saved conversation."""

import pytest

from tests.conftest import CACHED_USAGE, message


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


def test_cache_breakpoints_from_the_environment(api, invoke):
    api.reply()
    r = invoke(["-s", "Rules.", "Hi"], env={"MSGCLI_CACHE_BREAKPOINT": "system\ndocuments\n"})
    assert r.code == 0
    assert api.bodies()[0]["system"][0]["cache_control"] == {"type": "ephemeral"}
