"""The Message Batches modes against a local batch engine (tests/support/batch_server.py):
--batch-status, --batch-cancel, --batch-list, --batch-results [--wait], and
--jsonl --batch [--wait], with result lines as --jsonl writes them."""

import json
import signal
import subprocess
import sys
import time

import pytest

from msgcli.batch import commands
from msgcli.cli.options import DEFAULT_MODEL
from tests.conftest import REPO, assert_no_secret, clean_env, message
from tests.support.batch_server import BatchEngine, answer, errored, full_message
from tests.support.spec import assert_valid


@pytest.fixture
def engine(api):
    return BatchEngine(api)


@pytest.fixture
def waits(monkeypatch):
    """The poll waits msgcli asks for, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(commands, "sleep", recorded.append)
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
        return {"type": "succeeded", "message": full_message("cut", "max_tokens")}
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


def test_waiting_for_an_unknown_batch_is_the_api_error_alone(invoke, engine, waits):
    r = invoke(["--batch-results", "msgbatch_nope", "--wait"])
    assert r.code == 10, r
    assert "not_found_error" in r.stderr and "--batch-results" not in r.stderr


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
                          "text": "answer 5",
                          "usage": full_message("")["usage"],  # as the API sent it
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


def test_odd_results_are_lines_not_crashes(invoke, engine):
    """A lone surrogate in a reply, a succeeded result without a message, and a
    result type the API may add later: each is a line with a status."""
    odd = {"1": {"type": "succeeded", "message": message("\ud800 half a pair")},
           "2": {"type": "succeeded"},
           "3": {"type": "deferred"}}
    engine.outcome = lambda cid, params: odd[cid]
    a = engine.add(requests_for(["1", "2", "3"]), ended=True)
    r = invoke(["--batch-results", a])
    assert r.code == 9, r
    got = lines(r.stdout)
    assert got[0]["status"] == 0 and got[0]["text"].endswith("half a pair")
    assert (got[1]["status"], got[1]["error"]["type"]) == (13, "bad_response")
    assert (got[2]["status"], got[2]["error"]["type"]) == (13, "bad_response")
    assert "deferred" in got[2]["error"]["message"]


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
    monkeypatch.setattr("msgcli.wire.transport.INITIAL_BACKOFF", 0.01)
    engine = BatchEngine(api, polls=1, fail_first=True)
    a = engine.add(requests_for(["1"]))
    r = invoke(["-v", "--batch-results", a, "--wait"])
    assert r.code == 0, r
    assert engine.paths().count(f"/v1/messages/batches/{a}") == 2
    assert engine.paths().count(f"/v1/messages/batches/{a}/results") == 2
    assert r.stderr.count("HTTP 529") == 2
    assert f"GET {engine.base}/v1/messages/batches/{a}/results" in r.stderr


def test_a_poll_that_fails_for_a_passing_reason_is_tried_again(invoke, api, waits):
    engine = BatchEngine(api, polls=2, fail_polls=3)
    a = engine.add(requests_for(["1"]))
    r = invoke(["--retries", "0", "--batch-results", a, "--wait"])
    assert r.code == 0, r
    assert lines(r.stdout)[0]["text"] == "answer 1"
    assert r.stderr.count(f"msgcli: polling {a} failed (API error HTTP 503") == 3
    assert len(waits) == 4


def test_the_wait_gives_up_after_failures_in_a_row(invoke, api, waits):
    engine = BatchEngine(api, fail_polls=10**6)
    a = engine.add(requests_for(["1"]))
    r = invoke(["--retries", "0", "--batch-results", a, "--wait"])
    assert r.code == 13, r
    assert len(engine.calls) == commands.POLL_MAX_FAILURES
    assert r.stderr.splitlines()[-1].startswith("msgcli: API error HTTP 503")
    assert r.stderr.endswith(f"nothing was canceled: get the results with msgcli "
                             f"--batch-results {a} --wait\n")


def test_dry_run_of_a_status_is_a_get(invoke, engine):
    r = invoke(["--dry-run", "--batch-status", "msgbatch_1", "msgbatch_2"])
    assert r.code == 0, r
    firsts = [line for line in r.stdout.splitlines() if " http" in line]
    assert firsts == [f"GET {engine.base}/v1/messages/batches/msgbatch_1",
                      f"GET {engine.base}/v1/messages/batches/msgbatch_2"]
    assert "content-type" not in r.stdout


def test_a_results_url_on_another_host_is_not_sent_the_key(invoke, engine):
    a = engine.add(requests_for(["1"]), ended=True)
    engine.batches[a]["object"]["results_url"] = "https://elsewhere.example/results"
    r = invoke(["--batch-results", a])
    assert r.code == 13, r
    assert "does not send the key elsewhere" in r.stderr
    assert all("elsewhere" not in p for p in engine.paths())


def test_a_relative_results_url_is_on_the_api_host(invoke, engine):
    a = engine.add(requests_for(["1"]), ended=True)
    engine.batches[a]["object"]["results_url"] = f"/v1/messages/batches/{a}/results"
    r = invoke(["--batch-results", a])
    assert r.code == 0, r
    assert lines(r.stdout)[0]["text"] == "answer 1"


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


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_while_waiting_cancels_nothing_and_says_how_to_resume(api, sig, code, word):
    engine = BatchEngine(api, polls=10**6)
    a, b = engine.add(requests_for(["1"])), engine.add(requests_for(["2"]))
    proc = subprocess.Popen([sys.executable, "-m", "msgcli", "--batch-results", a, b,
                             "--wait"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=clean_env(engine.base))
    deadline = time.monotonic() + 30
    while len(engine.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the poll answered: msgcli sleeps, no reply is left half-sent
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert_no_secret(out, err)
    assert proc.returncode == code, err
    assert out == b""
    assert err.decode().count("\n") == 1
    assert err.decode().startswith(f"msgcli: {word}; nothing was canceled: get the results "
                                   f"with msgcli --batch-results {a} {b} --wait")
    assert engine.paths("POST") == []


# -- --jsonl --batch -------------------------------------------------------------------

INPUT = "\n".join([
    json.dumps("What is 2+2?"),
    json.dumps([{"role": "user", "content": "Hello"}]),
    "",
    json.dumps({"custom_id": "ticket-7", "system": "Be terse.",
                "messages": [{"role": "user", "content": "Hi"}]}),
    json.dumps({"custom_id": "b_9", "params": {"model": "claude-haiku-4-5", "max_tokens": 9,
                                              "messages": [{"role": "user", "content": "x"}]}}),
]) + "\n"


def test_batch_submits_every_line_as_jsonl_builds_it(invoke, engine):
    r = invoke(["--jsonl", "--batch", "-t", "100"], input=INPUT.encode())
    assert r.code == 0, r
    shown = lines(r.stdout)
    assert len(shown) == 1 and shown[0]["type"] == "message_batch"
    assert shown[0]["processing_status"] == "in_progress"
    (body,) = engine.creates
    assert_valid(body, "CreateMessageBatchParams")
    reqs = body["requests"]
    assert [q["custom_id"] for q in reqs] == ["1", "2", "ticket-7", "b_9"]
    assert reqs[0]["params"] == {"model": DEFAULT_MODEL, "max_tokens": 100,
                                 "messages": [{"role": "user", "content": "What is 2+2?"}]}
    assert reqs[2]["params"]["system"] == "Be terse."
    assert reqs[3]["params"]["model"] == "claude-haiku-4-5"
    assert reqs[3]["params"]["max_tokens"] == 100  # flags apply to every line, as with -f
    assert all("stream" not in q["params"] for q in reqs)
    assert r.stderr == ""


def test_batch_params_are_what_jsonl_sends(invoke, api):
    """The oracle: the body --jsonl sends for each line is the params --batch submits."""
    flags = ["-s", "sys", "-t", "4000", "--thinking", "2048", "-S", "END", "--extra",
             '{"metadata": {"user_id": "u"}}']
    api.expect_request("/v1/messages", method="POST").respond_with_json(message())
    sent = invoke(["--jsonl", *flags], input=INPUT.encode())
    assert sent.code == 0, sent
    direct = sorted((json.loads(req.get_data()) for req, _ in api.log),
                    key=lambda b: json.dumps(b))
    api.clear_log()
    engine = BatchEngine(api)
    r = invoke(["--jsonl", "--batch", *flags], input=INPUT.encode())
    assert r.code == 0, r
    batched = sorted((q["params"] for q in engine.creates[0]["requests"]),
                     key=lambda b: json.dumps(b))
    assert batched == [{k: v for k, v in b.items() if k != "stream"} for b in direct]
    assert_valid(engine.creates[0], "CreateMessageBatchParams")


@pytest.mark.parametrize("count, sizes", [(6, [3, 3]), (7, [3, 3, 1]), (3, [3])])
def test_split_at_the_request_limit(invoke, engine, monkeypatch, count, sizes):
    monkeypatch.setattr("msgcli.api.limits.MAX_BATCH_REQUESTS", 3)
    text = "".join(json.dumps(f"prompt {n}") + "\n" for n in range(1, count + 1))
    r = invoke(["--jsonl", "--batch"], input=text.encode())
    assert r.code == 0, r
    assert [len(b["requests"]) for b in engine.creates] == sizes
    assert [b["id"] for b in lines(r.stdout)] == engine.order
    ids = [q["custom_id"] for b in engine.creates for q in b["requests"]]
    assert ids == [str(n) for n in range(1, count + 1)]
    for body in engine.creates:
        assert_valid(body, "CreateMessageBatchParams")


def test_split_at_the_size_limit(invoke, engine, monkeypatch):
    text = "".join(json.dumps("x" * 1000) + "\n" for _ in range(10))
    one = len(json.dumps({"custom_id": "10", "params": {
        "model": DEFAULT_MODEL, "max_tokens": 4096,
        "messages": [{"role": "user", "content": "x" * 1000}]}}, separators=(",", ":")))
    limit = len('{"requests":[]}') + 4 * one + 3
    monkeypatch.setattr("msgcli.api.limits.MAX_BATCH_BYTES", limit)
    r = invoke(["--jsonl", "--batch"], input=text.encode())
    assert r.code == 0, r
    assert [len(b["requests"]) for b in engine.creates] == [4, 4, 2]
    sizes = [len(body) for m, _, _, body in engine.calls if m == "POST"]
    assert all(size <= limit for size in sizes)
    assert sizes[0] > limit - 10  # full, not cut early


def test_the_100000_boundary_itself(monkeypatch):
    """At the real limit (no monkeypatch): 100,000 requests fit in one batch and
    the next one starts a second, with tiny requests to keep the test quick."""
    from msgcli.api import limits
    from msgcli.batch import endpoints as batch_endpoints

    assert limits.MAX_BATCH_REQUESTS == 100_000
    with batch_endpoints.Spool() as spool:
        for n in range(100_001):
            spool.add(str(n), [b"{}"])
        assert [len(spool.custom_ids(i)) for i in range(len(spool.batches))] == \
            [100_000, 1]
        assert len(json.loads(b"".join(spool.body(0)))["requests"]) == 100_000


@pytest.mark.parametrize("line, complaint", [
    (json.dumps({"custom_id": "has space", "messages": [{"role": "user", "content": "x"}]}),
     "line 3: custom_id 'has space' is not what the API accepts"),
    (json.dumps({"custom_id": "x" * 65, "messages": [{"role": "user", "content": "x"}]}),
     "line 3: custom_id"),
    (json.dumps({"custom_id": "1", "messages": [{"role": "user", "content": "x"}]}),
     "line 3: custom_id '1' is already the custom_id of line 1"),
    ("{not json", "line 3:"),
    (json.dumps(42), "line 3:"),
])
def test_a_bad_line_stops_everything_before_anything_is_sent(invoke, engine, line,
                                                              complaint):
    text = json.dumps("a") + "\n" + json.dumps("b") + "\n" + line + "\n" + \
        json.dumps("d") + "\n"
    r = invoke(["--jsonl", "--batch"], input=text.encode())
    assert r.code == 2, r
    assert complaint in r.stderr and r.stderr.count("\n") == 1
    assert r.stdout == ""
    assert engine.calls == []


def test_empty_input_is_exit_2(invoke, engine):
    r = invoke(["--jsonl", "--batch"], input=b"\n\n")
    assert r.code == 2, r
    assert "no requests" in r.stderr
    assert engine.calls == []


def test_batch_wait_prints_results_in_input_order(invoke, api, waits):
    engine = BatchEngine(api, polls=3)
    engine.outcome = lambda cid, params: errored() if cid == "ticket-7" else \
        answer(cid, params)
    r = invoke(["--jsonl", "--batch", "--wait"], input=INPUT.encode())
    assert r.code == 9, r
    results = lines(r.stdout)  # the result lines only, as --jsonl writes them
    assert r.stderr.startswith("msgcli: submitted batch msgbatch_0001 (4 requests)\n")
    assert [g["custom_id"] for g in results] == ["1", "2", "ticket-7", "b_9"]
    assert [g["status"] for g in results] == [0, 0, 10, 0]
    assert results[3]["text"] == "answer b_9"
    assert len(waits) == 2


def test_batch_wait_all_succeeded_exit_0_across_split_batches(invoke, api, waits,
                                                              monkeypatch):
    monkeypatch.setattr("msgcli.api.limits.MAX_BATCH_REQUESTS", 2)
    engine = BatchEngine(api, polls=2)
    names = ["zeta", "alpha", "mid", "beta", "omega"]
    text = "".join(json.dumps({"custom_id": n, "messages": [
        {"role": "user", "content": n}]}) + "\n" for n in names)
    r = invoke(["--jsonl", "--batch", "--wait"], input=text.encode())
    assert r.code == 0, r
    got = lines(r.stdout)
    assert [g["custom_id"] for g in got] == names  # input order, not the API's
    assert r.stderr.count("msgcli: submitted batch ") == 3
    assert [len(b["requests"]) for b in engine.creates] == [2, 2, 1]


def test_a_failure_after_a_batch_was_submitted_names_it(invoke, api, monkeypatch):
    monkeypatch.setattr("msgcli.api.limits.MAX_BATCH_REQUESTS", 1)
    engine = BatchEngine(api)
    text = json.dumps("a") + "\n" + json.dumps("b") + "\n"
    creates = []

    def refuse_second(request):
        creates.append(1)
        if len(creates) == 2:
            return engine._error(400, "invalid_request_error", "too many batches")
        return engine.handle(request)

    api.clear()
    api.expect_request("/v1/messages/batches", method="POST").respond_with_handler(
        refuse_second)
    r = invoke(["--jsonl", "--batch"], input=text.encode())
    assert r.code == 10, r
    assert [b["id"] for b in lines(r.stdout)] == ["msgbatch_0001"]
    assert "batch 2 of 2 was not submitted" in r.stderr
    assert "msgcli --batch-results msgbatch_0001 --wait" in r.stderr
    assert r.stderr.count("\n") == 1


def test_batch_dry_run_prints_the_create_request(invoke, engine):
    r = invoke(["--jsonl", "--batch", "--dry-run"], input=INPUT.encode())
    assert r.code == 0, r
    head, _, body = r.stdout.partition("\n\n")
    assert head.splitlines()[0] == f"POST {engine.base}/v1/messages/batches"
    assert "x-api-key: [REDACTED]" in head
    value = json.loads(body)
    assert [q["custom_id"] for q in value["requests"]] == ["1", "2", "ticket-7", "b_9"]
    assert_valid(value, "CreateMessageBatchParams")
    assert engine.calls == []


def test_batch_verbose_shows_each_call(invoke, api, waits):
    engine = BatchEngine(api, polls=1)
    r = invoke(["-v", "--jsonl", "--batch", "--wait"], input=INPUT.encode())
    assert r.code == 0, r
    assert f"POST {engine.base}/v1/messages/batches\n" in r.stderr
    assert f"GET {engine.base}/v1/messages/batches/msgbatch_0001\n" in r.stderr
    assert f"GET {engine.base}/v1/messages/batches/msgbatch_0001/results\n" in r.stderr


def test_the_engine_refuses_what_the_schema_forbids(invoke, engine):
    """The local engine validates every create body: msgcli's own are accepted
    (every test above), and one the schema forbids is refused, exit 10."""
    r = invoke(["--jsonl", "--batch", "--extra", '{"unknown_parameter": 1}'],
               input=INPUT.encode())
    assert r.code == 10, r
    assert "unknown_parameter" in r.stderr
    assert len(engine.invalid) == 1 and engine.creates == []


@pytest.mark.parametrize("args, complaint", [
    (["--batch"], "give --jsonl too"),
    (["--jsonl", "--batch", "--stream"], "--stream does not go with --batch"),
    (["--jsonl", "--batch", "-o", "out.jsonl"], "-o/--output does not go with --batch"),
    (["--jsonl", "--batch", "--batch-status"], "use one or the other"),
    (["--jsonl", "--batch", "-P", "4"], "-P/--parallel does not go with --batch"),
    (["--jsonl", "--batch", "-f", "x.json"], "--jsonl cannot be combined with -f"),
    (["--jsonl", "--batch-results", "msgbatch_1"], "--jsonl does not go with"),
])
def test_batch_usage_errors(invoke, engine, args, complaint):
    r = invoke(args, input=INPUT.encode())
    assert r.code == 2, r
    assert complaint in r.stderr
    assert engine.calls == []


def test_no_key_is_exit_11_before_submitting(invoke, engine):
    r = invoke(["--jsonl", "--batch"], input=INPUT.encode(),
               env={"ANTHROPIC_API_KEY": None})
    assert r.code == 11, r
    assert engine.calls == []


def test_progress_on_a_terminal_from_request_counts(invoke, api, waits, monkeypatch):
    monkeypatch.setattr("msgcli.output.console.Console.is_terminal", lambda self: True)
    engine = BatchEngine(api, polls=3)
    a = engine.add(requests_for(["1", "2"]))
    r = invoke(["--batch-results", a, "--wait"])
    assert r.code == 0, r
    assert "\r\x1b[Kbatches: 0/1 ended; requests: 0/2 done" in r.stderr
    assert "\r\x1b[Kbatches: 0/1 ended; requests: 1/2 done (1 succeeded)" in r.stderr
    assert "\r\x1b[Kbatches: 1/1 ended; requests: 2/2 done (2 succeeded)" in r.stderr
    assert r.stderr.endswith("\r\x1b[K")  # cleared before the results


def test_ctrl_c_while_waiting_after_a_submit(api, tmp_path):
    engine = BatchEngine(api, polls=10**6)
    source = tmp_path / "in.jsonl"
    source.write_text(INPUT)
    with open(source, "rb") as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "msgcli", "--jsonl", "--batch",
                                 "--wait"], stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=REPO, env=clean_env(engine.base))
    deadline = time.monotonic() + 30
    while len(engine.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the poll answered: msgcli sleeps, no reply is left half-sent
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert_no_secret(out, err)
    assert proc.returncode == 130, err
    assert out == b""
    assert err.decode() == ("msgcli: submitted batch msgbatch_0001 (4 requests)\n"
                            "msgcli: interrupted; nothing was canceled: get the results "
                            "with msgcli --batch-results msgbatch_0001 --wait\n")
    assert engine.paths("POST") == ["/v1/messages/batches"]


def test_results_are_read_as_they_arrive():
    """split_lines yields each line as soon as its end arrives, so a results file is
    never gathered whole (and a line split across reads is joined once)."""
    from msgcli.batch.endpoints import split_lines

    def chunks():
        yield b'{"a":1}\r\n{"b"'
        yield b":2}\n\n"
        yield b'{"c"'
        raise AssertionError("read past what the consumer asked for")

    lines_ = split_lines(chunks())
    assert next(lines_) == b'{"a":1}\r'
    assert next(lines_) == b'{"b":2}'


def test_a_results_line_over_the_limit_is_refused(monkeypatch):
    from msgcli.batch.endpoints import split_lines
    from msgcli.errors import BadResponseError

    with pytest.raises(BadResponseError, match="over"):
        list(split_lines(iter([b"x" * 60] * 3), limit=100))


def test_cancel_then_wait_gives_canceled_lines(invoke, api, waits):
    engine = BatchEngine(api, polls=10**6)
    a = engine.add(requests_for(["1", "2", "3"]))
    assert invoke(["--batch-cancel", a]).code == 0
    r = invoke(["--batch-results", a, "--wait", "-u"])
    assert r.code == 9, r
    assert [(g["custom_id"], g["status"]) for g in lines(r.stdout)] == \
        [("1", 17), ("2", 17), ("3", 17)]
    assert r.stderr == ("msgcli: usage: not reported\n"
                        "msgcli: 3 of 3 requests did not complete; each result line says why\n")


def test_usage_totals_with_u(invoke, engine):
    a = engine.add(requests_for(["1", "2"]), ended=True)
    r = invoke(["--batch-results", a, "-u"])
    assert r.code == 0, r
    assert r.stderr == "msgcli: usage: input_tokens=20 output_tokens=10\n"


def test_a_create_retried_after_529_sends_the_whole_body_again(invoke, api, monkeypatch):
    monkeypatch.setattr("msgcli.wire.transport.INITIAL_BACKOFF", 0.01)
    monkeypatch.setattr("msgcli.api.limits.MAX_BATCH_REQUESTS", 2)
    engine = BatchEngine(api, fail_first=True)
    r = invoke(["--jsonl", "--batch"], input=INPUT.encode())
    assert r.code == 0, r
    posts = [body for m, _, _, body in engine.calls if m == "POST"]
    assert len(posts) == 3  # batch 1 twice (529, then accepted), batch 2 once
    assert posts[0] == posts[1] and posts[1] != posts[2]
    assert [len(b["requests"]) for b in engine.creates] == [2, 2]


def test_a_full_temporary_disk_is_exit_2_naming_it(invoke, engine, monkeypatch):
    import errno
    import io

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("msgcli.batch.endpoints.tempfile.TemporaryFile", lambda **_: Full())
    r = invoke(["--jsonl", "--batch"], input=INPUT.encode())
    assert r.code == 2, r
    assert "cannot use a temporary file for the requests" in r.stderr
    assert "No space left on device" in r.stderr and "TMPDIR" in r.stderr
    assert engine.calls == []


def test_the_local_engine_speaks_the_spec(invoke, api):
    """What the stand-in serves is what the OpenAPI document describes: batch
    objects, list pages and every kind of results line."""
    from tests.support.spec import validator

    engine = BatchEngine(api, limit=2, outcome=mixed)
    ids = [engine.add(requests_for([str(n) for n in range(1, 6)]), ended=True)
           for _ in range(3)]
    r = invoke(["--batch-list"])
    for batch in lines(r.stdout):
        assert not list(validator("MessageBatch").iter_errors(batch))
    for batch_id in ids:
        for item in engine.batches[batch_id]["results"]:
            errors = list(validator("MessageBatchIndividualResponse").iter_errors(item))
            assert not errors, [e.message[:200] for e in errors]
    page = json.loads(api.log[-1][1].get_data())
    assert not list(validator("ListResponse_MessageBatch_").iter_errors(page))


def test_ok_counts_a_stop_reason_as_success_in_batch_results(invoke, engine):
    engine.outcome = lambda cid, params: {"type": "succeeded",
                                          "message": full_message("cut", "max_tokens")}
    a = engine.add(requests_for(["1", "2"]), ended=True)
    r = invoke(["--batch-results", a, "--ok", "max_tokens"])
    assert r.code == 0, r
    assert [g["status"] for g in lines(r.stdout)] == [0, 0]


def test_the_key_can_come_from_a_key_file(invoke, engine, tmp_path, api):
    from tests.conftest import FAKE_KEY

    key = tmp_path / "key"
    key.write_text(FAKE_KEY + "\n")
    key.chmod(0o600)
    a = engine.add(requests_for(["1"]))
    r = invoke(["--api-key-file", str(key), "--batch-status", a],
               env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0, r
    assert api.log[-1][0].headers["x-api-key"] == FAKE_KEY


def test_results_with_more_lines_than_requests_are_refused(invoke, engine):
    a = engine.add(requests_for(["1", "2"]), ended=True)
    state = engine.batches[a]
    state["results"] = state["results"] + state["results"]
    r = invoke(["--batch-results", a])
    assert r.code == 13, r
    assert "more lines than the batch has requests (2)" in r.stderr


def test_results_are_bounded_by_their_request_count_not_the_stream_cap(invoke, engine,
                                                                      monkeypatch):
    """A big batch's results outgrow the cap on one event stream: they are bounded
    per line and by the request count instead."""
    from msgcli.api import limits
    from msgcli.wire import transport

    limits_seen = []
    original = transport.Transport.iter_chunks

    def recording(self, response, size=65536, limit=limits.MAX_STREAM_BYTES):
        limits_seen.append(limit)
        return original(self, response, size, limit)

    monkeypatch.setattr(transport.Transport, "iter_chunks", recording)
    a = engine.add(requests_for([str(n) for n in range(1, 21)]), ended=True)
    r = invoke(["--batch-results", a])
    assert r.code == 0, r
    assert len(lines(r.stdout)) == 20
    assert limits_seen == [20 * (limits.MAX_RESULT_LINE_BYTES + 1)]
    assert limits_seen[0] > limits.MAX_STREAM_BYTES
