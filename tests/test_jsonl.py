"""--jsonl: many prompts in one run, against local servers (tests/support/many_server.py)."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC

import pytest

from msgcli.api.reply import ApiError
from msgcli.cli.options import DEFAULT_MODEL, Options
from msgcli.errors import InputError
from msgcli.jsonl import lines as jsonl_lines
from tests.conftest import FAKE_KEY, REPO, assert_no_secret, clean_env, message
from tests.support.many_server import last_text, reply_for

KEYS = ["custom_id", "status", "stop_reason", "text", "usage", "error", "request_id"]




def lines_of(*values):
    return "".join((v if v[:1] in "[{" else json.dumps(v)) + "\n" for v in values).encode()


def prompts(n, prefix="p"):
    return "".join(json.dumps(f"{prefix}{i}") + "\n" for i in range(1, n + 1)).encode()


def results(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def spawn(args, server, stdin, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "msgcli", *args], stdin=stdin,
                            stdout=kwargs.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, cwd=REPO,
                            env=clean_env(server.url), **kwargs)


def until(condition, proc, timeout=30):
    """Wait for `condition` while `proc` runs; fail, not hang, if it never comes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the line format (msgcli.jsonl.lines) ---------------------------------------------------

def test_read_lines_numbers_blank_lines_and_reports_bad_ones():
    data = b'"a"\n\n  \n\xff\xfe\n' + b"x" * 50 + b'\n"b"'
    got = list(jsonl_lines.read_lines(io.BytesIO(data), limit=20))
    assert [n for n, _ in got] == [1, 4, 5, 6]
    assert got[0][1] == '"a"\n' and got[3][1] == '"b"'
    for lineno, text in got[1:3]:
        with pytest.raises(InputError, match=f"line {lineno}: "):
            jsonl_lines.parse_line(text, lineno)


def test_parse_line_forms():
    text = jsonl_lines.parse_line('"ticket text"', 3, ("Classify", "it"))
    assert text.custom_id == "3" and text.history.messages == []
    assert text.turn == {"role": "user", "content": "ticket text\n\nClassify it"}
    array = jsonl_lines.parse_line('[{"role": "user", "content": "hi"}]', 4)
    assert array.history.messages == [{"role": "user", "content": "hi"}]
    assert array.turn is None
    obj = jsonl_lines.parse_line('{"custom_id": "t-1", "system": "S", "messages": '
                           '[{"role": "user", "content": "hi"}]}', 5, ("more",))
    assert obj.custom_id == "t-1" and obj.history.fields == {"system": "S"}
    assert obj.turn == {"role": "user", "content": "more"}
    batch = jsonl_lines.parse_line('{"custom_id": "b", "params": {"model": "m", "max_tokens": 9, '
                             '"messages": [{"role": "user", "content": "x"}]}}', 6)
    assert batch.custom_id == "b"
    assert batch.history.fields == {"model": "m", "max_tokens": 9}


@pytest.mark.parametrize("text, message", [
    ("{oops", "line 7: invalid JSON"),
    ("42", "line 7: expected a JSON string, messages array or request object"),
    ('""', "line 7: empty prompt"),
    ('{"custom_id": 5, "messages": []}', "line 7: custom_id must be a non-empty string"),
    ('{"custom_id": "c", "params": {}, "x": 1}', "holds only 'custom_id' and 'params'"),
    ('[{"role": "robot", "content": "x"}]', "line 7: \\[0\\].role"),
])
def test_parse_line_errors_name_the_line(text, message):
    with pytest.raises(InputError, match=message):
        jsonl_lines.parse_line(text, 7)


def test_a_bad_line_keeps_its_custom_id():
    with pytest.raises(InputError) as caught:
        jsonl_lines.parse_line('{"custom_id": "keep", "params": {"messages": "no"}}', 2)
    assert jsonl_lines.custom_id_of(caught.value, 2) == "keep"
    assert jsonl_lines.custom_id_of(InputError("x"), 2) == "2"


def test_build_request_is_what_f_builds():
    from msgcli.api import request

    line = jsonl_lines.parse_line('{"temperature": 0.1, "messages": '
                            '[{"role": "user", "content": "q"}]}', 1, ("go",))
    opts = Options(model="m2", system="S", max_tokens=7)
    built = jsonl_lines.build_request(opts, line, ("sk-ant-xxxxxxxxxxxxxxxx", None))
    direct = request.build(opts, line.history, line.turn, ("sk-ant-xxxxxxxxxxxxxxxx", None))
    assert built.body == direct.body
    assert built.body["model"] == "m2" and built.body["temperature"] == 0.1
    assert built.body["messages"][-1] == {"role": "user", "content": "go"}


def test_result_line_keys_and_error_result():
    line = jsonl_lines.result_line("a", 0, reply_for({"messages": []}, "hi"), text="hi",
                             include_message=True, request_id="req_1")
    assert list(line) == KEYS + ["message"]
    assert line["stop_reason"] == "end_turn" and line["usage"]["output_tokens"] == 5
    error = jsonl_lines.error_result("b", ApiError(12, 429, "rate_limit_error", "slow", "req_2"))
    assert list(error) == KEYS
    assert error["status"] == 12 and error["request_id"] == "req_2"
    assert error["error"] == {"type": "rate_limit_error", "message": "slow",
                              "http_status": 429}
    assert jsonl_lines.error_result("c", InputError("bad"))["error"] == {
        "type": "invalid_input", "message": "bad", "http_status": None}


# -- runs -------------------------------------------------------------------------------

def test_order_under_random_latencies(invoke, many):
    server = many(jitter=0.05)
    out = invoke(["--jsonl", "-P", "8", "Classify"], input=prompts(40), base_url=server.url)
    assert out.code == 0, out
    got = results(out.stdout)
    assert [r["custom_id"] for r in got] == [str(i) for i in range(1, 41)]
    assert [r["text"] for r in got] == [f"echo: p{i}\n\nClassify" for i in range(1, 41)]
    assert all(list(r) == KEYS and r["status"] == 0 for r in got)
    assert sorted(server.texts()) == sorted(f"p{i}\n\nClassify" for i in range(1, 41))


def test_a_bad_line_in_the_middle(invoke, many):
    server = many()
    data = prompts(3) + b"{not json\n" + b'[{"role": "user", "content": "p5"}]\n'
    out = invoke(["--jsonl", "-P", "3"], input=data, base_url=server.url)
    assert out.code == 9, out
    got = results(out.stdout)
    assert [r["status"] for r in got] == [0, 0, 0, 2, 0]
    assert got[3]["error"]["type"] == "invalid_input"
    assert got[3]["error"]["message"].startswith("line 4: invalid JSON")
    assert got[4]["text"] == "echo: p5"
    assert len(server.bodies) == 4
    assert "1 of 5 requests did not complete" in out.stderr


def test_each_line_has_the_status_of_a_single_run(invoke, many):
    def respond(body):
        text = last_text(body)
        if text == "long":
            return 200, {}, reply_for(body, "cut", stop_reason="max_tokens")
        if text == "bad":
            return 400, {}, {"type": "error", "error": {"type": "invalid_request_error",
                                                        "message": "nope"}}
        if text == "tool":
            message = reply_for(body, "calling", stop_reason="tool_use")
            message["content"].append({"type": "tool_use", "id": "t1", "name": "f",
                                       "input": {"a": 1}})
            return 200, {}, message
        return None

    server = many(respond=respond)
    out = invoke(["--jsonl", "--retries", "0"], input=lines_of("ok", "long", "bad", "tool"),
                 base_url=server.url)
    assert out.code == 9
    ok, long, bad, tool = results(out.stdout)
    assert (ok["status"], long["status"], bad["status"], tool["status"]) == (0, 3, 10, 5)
    assert long["text"] == "cut" and long["stop_reason"] == "max_tokens"
    assert bad["error"] == {"type": "invalid_request_error", "message": "nope",
                            "http_status": 400}
    assert bad["request_id"].startswith("req_") and bad["text"] is None
    assert tool["text"] == 'calling\n{"id":"t1","name":"f","input":{"a":1}}'


def test_flags_apply_to_every_line(invoke, many):
    server = many()
    data = lines_of("one", '[{"role": "user", "content": "two"}]',
                    '{"custom_id": "three", "model": "file-model", '
                    '"messages": [{"role": "user", "content": "three"}]}')
    out = invoke(["--jsonl", "-P", "1", "-m", "flag-model", "-s", "SYS", "-t", "50",
                  "--temperature", "0.5", "-p", "Answer:"], input=data, base_url=server.url)
    assert out.code == 0, out
    for body in server.bodies:
        assert (body["model"], body["system"], body["max_tokens"], body["temperature"]) \
            == ("flag-model", "SYS", 50, 0.5)
        assert body["messages"][-1] == {"role": "assistant", "content": "Answer:"}
    got = results(out.stdout)
    assert [r["custom_id"] for r in got] == ["1", "2", "three"]
    assert got[0]["text"] == "Answer:echo: Answer:"


def test_json_adds_the_message(invoke, many):
    server = many()
    out = invoke(["--jsonl", "-j"], input=lines_of("a"), base_url=server.url)
    (line,) = results(out.stdout)
    assert list(line) == KEYS + ["message"]
    assert line["message"] == reply_for({"messages": [{"role": "user", "content": "a"}],
                                         "model": DEFAULT_MODEL})
    assert line["text"] == "echo: a"


def test_stream_streams_each_request_and_writes_whole_lines(invoke, many):
    server = many()
    out = invoke(["--jsonl", "--stream"], input=prompts(3), base_url=server.url)
    assert out.code == 0, out
    assert all(body["stream"] is True for body in server.bodies)
    assert [r["text"] for r in results(out.stdout)] == ["echo: p1", "echo: p2", "echo: p3"]


def test_batches_form_custom_ids(invoke, many):
    server = many()
    data = lines_of('{"custom_id": "a-1", "params": {"max_tokens": 9, '
                    '"messages": [{"role": "user", "content": "x"}]}}',
                    '{"custom_id": "a-2", "params": {"messages": "no"}}')
    out = invoke(["--jsonl"], input=data, base_url=server.url)
    first, second = results(out.stdout)
    assert (first["custom_id"], first["status"]) == ("a-1", 0)
    assert (second["custom_id"], second["status"]) == ("a-2", 2)
    assert server.bodies[0]["max_tokens"] == 9


def test_usage_totals(invoke, many):
    server = many()
    out = invoke(["--jsonl", "-u"], input=prompts(3), base_url=server.url)
    assert "usage: input_tokens=30 output_tokens=15" in out.stderr


def test_no_credentials_is_11_before_anything_is_read(invoke, many):
    server = many()
    out = invoke(["--jsonl"], input=prompts(2), base_url=server.url,
                 env={"ANTHROPIC_API_KEY": None})
    assert out.code == 11 and server.bodies == [] and out.stdout == ""


def test_401_stops_the_run_early_with_11(invoke, many):
    def respond(body):
        if last_text(body) != "p1":
            return 401, {}, {"type": "error", "error": {"type": "authentication_error",
                                                        "message": "invalid x-api-key"}}
        return None

    server = many(respond=respond)
    out = invoke(["--jsonl", "-P", "1"], input=prompts(50), base_url=server.url)
    assert out.code == 11, out
    assert "authentication_error" in out.stderr
    got = results(out.stdout)
    assert got[0]["status"] == 0  # finished before the 401: written
    assert len(got) <= 2 and len(server.bodies) <= 3


@pytest.mark.parametrize("args", [["-f", "x.json"], ["-c", "c.json"], ["--dry-run"],
                                  ["--show-thinking"], ["-i", "-"], ["--no-stdin"]])
def test_usage_errors(invoke, many, args):
    out = invoke(["--jsonl", *args], input=prompts(1), base_url=many().url)
    assert out.code == 2 and "--jsonl cannot be combined" in out.stderr


def test_parallel_needs_jsonl(invoke):
    out = invoke(["-P", "4", "hi"])
    assert out.code == 2 and "-P/--parallel needs --jsonl" in out.stderr


def test_shared_backoff_counted_at_the_server(invoke, many):
    """One 429 (retry-after: 2 s) pauses every worker. The server answers its first
    request with a 429, and again any request that comes 0.5 to 1.7 s later (what was
    already in flight comes sooner): it must see no second 429. Workers that each
    backed off on their own would be back within 0.1 s."""
    state = {}

    def respond(body):
        now = time.monotonic()
        first = "closed" not in state
        if first or state["closed"] + 0.5 < now < state["closed"] + 1.7:
            state.setdefault("closed", now)
            return 429, {"retry-after": "2"}, {"type": "error", "error": {
                "type": "rate_limit_error", "message": "slow down"}}
        return None

    server = many(latency=0.05, respond=respond)
    out = invoke(["--jsonl", "-P", "4", "--retries", "3"], input=prompts(60),
                 base_url=server.url)
    assert out.code == 0, out
    assert server.statuses.count(429) == 1, server.statuses
    assert len(server.bodies) == 61


def test_ratelimit_headers_space_requests():
    from datetime import datetime, timedelta

    from msgcli.wire.ratelimit import Gate

    gate = Gate(4)
    reset = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    assert gate.try_send() == 0
    gate.observe(200, {"anthropic-ratelimit-requests-limit": "10",
                       "anthropic-ratelimit-requests-remaining": "2",
                       "anthropic-ratelimit-requests-reset": reset})
    # two remain, one is kept back (the server may take requests out of order)
    assert [gate.try_send() == 0 for _ in range(2)] == [True, False]
    gate.observe(429, {}, wait=1.5)
    gate.observe(529, {}, wait=0.5)  # within the first closure: nothing new
    gate.observe(529, {}, wait=3)
    assert gate.closures == 2
    gate.observe(500, {}, wait=9)  # a server error is this request's alone
    assert gate.closures == 2


def test_output_file_and_rerun_sends_only_what_failed_or_changed(invoke, many, tmp_path):
    failing = {"p3"}

    def respond(body):
        if last_text(body) in failing:
            return 500, {}, {"type": "error", "error": {"type": "api_error",
                                                        "message": "boom"}}
        return None

    server = many(respond=respond)
    path = tmp_path / "out.jsonl"
    args = ["--jsonl", "-P", "2", "--retries", "0", "-o", str(path)]
    first = invoke(args, input=prompts(5), base_url=server.url)
    assert first.code == 9 and first.stdout == ""
    assert [r["status"] for r in results(path.read_text())] == [0, 0, 13, 0, 0]
    failing.clear()
    server.bodies.clear()
    second = invoke(args, input=prompts(5), base_url=server.url)
    assert second.code == 0, second
    assert server.texts() == ["p3"]
    assert [r["text"] for r in results(path.read_text())] == \
        [f"echo: p{i}" for i in range(1, 6)]
    # a changed line is redone; so is every line when a flag changes
    server.bodies.clear()
    changed = prompts(5).replace(b'"p4"', b'"p4 changed"')
    assert invoke(args, input=changed, base_url=server.url).code == 0
    assert server.texts() == ["p4 changed"]
    server.bodies.clear()
    assert invoke(args + ["-m", "other"], input=changed, base_url=server.url).code == 0
    assert len(server.bodies) == 5
    assert len(path.read_text().splitlines()) == 5


def test_resume_after_sigkill_resends_nothing_that_succeeded(many, tmp_path):
    server = many(latency=0.05)
    path = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(200))
    with open(source, "rb") as stdin:
        proc = spawn(["--jsonl", "-P", "4", "-o", str(path)], server, stdin)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                (not path.exists() or path.read_bytes().count(b"\n") < 20):
            time.sleep(0.02)
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done_before = {r["text"][len("echo: "):] for r in results(path.read_text())
                   if r["status"] == 0}
    assert len(done_before) >= 20
    with open(source, "rb") as stdin:
        again = spawn(["--jsonl", "-P", "4", "-o", str(path)], server, stdin)
        out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    counts = Counter(server.texts())
    assert all(counts[text] == 1 for text in done_before), \
        [t for t in done_before if counts[t] != 1]
    final = results(path.read_text())
    assert [r["custom_id"] for r in final] == [str(i) for i in range(1, 201)]
    assert all(r["status"] == 0 for r in final)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_writes_finished_results(many, tmp_path, sig, code):
    server = many(latency=0.1)
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(500))
    with open(source, "rb") as stdin:
        proc = spawn(["--jsonl", "-P", "2"], server, stdin)
        until(lambda: len(server.bodies) >= 6, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert_no_secret(out, err)
    got = results(out.decode())
    assert 4 <= len(got) < 500
    assert [r["custom_id"] for r in got] == [str(i) for i in range(1, len(got) + 1)]
    assert all(r["status"] == 0 for r in got)
    # the requests in flight were finished and written, nothing after them was sent
    assert len(server.bodies) <= len(got) + 2


def test_memory_stays_flat_with_the_input(many, tmp_path):
    """Peak RSS for 20,000 lines is about that for 2,000: nothing grows per line."""
    server = many()
    peaks = []
    for n in (2_000, 20_000):
        source = tmp_path / f"in-{n}.jsonl"
        source.write_bytes(prompts(n))
        probe = ("import resource, subprocess, sys;"
                 "subprocess.run([sys.executable, '-m', 'msgcli', '--jsonl', '-P', '16'],"
                 f" stdin=open({str(source)!r}, 'rb'), stdout=subprocess.DEVNULL, check=True);"
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, cwd=REPO,
                              env=clean_env(server.url), timeout=300)
        assert proc.returncode == 0, proc.stderr
        peaks.append(int(proc.stdout) / 1024)
    assert peaks[1] - peaks[0] < 8, peaks


def test_progress_only_on_a_terminal(invoke, many):
    out = invoke(["--jsonl"], input=prompts(2), base_url=many().url)
    assert "\r" not in out.stderr and out.stderr == ""


def test_env_var_for_parallel(invoke, many):
    server = many()
    out = invoke(["--jsonl"], input=prompts(3), base_url=server.url,
                 env={"MSGCLI_PARALLEL": "2"})
    assert out.code == 0 and len(results(out.stdout)) == 3
    assert os.environ.get("MSGCLI_PARALLEL") is None


def test_a_second_interrupt_abandons_the_requests_in_flight(many, tmp_path):
    def respond(body):
        if last_text(body) == "p3":
            server.closed.wait(30)  # never answered in time
        return None

    server = many(respond=respond)
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(3))
    path = tmp_path / "out.jsonl"
    with open(source, "rb") as stdin:
        proc = spawn(["--jsonl", "-P", "3", "-o", str(path)], server, stdin)
        until(lambda: path.exists() and path.read_bytes().count(b"\n") >= 2, proc)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert [r["custom_id"] for r in results(path.read_text())] == ["1", "2"]


def test_two_runs_on_one_output_file_are_refused(many, tmp_path):
    second_done = threading.Event()

    def respond(body):
        second_done.wait(30)  # the first run is mid-request until the second has ended
        return None

    server = many(respond=respond)
    path = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(2))
    with open(source, "rb") as stdin:
        first = spawn(["--jsonl", "-o", str(path)], server, stdin)
        until(lambda: server.bodies, first)
        try:
            with open(source, "rb") as again:
                second = subprocess.run([sys.executable, "-m", "msgcli", "--jsonl", "-o",
                                         str(path)], stdin=again, capture_output=True,
                                        cwd=REPO, env=clean_env(server.url), timeout=30)
        finally:
            second_done.set()
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert b"is being written by another msgcli run" in second.stderr
    assert first.returncode == 0


def test_a_torn_or_foreign_output_file_is_redone_not_trusted(invoke, many, tmp_path):
    server = many()
    path = tmp_path / "out.jsonl"
    path.write_text('{"custom_id": "1", "status": 0, "text": "from elsewhere"}\n')
    args = ["--jsonl", "-o", str(path)]
    assert invoke(args, input=prompts(3), base_url=server.url).code == 0
    assert len(server.bodies) == 3  # no FILE.resume vouched for the old line
    assert [r["text"] for r in results(path.read_text())] == \
        ["echo: p1", "echo: p2", "echo: p3"]
    # a crash tore the last result: that line alone is sent again
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    server.bodies.clear()
    assert invoke(args, input=prompts(3), base_url=server.url).code == 0
    assert server.texts() == ["p3"]
    assert len(results(path.read_text())) == 3


def test_progress_line_on_a_terminal():
    from msgcli.jsonl.tally import Tally

    class Terminal:
        lines = []

        def is_terminal(self):
            return True

        def status(self, text):
            self.lines.append(text)

    tally = Tally(Terminal(), total=10)
    tally.sent_one({"input_tokens": 1200, "output_tokens": 30})
    tally.written(0)
    tally.written(3)
    tally.show()
    (line,) = Terminal.lines
    assert line.startswith("2/10 done, 1 failed, tokens 1,200 in / 30 out, ")
    assert "req/s, ETA " in line


def test_count_tokens_lines(invoke, many):
    def respond(body):
        return 200, {}, {"input_tokens": 42}

    server = many(respond=respond)
    out = invoke(["--jsonl", "--count-tokens"], input=prompts(2), base_url=server.url)
    assert out.code == 0, out
    assert [(r["status"], r["text"]) for r in results(out.stdout)] == [(0, "42"), (0, "42")]


def test_a_closed_stdout_stops_the_run_quietly_with_141(many, tmp_path):
    server = many()
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(5000))
    with open(source, "rb") as stdin:
        proc = spawn(["--jsonl", "-P", "4"], server, stdin)
        proc.stdout.readline()
        proc.stdout.close()
        proc.wait(timeout=60)
        err = proc.stderr.read()
    assert proc.returncode == 141 and err == b""
    assert len(server.bodies) < 5000


def test_ratelimit_headers_keep_a_run_under_the_limit(invoke, many):
    """A server allowing 20 requests/s (a bucket of 20) that says so in its
    anthropic-ratelimit-* headers: the run slows down before the limit instead of
    collecting 429s."""
    server = many(rate=20)
    out = invoke(["--jsonl", "-P", "8", "--retries", "10"], input=prompts(60),
                 base_url=server.url)
    assert out.code == 0, out
    assert server.statuses.count(429) <= 3, server.statuses.count(429)
    assert server.statuses.count(200) == 60


def test_ok_counts_per_line(invoke, many):
    def respond(body):
        return 200, {}, reply_for(body, "cut", stop_reason="max_tokens")

    server = many(respond=respond)
    out = invoke(["--jsonl", "--ok", "max_tokens"], input=prompts(2), base_url=server.url)
    assert out.code == 0, out
    assert [(r["status"], r["stop_reason"]) for r in results(out.stdout)] == \
        [(0, "max_tokens"), (0, "max_tokens")]


def test_each_request_counts_its_own_attempts(invoke, many):
    """Retries are per request: a line that fails three times says so, while the
    lines around it, sent on other threads, succeed at their first attempt."""
    def respond(body):
        if last_text(body) == "p3":
            return 503, {"retry-after-ms": "10"}, {"type": "error", "error": {
                "type": "api_error", "message": "down"}}
        return None

    server = many(respond=respond)
    out = invoke(["--jsonl", "-P", "4", "--retries", "2"], input=prompts(8),
                 base_url=server.url)
    assert out.code == 9
    got = results(out.stdout)
    assert [r["status"] for r in got] == [0, 0, 13, 0, 0, 0, 0, 0]
    assert got[2]["error"]["http_status"] == 503
    assert Counter(server.texts())["p3"] == 3
    assert len(server.bodies) == 10


def test_output_through_a_symlink_and_never_a_device(invoke, many, tmp_path):
    server = many()
    target = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert invoke(["--jsonl", "-o", str(link)], input=prompts(2), base_url=server.url).code == 0
    assert link.is_symlink() and len(results(target.read_text())) == 2
    server.bodies.clear()
    assert invoke(["--jsonl", "-o", str(link)], input=prompts(2), base_url=server.url).code == 0
    assert link.is_symlink() and server.bodies == []  # resumed through the link
    out = invoke(["--jsonl", "-o", "/dev/null"], input=prompts(1), base_url=server.url)
    assert out.code == 2 and "not a regular file" in out.stderr and server.bodies == []


def test_jsonl_results_get_an_echoed_key_redacted(api, invoke):
    api.reply(message(text=f"echo {FAKE_KEY} done"))
    r = invoke(["--jsonl"], input=b'"Hi"\n')  # invoke fails on a key in the output
    assert r.code == 0, r
    assert json.loads(r.stdout)["text"] == "echo [REDACTED] done"
