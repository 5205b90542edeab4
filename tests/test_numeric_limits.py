"""Every number msgcli takes has a documented range (issue 26, item 2): a value that
sizes threads, connections, a loop of retries or a wait is refused past its ceiling
(exit 2, naming the option or the MSGCLI_* variable it came from), and so is one
too long for Python's int() to convert; no value gives exit 1, a hang or a large
process.

MSGCLI_FUZZ_EXAMPLES sets the example count of the property tests (default 200); CI
runs this file at 10,000 (.ci/run). Most examples parse the command line or run it
in-process; the real processes are a fixed few."""

import os
import re
import signal
import subprocess
import sys
import threading

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgcli.cli import options
from msgcli.cli.command import cli
from msgcli.status import ExitStatus
from tests.conftest import REPO, assert_no_secret, clean_env
from tests.test_jsonl import prompts, results, spawn, until

EXAMPLES = int(os.environ.get("MSGCLI_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck))
DOCUMENTED = {int(s) for s in ExitStatus} - {int(ExitStatus.INTERNAL_ERROR)}
HUGE = "9223372036854775808"  # 2**63: past every C integer a value could reach
THOUSANDS_OF_DIGITS = "9" * 5000  # past Python's int() limit of 4,300 digits

# Every numeric option: (flag, variable, lowest, highest), the highest being what
# the docs must state. --temperature and --top-p are only sent (the API checks
# their range), so any finite number from 0 is theirs.
INTEGERS = [
    ("--max-tokens", "MSGCLI_MAX_TOKENS", 0, options.MAX_API_INTEGER),
    ("--top-k", "MSGCLI_TOP_K", 0, options.MAX_API_INTEGER),
    ("--parallel", "MSGCLI_PARALLEL", 1, options.MAX_PARALLEL),
    ("--retries", "MSGCLI_RETRIES", 0, options.MAX_RETRIES),
]
FLOATS = [
    ("--timeout", "MSGCLI_TIMEOUT", 0, options.MAX_SECONDS),
    ("--max-wait", "MSGCLI_MAX_WAIT", 0, options.MAX_SECONDS),
    ("--deadline", "MSGCLI_DEADLINE", 0, options.MAX_SECONDS),
    ("--stdin-timeout", "MSGCLI_STDIN_TIMEOUT", 0, options.MAX_SECONDS),
    ("--temperature", "MSGCLI_TEMPERATURE", 0, None),
    ("--top-p", "MSGCLI_TOP_P", 0, None),
]
NUMERIC = INTEGERS + FLOATS + [("--thinking", "MSGCLI_THINKING", 0, options.MAX_API_INTEGER)]




def parse(args, env=None):
    """The command line parsed and checked as a run would be, nothing read or sent:
    the Options, or the click error that is exit 2."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("MSGCLI_")}
    os.environ.update(env or {})
    try:
        with cli.make_context("msgcli", list(args)) as ctx:
            return cli.invoke(ctx)
    finally:
        for key in env or {}:
            os.environ.pop(key, None)
        os.environ.update(saved)


# -- regressions ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [str(options.MAX_PARALLEL + 1), HUGE, "1000000"])
def test_parallel_past_its_maximum_is_a_usage_error(value):
    with pytest.raises(click.BadParameter, match="at most 1024"):
        parse(["--jsonl", "-P", value])
    with pytest.raises(click.BadParameter, match="at most 1024"):
        parse(["--jsonl"], env={"MSGCLI_PARALLEL": value})


def test_parallel_past_its_maximum_exits_2_naming_it(invoke, many):
    # in-process, so just past the ceiling: a huge -P here was gigabytes before the fix
    over = str(options.MAX_PARALLEL + 1)
    out = invoke(["--jsonl", "-P", over], input=prompts(2), base_url=many().url)
    assert out.code == 2 and out.stdout == "", out
    assert out.stderr.startswith("msgcli: -P/--parallel: must be at most 1024"), out
    out = invoke(["--jsonl"], input=prompts(2), base_url=many().url,
                 env={"MSGCLI_PARALLEL": over})
    assert out.code == 2 and "MSGCLI_PARALLEL" in out.stderr, out


@pytest.mark.parametrize("flag, variable, lowest, highest", INTEGERS)
def test_an_integer_past_its_maximum_is_refused(flag, variable, lowest, highest):
    extra = ["--jsonl"] if flag == "--parallel" else []  # (-P needs --jsonl)
    assert parse([*extra, flag, str(highest), "x"])
    with pytest.raises(click.BadParameter, match=f"at most {highest}"):
        parse([*extra, flag, str(highest + 1), "x"])


@pytest.mark.parametrize("flag, variable, lowest, highest", NUMERIC)
def test_thousands_of_digits_are_a_usage_error_not_an_internal_one(invoke, api, flag,
                                                                    variable, lowest,
                                                                    highest):
    """Python's int() refuses over 4,300 digits with a ValueError: it was exit 1."""
    for value in (THOUSANDS_OF_DIGITS, "-" + THOUSANDS_OF_DIGITS):
        out = invoke([flag, value, "--dry-run", "hi"])
        assert out.code == 2, out
        assert out.stderr.startswith("msgcli: "), out
        assert flag in out.stderr, out
        assert len(out.stderr.splitlines()) == 1


def test_ok_with_thousands_of_digits_is_a_usage_error(invoke):
    out = invoke(["--ok", THOUSANDS_OF_DIGITS, "--dry-run", "hi"])
    assert out.code == 2 and "--ok" in out.stderr, out
    assert parse(["--ok", "003", "x"]).ok == (ExitStatus.MAX_TOKENS,)


def test_workers_start_with_the_lines_not_with_p(invoke, many, monkeypatch):
    """-P is a ceiling, not a count: three lines at -P 1024 start three workers (it
    was 1,024 threads, whatever the input)."""
    started = []
    start = threading.Thread.start

    def counting_start(thread):
        started.append(thread.name)
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    out = invoke(["--jsonl", "-P", str(options.MAX_PARALLEL)], input=prompts(3),
                 base_url=many().url)
    assert out.code == 0, out
    assert [r["text"] for r in results(out.stdout)] == ["echo: p1", "echo: p2", "echo: p3"]
    workers = [name for name in started if re.fullmatch(r"msgcli-\d+", name)]
    assert 1 <= len(workers) <= 3, started


def _documented(flag):
    """The man page's OPTIONS paragraph of `flag` (the one table of options: README
    links to it)."""
    man = (REPO / "man" / "msgcli.1").read_text().replace("\\-", "-")
    man = re.sub(r"\\f[BIRP]", "", man)
    for paragraph in man.split(".TP\n"):
        lines = paragraph.splitlines()
        heads = lines[:1] + [line for before, line in zip(lines, lines[1:], strict=False)
                             if before == ".TQ"]
        if re.search(rf"{re.escape(flag)}(?![\w-])", " ".join(heads)):
            return paragraph
    raise AssertionError(f"no paragraph of the man page's options is {flag}'s")


@pytest.mark.parametrize("flag, variable, lowest, highest", NUMERIC)
def test_each_maximum_is_documented(flag, variable, lowest, highest):
    text = _documented(flag).replace(",", "")
    if highest is None:
        assert "sent as given" in text, (flag, text)
    else:
        assert re.search(rf"at most\W+{highest:.0f}(?![\d.])", text), (flag, text)


def test_the_directory_as_stdin_limit_is_in_the_man_page_bugs():
    man = (REPO / "man" / "msgcli.1").read_text()
    bugs = re.search(r"^\.SH BUGS\n(.*?)(?=^\.SH )", man, re.S | re.M).group(1)
    assert "is a directory" in bugs and "exit status 1" in bugs.replace("\\", "")


# -- the extremes of every numeric option -----------------------------------------------

def _forms(lowest, highest):
    ints = [0, 1, -1, lowest, lowest - 1, 2**31, 2**63, 2**64, 10**30]
    if highest is not None:
        highest = int(highest)
        ints += [highest, highest + 1, highest * 10]
    written = st.sampled_from(ints).flatmap(lambda n: st.sampled_from(
        [str(n), f"+{n}", f" {n} ", f"{n}.0", f"{n}e0", f"0{n}", f"{n:_}", hex(n)]))
    special = st.sampled_from(
        ["", " ", "-", "+", "0.5", "-0", "-0.0", "1e309", "-1e309", "1e-320", "nan", "inf",
         "-inf", "1e6", "1000000.0000001", "٣", "1\u0660", "0x10", "1_000", HUGE,
         THOUSANDS_OF_DIGITS, "0" * 5000 + "1", "-" + HUGE, "adaptive", "off", "1,5"])
    return st.one_of(written, special, st.floats(allow_nan=True).map(repr),
                     st.integers().map(str), st.text(max_size=8))


def _possible(case):
    """What an environment can hold: no NUL, nothing os.environ cannot encode."""
    option, value, through_env = case
    if through_env:
        value = value.replace("\0", "").encode("utf-8", "replace").decode("utf-8")
    return option, value, through_env


numeric_values = st.sampled_from(NUMERIC).flatmap(
    lambda o: st.tuples(st.just(o), _forms(o[2], o[3]), st.booleans())).map(_possible)


def _within(opts, flag, lowest, highest):
    name = flag.lstrip("-").replace("-", "_")
    value = getattr(opts, name)
    if name == "thinking":
        value = (value or {}).get("budget_tokens", 0)
    if value is None:
        return True
    return lowest <= value and (highest is None or value <= highest)


@SETTINGS
@given(case=numeric_values)
def test_any_number_parses_within_its_range_or_is_a_usage_error(case):
    """The bounds hold for any text, given as a flag or through MSGCLI_*: nothing that
    sizes a run gets past its ceiling, and nothing else than a usage error escapes."""
    (flag, variable, lowest, highest), value, through_env = case
    extra = ["--jsonl"] if flag == "--parallel" else []
    args, env = ([*extra, "x"], {variable: value}) if through_env else \
        ([*extra, f"{flag}={value}", "x"], None)
    try:
        opts = parse(args, env)
    except click.UsageError as e:  # BadParameter included: exit 2
        assert e.exit_code == 2
        return
    assert _within(opts, flag, lowest, highest), (flag, value)


@settings(max_examples=min(EXAMPLES, 300), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=numeric_values)
def test_any_number_in_a_run_is_a_normal_run_or_exit_2(invoke, api, case):
    """In-process runs against a local server (kept to a few hundred even at CI's
    count: each is a whole run)."""
    (flag, variable, lowest, highest), value, through_env = case
    api.clear()
    api.reply()
    # a deadline or timeout too short for any reply is a documented network failure
    jsonl = flag == "--parallel"
    args = ["--jsonl"] if jsonl else ["--stdin-timeout", "0", "hi"]
    if through_env:
        out = invoke(args, env={variable: value}, input=prompts(2) if jsonl else b"")
    else:
        out = invoke([f"{flag}={value}", *args], input=prompts(2) if jsonl else b"")
    assert out.code in DOCUMENTED, out
    if out.code == 2 and re.search(r"must be at (least|most)", out.stderr):
        assert (variable if through_env else flag) in out.stderr, out


# -- real processes: a handful ---------------------------------------------------------------

def _peak_rss_mb(args, env, stdin_bytes, timeout=40):
    """Run msgcli in a child and return (exit status, stderr, its peak RSS in MB),
    measured by a parent of its own so no other process of the suite counts."""
    probe = ("import resource, subprocess, sys;"
             "p = subprocess.run([sys.executable, '-m', 'msgcli', *sys.argv[1:]],"
             " input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL,"
             " stderr=subprocess.PIPE, timeout=20);"
             "sys.stderr.buffer.write(p.stderr);"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", probe, *args], input=stdin_bytes,
                          capture_output=True, cwd=REPO, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    code, peak = proc.stdout.split()
    return int(code), proc.stderr.decode(), int(peak) / 1024


@pytest.mark.parametrize("args, code", [
    (["-P", HUGE], 2), (["-P", "1000000"], 2), (["-P", str(options.MAX_PARALLEL + 1)], 2),
    (["-P", str(options.MAX_PARALLEL)], 0), (["--retries", HUGE], 2),
])
def test_a_real_run_at_the_extremes_is_small(many, args, code):
    server = many()
    got, err, peak = _peak_rss_mb(["--jsonl", *args], clean_env(server.url), prompts(20))
    assert got == code, err
    assert_no_secret(err)
    assert peak < 150, f"{peak:.0f} MB"


def test_interrupt_at_the_largest_p_stops_the_run(many, tmp_path):
    """Ctrl-C with -P at its ceiling: the run ends (130), the finished lines are
    written, nothing more is sent."""
    server = many(latency=0.2)
    source = tmp_path / "in.jsonl"
    source.write_bytes(prompts(5000))
    with open(source, "rb") as stdin:
        proc = spawn(["--jsonl", "-P", str(options.MAX_PARALLEL)], server, stdin)
        until(lambda: len(server.bodies) >= 50, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert_no_secret(out, err)
    sent = len(server.bodies)
    assert sent < 5000
    got = results(out.decode())
    assert [r["custom_id"] for r in got] == [str(i) for i in range(1, len(got) + 1)]
