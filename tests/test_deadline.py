"""--deadline bounds every mode (issue 22): --jsonl against replies that trickle in a
byte at a time, and --batch --wait on a batch that never ends. Each run is a real
process with a timeout, so a regression fails rather than hangs."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, assert_no_secret, clean_env
from tests.support.batch_server import BatchEngine
from tests.support.many_server import last_text

BOUND = 60  # seconds: far past any deadline below, short of a hung test run


def run(args, base_url, stdin):
    proc = subprocess.run([sys.executable, "-m", "msgcli", *args], input=stdin,
                          capture_output=True, timeout=BOUND, cwd=REPO,
                          env=clean_env(base_url))
    assert_no_secret(proc.stdout, proc.stderr)
    assert proc.returncode != 1, proc.stderr  # internal error
    return proc


def lines(*texts):
    return "".join(json.dumps(t) + "\n" for t in texts).encode()


@pytest.mark.parametrize("trickle_headers", [False, True], ids=["body", "headers"])
def test_jsonl_deadline_cuts_trickling_replies_and_resumes_them(many, tmp_path,
                                                               trickle_headers):
    # -P 2: both workers end up in a trickling reply, so the last three lines are
    # never sent
    texts = ["slow1", "p2", "slow3", "p4", "p5", "p6"]
    server = many(trickle=lambda body: last_text(body).startswith("slow"),
                  trickle_headers=trickle_headers)
    out = tmp_path / "results.jsonl"
    first = run(["--jsonl", "-P", "2", "--deadline", "3", "-o", str(out)], server.url,
                lines(*texts))
    sent_first = server.texts()
    assert first.returncode == 9, first.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["custom_id"] for r in got] == ["1", "2", "3", "4", "5", "6"]
    status = {texts[int(r["custom_id"]) - 1]: r for r in got}
    for text in ("slow1", "slow3"):  # cut in flight
        assert status[text]["status"] == 14
        assert status[text]["error"]["type"] == "network_error"
        # the deadline's own line ("... the request was cut"), or the worker's, had
        # the cut reached it first: both say why
        assert "--deadline reached" in status[text]["error"]["message"]
    for text in ("p4", "p5", "p6"):  # never sent
        assert status[text]["status"] == 14
        assert "--deadline reached" in status[text]["error"]["message"]
        assert "before the request was sent" in status[text]["error"]["message"]
        assert text not in sent_first
    redo = {t for t, r in status.items() if r["status"] != 0}
    assert {"slow1", "slow3", "p4", "p5", "p6"} <= redo

    # the same command again, with a server that answers at once: exactly the lines
    # with status 14 are sent again, and the file ends with every line answered
    again = many()
    second = run(["--jsonl", "-P", "2", "--deadline", "30", "-o", str(out)], again.url,
                 lines(*texts))
    sent_again = again.texts()
    assert second.returncode == 0, second.stderr
    assert sorted(sent_again) == sorted(redo)
    final = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["custom_id"] for r in final] == ["1", "2", "3", "4", "5", "6"]
    assert all(r["status"] == 0 for r in final)


def test_jsonl_deadline_to_stdout_gives_every_line_a_result(many):
    server = many(trickle=lambda body: True)
    r = run(["--jsonl", "-P", "1", "--deadline", "2"], server.url, lines("a", "b", "c"))
    assert r.returncode == 9, r.stderr
    got = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [(x["custom_id"], x["status"]) for x in got] == [("1", 14), ("2", 14), ("3", 14)]
    assert server.texts() == ["a"]
    assert "3 of 3 requests did not complete" in r.stderr.decode()


def test_batch_wait_deadline_leaves_the_batch_running_and_says_how_to_collect(api):
    engine = BatchEngine(api, polls=10**6)
    r = run(["--jsonl", "--batch", "--wait", "--deadline", "3"], engine.base,
            lines("What is 2+2?", "Hello"))
    err = r.stderr.decode()
    assert r.returncode == 19, err
    assert r.stdout == b""
    assert err.startswith("msgcli: submitted batch msgbatch_0001 (2 requests)\n")
    assert "--deadline reached" in err
    assert "nothing was canceled" in err
    assert "msgcli --batch-results msgbatch_0001 --wait" in err
    assert engine.paths("POST") == ["/v1/messages/batches"]  # no cancel
    assert len(err.strip().splitlines()) == 2


def test_batch_results_wait_deadline_exits_19(api):
    engine = BatchEngine(api, polls=10**6)
    a = engine.add([{"custom_id": "1", "params": {"model": "m", "max_tokens": 5,
                                                  "messages": [{"role": "user",
                                                                "content": "x"}]}}])
    r = run(["--batch-results", a, "--wait", "--deadline", "2"], engine.base, b"")
    err = r.stderr.decode()
    assert r.returncode == 19, err
    assert f"msgcli --batch-results {a} --wait" in err
    assert engine.paths("POST") == []
