"""The models: --list-models (pages, its cache, -o and --dry-run), the lifecycle notes
on a deprecated or retired model, model completion from the cache, and the default
model."""

import json
import os
import re
import time
import typing

import anthropic

from msgcli.api import models
from msgcli.cli.options import DEFAULT_MODEL
from msgcli.cli.params import ModelName
from tests.conftest import FAKE_KEY, message


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
