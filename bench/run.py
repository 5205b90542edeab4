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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from server import SHORT_TEXT, BenchServer  # noqa: E402

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
    """(wall seconds, peak RSS in MB, stdout bytes) of one run, through measure.py."""
    with tempfile.NamedTemporaryFile() as out:
        proc = subprocess.run(
            [sys.executable, "-S", str(HERE / "measure.py"), json.dumps(argv),
             str(stdin_path or ""), out.name],
            capture_output=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"measure.py failed: {proc.stderr[-300:]!r}")
        wall, rss, code = json.loads(proc.stdout)
        if code != 0:
            raise RuntimeError(f"{argv[0]} exited {code}: {proc.stderr[-300:]!r}")
        return wall, rss, Path(out.name).read_bytes()


def median_of(runs, argv, env, stdin_path=None):
    measure(argv, env, stdin_path)  # warm-up: bytecode cached, files in page cache
    results = [measure(argv, env, stdin_path) for _ in range(runs)]
    return (statistics.median(r[0] for r in results),
            statistics.median(r[1] for r in results), results[0][2])


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
    return image, prompt, bodies


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
    image, prompt, bodies = make_inputs(workdir)
    b64_mb = 4 * ((IMAGE_BYTES + 2) // 3) / 2**20

    def curl_cmd(body, stream=False):
        return [curl, "-s", "-N" if stream else "-S", "-X", "POST",
                server.url + "/v1/messages", "-H", "content-type: application/json",
                "-H", f"x-api-key: {FAKE_KEY}", "-H", "anthropic-version: 2023-06-01",
                "--data-binary", f"@{body}"]

    llm_model = ["-m", "claude-opus-4.5"]
    # (scenario, tool, argv, stdin)
    plan = [
        ("floor", "python -c pass", [py, "-c", "pass"], None),
        ("floor", "python -c 'import click'", [py, "-c", "import click"], None),
        ("floor", "python -c 'import requests, click'",
         [py, "-c", "import requests, click"], None),
        ("start-up: --version", "msgcli", [msgcli, "--version"], None),
        ("start-up: --help", "msgcli", [msgcli, "--help"], None),
        ("round trip", "msgcli", [msgcli, "Hello, Claude"], None),
        ("round trip", "curl", curl_cmd(bodies[("short", False)]), None),
        ("stream 50k deltas", "msgcli", [msgcli, "--stream", "Go"], None),
        ("stream 50k deltas", "curl", curl_cmd(bodies[("short", True)], True), None),
        ("image 3.75 MiB", "msgcli", [msgcli, "-i", str(image), "Describe"], None),
        ("image 3.75 MiB", "curl", curl_cmd(bodies[("image", False)]), None),
        ("stdin 20 MiB", "msgcli", [msgcli, "Summarize"], prompt),
        ("stdin 20 MiB", "curl", curl_cmd(bodies[("stdin", False)]), None),
    ]
    if with_peers:
        plan += [
            ("start-up: --version", "SDK script (import only)",
             [peers_py, "-c", "import anthropic"], None),
            ("start-up: --version", "llm", [llm, "--version"], None),
            ("start-up: --help", "llm", [llm, "--help"], None),
            ("round trip", "SDK script", sdk + ["Hello, Claude"], None),
            ("round trip", "llm", [llm, *llm_model, "--no-log", "Hello, Claude"], None),
            ("stream 50k deltas", "SDK script", sdk + ["--stream", "Go"], None),
            ("stream 50k deltas", "llm", [llm, *llm_model, "--no-log", "Go"], None),
            ("image 3.75 MiB", "SDK script", sdk + ["-i", str(image), "Describe"], None),
            ("image 3.75 MiB", "llm",
             [llm, *llm_model, "--no-log", "-a", str(image), "Describe"], None),
            ("stdin 20 MiB", "SDK script", sdk + ["Summarize"], prompt),
            ("stdin 20 MiB", "llm", [llm, *llm_model, "--no-log", "Summarize"], prompt),
        ]
    results = {}
    for scenario, tool, argv, stdin in plan:
        runs = args.runs if not scenario.startswith(("stream", "image", "stdin")) \
            else max(3, args.runs // 2)
        try:
            wall, rss, out = median_of(runs, argv, env, stdin)
            results[(scenario, tool)] = (wall, rss, out)
            print(f"{scenario:22s} {tool:36s} {wall * 1000:9.1f} ms {rss:8.1f} MB",
                  flush=True)
        except (RuntimeError, OSError) as e:
            results[(scenario, tool)] = None
            print(f"{scenario:22s} {tool:36s} failed: {e}", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    server.close()
    report = render(results, b64_mb, server.stream_text)
    Path(args.output).write_text(report)
    print("\n" + report)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def render(results, b64_mb, stream_text):
    def get(scenario, tool):
        return results.get((scenario, tool))

    lines = ["| scenario | tool | wall (median) | peak RSS | time ÷ msgcli's |",
             "|---|---|---:|---:|---:|"]
    scenarios = []
    for scenario, _ in results:
        if scenario not in scenarios:
            scenarios.append(scenario)
    for scenario in scenarios:
        ours = get(scenario, "msgcli")
        for (s, tool), value in results.items():
            if s != scenario:
                continue
            if value is None:
                lines.append(f"| {scenario} | {tool} | failed | | |")
                continue
            wall, rss, out = value
            extra = ""
            if scenario.startswith("stream"):
                extra = f" ({STREAM_DELTAS / wall:,.0f} events/s)"
            vs = "" if tool == "msgcli" or ours is None else ratio(wall, ours[0])
            lines.append(f"| {scenario} | {tool} | {wall * 1000:,.0f} ms{extra} | "
                         f"{rss:.1f} MB | {vs} |")
    checks = ["", "Targets:", ""]
    floor_click = get("floor", "python -c 'import click'")
    floor_rc = get("floor", "python -c 'import requests, click'")
    for scenario in ("start-up: --version", "start-up: --help"):
        ours = get(scenario, "msgcli")
        if ours and floor_click:
            checks.append(f"- {scenario}: {ratio(ours[0], floor_click[0])} of "
                          "`python -c 'import click'` (target ≤ 1.2x)")
    ours = get("round trip", "msgcli")
    sdk = get("round trip", "SDK script")
    if ours and floor_rc:
        checks.append(f"- round trip: {ratio(ours[0], floor_rc[0])} of "
                      "`python -c 'import requests, click'` (target ≤ 1.2x)")
    if ours and sdk:
        checks.append(f"- round trip: SDK script takes {ratio(sdk[0], ours[0])} "
                      "msgcli's time (target ≥ 5x)")
    ours, sdk = get("stream 50k deltas", "msgcli"), get("stream 50k deltas", "SDK script")
    if ours:
        expected = (stream_text + "\n").encode()
        checks.append(f"- stream: msgcli output {'identical to' if ours[2] == expected else 'DIFFERS from'} "
                      "the streamed text")
    if ours and sdk:
        checks.append(f"- stream: msgcli {ratio(sdk[0], ours[0])} the SDK's events/s "
                      f"(target ≥ 5x); outputs {'identical' if ours[2] == sdk[2] else 'DIFFER'}")
    ours = get("image 3.75 MiB", "msgcli")
    if ours and floor_rc:
        own = ours[1] - floor_rc[1]
        checks.append(f"- image: msgcli peak {ours[1]:.1f} MB = interpreter with requests "
                      f"and click {floor_rc[1]:.1f} MB + {own:.1f} MB, i.e. "
                      f"{own / b64_mb:.2f}x the image's {b64_mb:.1f} MB of base64 "
                      "(target < 3x)")
    return "\n".join(lines + checks) + "\n"


if __name__ == "__main__":
    main()
