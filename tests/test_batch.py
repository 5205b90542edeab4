"""The Message Batches modes against a local batch engine (tests/batch_server.py):
--batch-status, --batch-cancel, --batch-list, --batch-results [--wait], and
--jsonl --batch [--wait], with result lines as --jsonl writes them."""

import json

import pytest

from msgcli import batch_run
from tests.batch_server import BatchEngine, answer, errored
from tests.conftest import message


@pytest.fixture
def engine(api):
    return BatchEngine(api)


@pytest.fixture
def waits(monkeypatch):
    """The poll waits msgcli asks for, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(batch_run, "sleep", recorded.append)
    return recorded


def lines(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def requests_for(custom_ids):
    return [{"custom_id": c, "params": {"model": "m", "max_tokens": 5,
                                        "messages": [{"role": "user", "content": c}]}}
            for c in custom_ids]


def mixed(custom_id, params):
    """succeeded, errored, canceled and expired, by the custom_id's last digit."""
    kind = int(custom_id) % 5
    if kind == 1:
        return errored("rate_limit_error", "slow down")
    if kind == 2:
        return {"type": "canceled"}
    if kind == 3:
        return {"type": "expired"}
    if kind == 4:
        return {"type": "succeeded", "message": message("cut", stop_reason="max_tokens")}
    return answer(custom_id, params)


def test_status_prints_one_json_line_per_batch(invoke, engine):
    a, b = engine.add(requests_for(["1"])), engine.add(requests_for(["1", "2"]), ended=True)
    r = invoke(["--batch-status", a, b])
    assert r.code == 0, r
    shown = lines(r.stdout)
    assert [s["id"] for s in shown] == [a, b]
    assert [s["processing_status"] for s in shown] == ["in_progress", "ended"]
    assert r.stderr == ""


def test_ids_can_come_from_stdin_as_ids_or_batch_objects(invoke, engine):
    a, b = engine.add(requests_for(["1"])), engine.add(requests_for(["2"]))
    piped = json.dumps({"id": a, "type": "message_batch"}) + "\n" + b + "\n\n"
    r = invoke(["--batch-status"], input=piped.encode())
    assert [s["id"] for s in lines(r.stdout)] == [a, b]


@pytest.mark.parametrize("bad", ["../../v1/messages", "msgbatch_1?x=1", "a b"])
def test_a_batch_id_that_could_change_the_path_is_refused(invoke, engine, bad):
    r = invoke(["--batch-status", bad])
    assert r.code == 2, r
    assert "is not a batch id" in r.stderr
    assert engine.calls == []


def test_unknown_batch_is_the_api_error(invoke, engine):
    r = invoke(["--batch-status", "msgbatch_nope"])
    assert r.code == 10, r
    assert "not_found_error" in r.stderr and r.stderr.count("\n") == 1


def test_cancel(invoke, engine):
    a = engine.add(requests_for(["1", "2"]))
    r = invoke(["--batch-cancel", a])
    assert r.code == 0, r
    assert lines(r.stdout)[0]["processing_status"] == "canceling"
    assert engine.paths("POST") == [f"/v1/messages/batches/{a}/cancel"]
    assert engine.calls[0][3] == b""


def test_list_follows_every_page(invoke, api):
    engine = BatchEngine(api, limit=2)
    made = [engine.add(requests_for(["1"])) for _ in range(5)]
    r = invoke(["--batch-list"])
    assert r.code == 0, r
    assert [b["id"] for b in lines(r.stdout)] == list(reversed(made))
    queries = [q for m, p, q, _ in engine.calls]
    assert len(queries) == 3 and "after_id=" not in queries[0]
    assert f"after_id={made[1]}" in queries[2]


def test_results_of_an_unfinished_batch_is_exit_19(invoke, engine):
    a = engine.add(requests_for(["1", "2"]))
    r = invoke(["--batch-results", a])
    assert r.code == 19, r
    assert r.stdout == ""
    assert f"batch {a} has not ended yet" in r.stderr and "--wait" in r.stderr


def test_results_in_line_order_with_every_outcome(invoke, engine):
    ids = [str(n) for n in range(1, 21)]
    engine.outcome = mixed
    a = engine.add(requests_for(ids), ended=True)
    raw = engine.batches[a]["results"]
    assert [item["custom_id"] for item in raw] != ids, "the engine should shuffle"
    r = invoke(["--batch-results", a])
    assert r.code == 9, r
    got = lines(r.stdout)
    assert [g["custom_id"] for g in got] == ids
    by_kind = {}
    for g in got:
        by_kind.setdefault(int(g["custom_id"]) % 5, g)
    assert by_kind[0] == {"custom_id": "5", "status": 0, "stop_reason": "end_turn",
                          "text": "answer 5", "usage": {"input_tokens": 10,
                                                        "output_tokens": 5},
                          "error": None, "request_id": None}
    assert by_kind[1]["status"] == 12
    assert by_kind[1]["error"] == {"type": "rate_limit_error", "message": "slow down",
                                   "http_status": None}
    assert by_kind[1]["request_id"] == "req_b1"
    assert (by_kind[2]["status"], by_kind[2]["error"]["type"]) == (17, "canceled")
    assert (by_kind[3]["status"], by_kind[3]["error"]["type"]) == (18, "expired")
    assert (by_kind[4]["status"], by_kind[4]["stop_reason"]) == (3, "max_tokens")


def test_results_all_succeeded_exit_0_and_json_adds_the_message(invoke, engine):
    a = engine.add(requests_for(["1", "2"]), ended=True)
    r = invoke(["--batch-results", "-j", a])
    assert r.code == 0, r
    got = lines(r.stdout)
    assert [g["message"]["content"][0]["text"] for g in got] == ["answer 1", "answer 2"]


def test_results_with_ids_msgcli_did_not_assign_come_in_the_api_order(invoke, engine):
    names = ["zeta", "alpha", "mid-1", "b_2", "x"]
    a = engine.add(requests_for(names), ended=True)
    r = invoke(["--batch-results", a])
    api_order = [item["custom_id"] for item in engine.batches[a]["results"]]
    assert [g["custom_id"] for g in lines(r.stdout)] == api_order


def test_results_of_several_batches_batch_after_batch(invoke, engine):
    a = engine.add(requests_for(["1", "2", "3"]), ended=True)
    b = engine.add(requests_for(["4", "5"]), ended=True)
    r = invoke(["--batch-results", a, b])
    assert [g["custom_id"] for g in lines(r.stdout)] == ["1", "2", "3", "4", "5"]


def test_wait_polls_with_growing_waits_and_shows_nothing_off_a_terminal(invoke, api, waits):
    engine = BatchEngine(api, polls=5)
    a = engine.add(requests_for(["1", "2"]))
    r = invoke(["--batch-results", a, "--wait"])
    assert r.code == 0, r
    assert [g["text"] for g in lines(r.stdout)] == ["answer 1", "answer 2"]
    assert len(waits) == 4
    assert waits == sorted(waits) and waits[0] < waits[-1]
    assert r.stderr == ""


def test_wait_honours_retry_after_on_polls(invoke, api, waits):
    engine = BatchEngine(api, polls=3, retry_after=120)
    a = engine.add(requests_for(["1"]))
    assert invoke(["--batch-results", a, "--wait"]).code == 0
    assert waits and all(w >= 120 for w in waits)


def test_every_call_is_retried_on_529(invoke, api, waits, monkeypatch):
    monkeypatch.setattr("msgcli.transport.INITIAL_BACKOFF", 0.01)
    engine = BatchEngine(api, polls=1, fail_first=True)
    a = engine.add(requests_for(["1"]))
    r = invoke(["-v", "--batch-results", a, "--wait"])
    assert r.code == 0, r
    assert engine.paths().count(f"/v1/messages/batches/{a}") == 2
    assert engine.paths().count(f"/v1/messages/batches/{a}/results") == 2
    assert r.stderr.count("HTTP 529") == 2
    assert f"GET {engine.base}/v1/messages/batches/{a}/results" in r.stderr


def test_a_results_url_on_another_host_is_not_sent_the_key(invoke, engine):
    a = engine.add(requests_for(["1"]), ended=True)
    engine.batches[a]["object"]["results_url"] = "https://elsewhere.example/results"
    r = invoke(["--batch-results", a])
    assert r.code == 13, r
    assert "does not send the key elsewhere" in r.stderr
    assert all("elsewhere" not in p for p in engine.paths())


def test_dry_run_shows_the_calls_without_the_key(invoke, engine):
    r = invoke(["--dry-run", "--batch-cancel", "msgbatch_1"])
    assert r.code == 0, r
    assert r.stdout.startswith(f"POST {engine.base}/v1/messages/batches/msgbatch_1/cancel\n")
    assert "x-api-key: [REDACTED]" in r.stdout
    assert engine.calls == []


@pytest.mark.parametrize("args, complaint", [
    (["--wait", "Hi"], "--wait goes with --batch or --batch-results"),
    (["--batch-status", "--batch-list"], "not several"),
    (["--batch-list", "msgbatch_1"], "takes no batch ids"),
    (["--batch-results", "--stream", "msgbatch_1"], "--stream does not go with"),
])
def test_usage_errors(invoke, engine, args, complaint):
    r = invoke(args)
    assert r.code == 2, r
    assert complaint in r.stderr
    assert engine.calls == []
