#!/usr/bin/env python3
"""msgcli against its peers, side by side, on a local Messages API server.

    python bench/run.py            # installs what it needs into bench/.venv*, then runs
    python bench/run.py --runs 3   # fewer repetitions

msgcli is installed (not editable) into bench/.venv, as a user's copy runs; the peers
(the official SDK in a minimal script, llm with llm-anthropic, curl) go into
bench/.venv-peers. Every number is the median of several runs, with bytecode cached
(one unmeasured warm-up run first). Peak memory is the child's max RSS (wait4).
Results: printed, and written to bench/results.md for the README.
"""

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from server import BenchServer  # noqa: E402

MSGCLI_VENV = HERE / ".venv"
PEERS_VENV = HERE / ".venv-peers"
LLM_VENV = HERE / ".venv-llm"
PEER_PACKAGES = ["anthropic==2.12.0"]
# llm-anthropic 0.26 passes `temperature` to Messages.stream(), which anthropic 2.x
# no longer accepts: llm gets its own venv with the 1.x SDK it works with.
LLM_PACKAGES = ["llm", "llm-anthropic", "anthropic<2"]
FAKE_KEY = "sk-ant-bench-0000000000000000"
IMAGE_BYTES = 3_932_160  # the largest image the API accepts: 5 MiB of base64
STDIN_BYTES = 20 * 1024 * 1024
STREAM_DELTAS = 50_000
CLICK = "floor: python -c 'import click'"
REQUESTS_CLICK = "floor: python -c 'import requests, click'"


def venv_python(venv):
    return venv / "bin" / "python"


def ensure_venvs(with_peers):
    if not venv_python(MSGCLI_VENV).exists():
        subprocess.run([sys.executable, "-m", "venv", str(MSGCLI_VENV)], check=True)
    subprocess.run([str(venv_python(MSGCLI_VENV)), "-m", "pip", "install", "--quiet",
                    "--upgrade", "--force-reinstall", "--no-deps", str(REPO)], check=True)
    subprocess.run([str(venv_python(MSGCLI_VENV)), "-m", "pip", "install", "--quiet",
                    str(REPO)], check=True)
    if with_peers:
        for venv, packages in ((PEERS_VENV, PEER_PACKAGES), (LLM_VENV, LLM_PACKAGES)):
            if not venv_python(venv).exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--quiet",
                            *packages], check=True)


def measure(argv, env, stdin_path=None):
    """(wall seconds, peak RSS in MB, stdout bytes, CPU seconds) of one run, through
    measure.py."""
    with tempfile.NamedTemporaryFile() as out:
        proc = subprocess.run(
            [sys.executable, "-S", str(HERE / "measure.py"), json.dumps(argv),
             str(stdin_path or ""), out.name],
            capture_output=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"measure.py failed: {proc.stderr[-300:]!r}")
        wall, rss, code, cpu = json.loads(proc.stdout)
        if code != 0:
            raise RuntimeError(f"{argv[0]} exited {code}: {proc.stderr[-300:]!r}")
        return wall, rss, Path(out.name).read_bytes(), cpu


def medians_of(runs, commands, env):
    """{tool: (median wall, median peak RSS, stdout of the first run, median CPU) or
    None} for the (tool, argv, env overrides, stdin) of one scenario. The tools take
    turns, run by run, so that whatever else the machine is doing weighs on all of
    them alike; tools that take under a second get three times the runs, as a short
    run is the one a busy machine disturbs most."""
    results = {tool: [] for tool, *_ in commands}
    failed = {}
    slow = set()
    for turn in range(3 * runs + 1):  # turn 0 warms up: bytecode, page cache
        for tool, argv, extra_env, stdin in commands:
            if tool in failed or (turn > runs and tool in slow):
                continue
            try:
                result = measure(argv, {**env, **extra_env}, stdin)
            except (RuntimeError, OSError) as e:
                failed[tool] = e
                continue
            if turn:
                results[tool].append(result)
            elif result[0] >= 1.0:
                slow.add(tool)
    out = {}
    for tool, values in results.items():
        if tool in failed:
            print(f"  {tool}: failed: {failed[tool]}", flush=True)
            out[tool] = None
        else:
            out[tool] = (statistics.median(r[0] for r in values),
                         statistics.median(r[1] for r in values), values[0][2],
                         statistics.median(r[3] for r in values), len(values))
    return out


def make_inputs(workdir):
    image = workdir / "big.png"
    png = (REPO / "tests" / "data" / "pixel.png").read_bytes()
    image.write_bytes(png[:33] + b"\0" * (IMAGE_BYTES - len(png)) + png[33:])
    prompt = workdir / "big.txt"
    line = b"The quick brown fox jumps over the lazy dog. " * 2 + b"\n"
    prompt.write_bytes((line * (STDIN_BYTES // len(line) + 1))[:STDIN_BYTES])
    bodies = {}
    for name, content in (
            ("short", "Hello, Claude"),
            ("image", [{"type": "image", "source": {
                "type": "base64", "media_type": "image/png",
                "data": base64.b64encode(image.read_bytes()).decode()}},
                {"type": "text", "text": "Describe"}]),
            ("stdin", prompt.read_text() + "\n\nSummarize")):
        for stream in (False, True):
            body = {"model": "claude-opus-4-5", "max_tokens": 4096,
                    "messages": [{"role": "user", "content": content}]}
            if stream:
                body["stream"] = True
            path = workdir / f"body-{name}{'-stream' if stream else ''}.json"
            path.write_text(json.dumps(body))
            bodies[(name, stream)] = path
    text = prompt.read_text() + "\n\nSummarize"
    messages = workdir / "messages.json"  # -f: the 20 MiB prompt as one turn
    messages.write_text(json.dumps([{"role": "user", "content": text}]))
    turns = workdir / "turns.json"  # -f: the same text as 5,001 turns
    step = len(text) // 5000
    turns.write_text(json.dumps(
        [{"role": ("user", "assistant")[i % 2], "content": text[i * step:(i + 1) * step]}
         for i in range(5000)] + [{"role": "user", "content": "Summarize"}]))
    return image, prompt, bodies, messages, turns


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-peers", action="store_true", help="measure msgcli only")
    parser.add_argument("--no-install", action="store_true",
                        help="use the venvs as they are")
    parser.add_argument("--output", default=str(HERE / "results.md"))
    args = parser.parse_args()
    with_peers = not args.no_peers
    if not args.no_install:
        ensure_venvs(with_peers)
    server = BenchServer(STREAM_DELTAS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MSGCLI_", "ANTHROPIC_"))}
    env.update(ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=server.url,
               NO_PROXY="127.0.0.1", LLM_USER_PATH=str(HERE / ".llm-home"))
    # the interpreter's defaults, as a user's shell runs it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONUNBUFFERED", None)
    py = str(venv_python(MSGCLI_VENV))
    msgcli = str(MSGCLI_VENV / "bin" / "msgcli")
    peers_py = str(venv_python(PEERS_VENV))
    llm = str(LLM_VENV / "bin" / "llm")
    sdk = [peers_py, str(HERE / "sdk_client.py")]
    curl = shutil.which("curl")
    workdir = Path(tempfile.mkdtemp(prefix="msgcli-bench-"))
    image, prompt, bodies, messages, turns = make_inputs(workdir)
    conversation = workdir / "conversation.json"
    # -c: a new conversation each run (sh execs msgcli: its peak is msgcli's)
    with_conversation = ["/bin/sh", "-c", 'rm -f "$0"; exec "$1" -c "$0" Summarize',
                         str(conversation), msgcli]
    b64_mb = 4 * ((IMAGE_BYTES + 2) // 3) / 2**20

    def curl_cmd(body, stream=False):
        return [curl, "-s", "-N" if stream else "-S", "-X", "POST",
                server.url + "/v1/messages", "-H", "content-type: application/json",
                "-H", f"x-api-key: {FAKE_KEY}", "-H", "anthropic-version: 2023-06-01",
                "--data-binary", f"@{body}"]

    llm_model = ["-m", "claude-opus-4.5"]
    plain = {"MSGCLI_NO_FAST_PATH": "1"}
    # (scenario, tool, argv, environment overrides, stdin); peers only with_peers
    plan = [
        # each floor runs in turns with what is compared with it
        ("floor", "python -c pass", [py, "-c", "pass"], {}, None),
        ("start-up: --version", CLICK, [py, "-c", "import click"], {}, None),
        ("start-up: --version", "msgcli", [msgcli, "--version"], {}, None),
        ("start-up: --version", "SDK script (import only)",
         [peers_py, "-c", "import anthropic"], {}, None),
        ("start-up: --version", "llm", [llm, "--version"], {}, None),
        ("start-up: --help", CLICK, [py, "-c", "import click"], {}, None),
        ("start-up: --help", "msgcli", [msgcli, "--help"], {}, None),
        ("start-up: --help", "llm", [llm, "--help"], {}, None),
        ("round trip", REQUESTS_CLICK, [py, "-c", "import requests, click"], {}, None),
        ("round trip", "msgcli", [msgcli, "Hello, Claude"], {}, None),
        ("round trip", "curl", curl_cmd(bodies[("short", False)]), {}, None),
        ("round trip", "SDK script", sdk + ["Hello, Claude"], {}, None),
        ("round trip", "llm", [llm, *llm_model, "--no-log", "Hello, Claude"], {}, None),
        ("stream 50k deltas", "msgcli", [msgcli, "--stream", "Go"], {}, None),
        ("stream 50k deltas", "msgcli, plain path (MSGCLI_NO_FAST_PATH=1)",
         [msgcli, "--stream", "Go"], plain, None),
        ("stream 50k deltas", "curl", curl_cmd(bodies[("short", True)], True), {}, None),
        ("stream 50k deltas", "SDK script", sdk + ["--stream", "Go"], {}, None),
        ("stream 50k deltas", "llm", [llm, *llm_model, "--no-log", "Go"], {}, None),
        ("stream --json 50k deltas", "msgcli", [msgcli, "--stream", "--json", "Go"], {},
         None),
        ("stream --json 50k deltas", "msgcli, plain path (MSGCLI_NO_FAST_PATH=1)",
         [msgcli, "--stream", "--json", "Go"], plain, None),
        ("stream --json 50k deltas", "curl", curl_cmd(bodies[("short", True)], True), {},
         None),
        ("stream --json 50k deltas", "SDK script", sdk + ["--stream", "--json", "Go"], {},
         None),
        ("image 3.75 MiB", "msgcli", [msgcli, "-i", str(image), "Describe"], {}, None),
        ("image 3.75 MiB", "curl", curl_cmd(bodies[("image", False)]), {}, None),
        ("image 3.75 MiB", "SDK script", sdk + ["-i", str(image), "Describe"], {}, None),
        ("image 3.75 MiB", "llm",
         [llm, *llm_model, "--no-log", "-a", str(image), "Describe"], {}, None),
        ("stdin 20 MiB", "msgcli", [msgcli, "Summarize"], {}, prompt),
        ("stdin 20 MiB", "curl", curl_cmd(bodies[("stdin", False)]), {}, None),
        ("stdin 20 MiB", "SDK script", sdk + ["Summarize"], {}, prompt),
        ("stdin 20 MiB", "llm", [llm, *llm_model, "--no-log", "Summarize"], {}, prompt),
        ("-c, stdin 20 MiB", "msgcli", with_conversation, {}, prompt),
        ("-f 20 MiB, one turn", "msgcli", [msgcli, "-f", str(messages)], {}, None),
        ("-f 20 MiB, 5,001 turns", "msgcli", [msgcli, "-f", str(turns)], {}, None),
        # many prompts (`--jsonl`): bench/many.py
    ]
    peers = ("SDK script", "llm")
    plan = [step for step in plan if with_peers or not step[1].startswith(peers)]
    scenarios = list(dict.fromkeys(step[0] for step in plan))
    results = {}
    loads = [os.getloadavg()[0]]
    for scenario in scenarios:
        commands = [step[1:] for step in plan if step[0] == scenario]
        for tool, value in medians_of(args.runs, commands, env).items():
            results[(scenario, tool)] = value
            if value is not None:
                print(f"{scenario:26s} {tool:44s} {value[0] * 1000:9.1f} ms "
                      f"{value[1]:8.1f} MB", flush=True)
        loads.append(os.getloadavg()[0])
    sizes = {"-f 20 MiB, one turn": messages.stat().st_size,
             "-f 20 MiB, 5,001 turns": turns.stat().st_size}
    shutil.rmtree(workdir, ignore_errors=True)
    server.close()
    report = render(results, b64_mb, server.stream_text, server.stream_lines, sizes)
    report += (f"\nLoad average (1 min) on this {os.cpu_count()}-core machine, taken between "
               f"scenarios: {min(loads):.1f} to {max(loads):.1f} (median "
               f"{statistics.median(loads):.1f}).\n")
    Path(args.output).write_text(report)
    print("\n" + report)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def render(results, b64_mb, stream_text, stream_lines, sizes=None):
    def get(scenario, tool):
        return results.get((scenario, tool))

    lines = ["| scenario | tool | runs | wall (median) | CPU (median) | peak RSS "
             "| time ÷ msgcli's |",
             "|---|---|---:|---:|---:|---:|---:|"]
    scenarios = list(dict.fromkeys(scenario for scenario, _ in results))
    for scenario in scenarios:
        ours = get(scenario, "msgcli")
        for (s, tool), value in results.items():
            if s != scenario:
                continue
            if value is None:
                lines.append(f"| {scenario} | {tool} | | failed | | | |")
                continue
            wall, rss, out, cpu, count = value
            extra = ""
            if scenario.startswith("stream"):
                extra = f" ({STREAM_DELTAS / wall:,.0f} events/s)"
            vs = "" if tool == "msgcli" or ours is None else ratio(wall, ours[0])
            vs = vs + " (floor)" if tool.startswith("floor") and vs else vs
            lines.append(f"| {scenario} | {tool} | {count} | {wall * 1000:,.0f} ms{extra} | "
                         f"{cpu * 1000:,.0f} ms | {rss:.1f} MB | {vs} |")
    lines.append("| many prompts (`--jsonl`, -P 8 / -P 32) | msgcli | | "
                 "see `bench/many.py` | | | |")

    def verdict(ok):
        return "met" if ok else "NOT MET"

    checks = ["", "Targets:", ""]
    floor_rc = get("round trip", REQUESTS_CLICK)
    for scenario in ("start-up: --version", "start-up: --help"):
        ours, floor_click = get(scenario, "msgcli"), get(scenario, CLICK)
        if ours and floor_click:
            r = ours[0] / floor_click[0]
            checks.append(f"- {scenario}: {r:.2f}x `python -c 'import click'` "
                          f"(target ≤ 1.1x: {verdict(r <= 1.1)}); CPU time "
                          f"{ours[3] / floor_click[3]:.2f}x")
    ours = get("round trip", "msgcli")
    if ours and floor_rc:
        r = ours[0] / floor_rc[0]
        checks.append(f"- round trip: {r:.2f}x `python -c 'import requests, click'` "
                      f"(target ≤ 1.1x: {verdict(r <= 1.1)}); CPU time "
                      f"{ours[3] / floor_rc[3]:.2f}x")
    for scenario, expected in (("stream 50k deltas", (stream_text + "\n").encode()),
                               ("stream --json 50k deltas", stream_lines)):
        ours, sdk, curl = (get(scenario, t) for t in ("msgcli", "SDK script", "curl"))
        plain = get(scenario, "msgcli, plain path (MSGCLI_NO_FAST_PATH=1)")
        if not ours:
            continue
        same = ours[2] == expected and (plain is None or plain[2] == expected)
        checks.append(f"- {scenario}: msgcli output {'identical to' if same else 'DIFFERS from'}"
                      " what the server sent (fast and plain path)")
        sdk_text = get("stream 50k deltas", "SDK script")
        if sdk_text:
            # issue 16: --stream --json "with the same targets" as text, so against the
            # same SDK run (the SDK streaming the 50,000 deltas)
            r = sdk_text[0] / ours[0]
            what = "the SDK script's events/s" if scenario == "stream 50k deltas" else \
                "the events/s of the SDK script that streams the text (the text target)"
            checks.append(f"- {scenario}: msgcli {r:.1f}x {what} (target ≥ 25x: "
                          f"{verdict(r >= 25)}); per CPU second, "
                          f"{sdk_text[3] / ours[3]:.1f}x")
        if sdk and scenario != "stream 50k deltas":
            r = sdk[0] / ours[0]
            checks.append(f"- {scenario}: for reference, msgcli {r:.1f}x the SDK script "
                          "that prints every event as JSON (`create(stream=True)`, no "
                          f"accumulation); per CPU second, {sdk[3] / ours[3]:.1f}x")
        if sdk and floor_rc:
            # what a client that only imported requests and click would reach
            checks.append(f"- {scenario}: the floor alone (`import requests, click`, "
                          f"{floor_rc[0] * 1000:.0f} ms) is {sdk[0] / floor_rc[0]:.1f}x "
                          "the SDK script of this scenario: no client built on them can do "
                          "better")
        if curl:
            r = ours[0] / curl[0]
            checks.append(f"- {scenario}: msgcli takes {r:.1f}x curl's time "
                          f"(target ≤ 5x: {verdict(r <= 5)}); {ours[3] / curl[3]:.1f}x its "
                          "CPU time")
        if plain:
            checks.append(f"- {scenario}: the fast path is {plain[0] / ours[0]:.1f}x "
                          "the plain path")
    ours = get("image 3.75 MiB", "msgcli")
    if ours and floor_rc:
        own = ours[1] - floor_rc[1]
        checks.append(f"- image: msgcli peak {ours[1]:.1f} MB = interpreter with requests "
                      f"and click {floor_rc[1]:.1f} MB + {own:.1f} MB, i.e. "
                      f"{own / b64_mb:.2f}x the image's {b64_mb:.1f} MB of base64 "
                      f"(target ≤ 1.4x: {verdict(own / b64_mb <= 1.4)})")
    ours = get("stdin 20 MiB", "msgcli")
    if ours:
        checks.append(f"- stdin 20 MiB: msgcli peak {ours[1]:.1f} MB "
                      f"(target ≤ 60 MB: {verdict(ours[1] <= 60)})")
    ours = get("-c, stdin 20 MiB", "msgcli")
    if ours:
        checks.append(f"- -c, stdin 20 MiB: msgcli peak {ours[1]:.1f} MB, the conversation "
                      f"saved (target ≤ 60 MB: {verdict(ours[1] <= 60)})")
    plain = get("round trip", "msgcli")
    for scenario, size in (sizes or {}).items():
        ours = get(scenario, "msgcli")
        if ours and plain:
            r = (ours[1] - plain[1]) / (size / 2**20)
            checks.append(f"- {scenario}: msgcli peak {ours[1]:.1f} MB = a round trip's "
                          f"{plain[1]:.1f} MB + {r:.2f}x the file's {size / 2**20:.1f} MB "
                          f"(target ≤ 2.5x: {verdict(r <= 2.5)})")
    return "\n".join(lines + checks) + "\n"


if __name__ == "__main__":
    main()
