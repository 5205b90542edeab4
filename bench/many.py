#!/usr/bin/env python3
"""Many prompts: `msgcli --jsonl` against its alternatives on a local server.

    python bench/many.py                 # the interpreter that has msgcli and anthropic
    python bench/many.py --quick         # smaller inputs

- 1,000 short prompts, 50 ms server latency: msgcli --jsonl -P 16, `xargs -P 16`
  running one msgcli per line, the SDK's AsyncAnthropic with 16 tasks, and the
  ideal 16 / 50 ms = 320 requests/s; also -P 8 and -P 32, and CPU time per request;
- peak memory with 1,000 and 100,000 lines (no latency, -P 32);
- a server that allows R requests/s and answers 429 (retry-after: 1) beyond it:
  msgcli -P 16 against the SDK with 16 tasks, each request retrying on its own;
- CPU per request at -P 32 against the floor, a bare requests.Session with 32
  threads posting the same bodies (bare_many.py), the two in turns, several
  rounds, with and without latency (issue 22: at most 1.5x the floor).

The server runs in this process; each client is spawned by a `python -S` helper
and measured with wait4 (wall, CPU, peak RSS), as bench/measure.py does.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_KEY = "sk-ant-bench-0000000000000000"
REPLY = json.dumps({
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-opus-4-5",
    "content": [{"type": "text", "text": "positive"}], "stop_reason": "end_turn",
    "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}).encode()
LIMITED = json.dumps({"type": "error", "error": {"type": "rate_limit_error",
                                                 "message": "rate limited"}}).encode()

MEASURE = r"""
import json, os, sys, time
argv, stdin_path, stdout_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
fd_in = os.open(stdin_path, os.O_RDONLY)
fd_out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, fd_in, 0),
                                   (os.POSIX_SPAWN_DUP2, fd_out, 1)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps([time.perf_counter() - started, usage.ru_maxrss / 1024,
                  usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)]))
"""


class Listener(ThreadingHTTPServer):
    # the listen() backlog, set before bind: with the default 5, connections beyond
    # it wait out a 1 s SYN retransmit, a stall of the server, not of the client
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-reply is not the benchmark's business


class Answering(BaseHTTPRequestHandler):
    """A request read whole, then answered with what its server's owner's answer()
    gives, (status, headers, body), in one write."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        status, headers, body = self.server.owner.answer()
        head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Too Many'}",
                "content-type: application/json", f"content-length: {len(body)}",
                "request-id: req_bench"] + [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def listen(owner):
    """A local server answering as `owner.answer()` says: (server, its URL)."""
    httpd = Listener(("127.0.0.1", 0), Answering)
    httpd.owner = owner
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class Server:
    def __init__(self):
        self.latency = 0.0
        self.rate = None
        self.lock = threading.Lock()
        self.counts = {200: 0, 429: 0}
        self.tokens = 0.0
        self.refilled = time.monotonic()
        self.httpd, self.url = listen(self)

    def configure(self, latency=0.0, rate=None):
        with self.lock:
            self.latency, self.rate = latency, rate
            self.counts = {200: 0, 429: 0}
            self.tokens, self.refilled = float(rate or 0), time.monotonic()

    def answer(self):
        status, headers = self.admit()
        if status == 200 and self.latency:
            time.sleep(self.latency)
        return status, headers, REPLY if status == 200 else LIMITED

    def admit(self):
        with self.lock:
            if self.rate is None:
                self.counts[200] += 1
                return 200, {}
            now = time.monotonic()
            self.tokens = min(float(self.rate), self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            ok = self.tokens >= 1
            if ok:
                self.tokens -= 1
            reset = datetime.now(UTC) + timedelta(
                seconds=(self.rate - self.tokens) / self.rate)
            headers = {"anthropic-ratelimit-requests-limit": str(self.rate),
                       "anthropic-ratelimit-requests-remaining": str(int(self.tokens)),
                       "anthropic-ratelimit-requests-reset":
                           reset.isoformat().replace("+00:00", "Z")}
            if not ok:
                headers["retry-after"] = "1"
            self.counts[200 if ok else 429] += 1
            return (200 if ok else 429), headers


def measure(argv, env, stdin_path):
    with tempfile.NamedTemporaryFile() as out:
        proc = subprocess.run([sys.executable, "-S", "-c", MEASURE, json.dumps(argv),
                               str(stdin_path), out.name], capture_output=True, env=env)
        wall, rss, cpu, code = json.loads(proc.stdout)
        lines = Path(out.name).read_bytes().count(b"\n")
    return {"wall": wall, "rss": rss, "cpu": cpu, "code": code, "lines": lines}


def prompts(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps(f"Classify the sentiment of ticket {i}: it works.") + "\n")


def floor_rounds(run, msgcli, prompts_path, n, rounds):
    """{latency: (msgcli's, the bare session's median CPU ms per request)}: the two
    in turns, so that the machine's load weighs on both alike."""
    bare = [sys.executable, str(HERE / "bare_many.py"), "32"]
    out = {}
    for label, latency in (("50 ms latency", 0.05), ("no latency", 0.0)):
        cpu = {"msgcli": [], "bare": []}
        for _ in range(rounds):
            for tool, argv in (("msgcli", [msgcli, "--jsonl", "-P", "32"]), ("bare", bare)):
                r = run(f"floor round, {label}: {tool}", argv, prompts_path, latency)
                cpu[tool].append(r["cpu"] / n * 1000)
        out[label] = (statistics.median(cpu["msgcli"]), statistics.median(cpu["bare"]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=int, default=50)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    msgcli = str(bindir / "msgcli")
    xargs = shutil.which("xargs")
    server = Server()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MSGCLI_", "ANTHROPIC_"))}
    env.update(ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=server.url,
               NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    work = Path(tempfile.mkdtemp(prefix="msgcli-many-"))
    n = 300 if args.quick else 1000
    prompts(work / "p.jsonl", n)
    (work / "words").write_text("".join(f"ticket-{i}\n" for i in range(n)))
    rows = []

    def run(label, argv, stdin, latency=0.0, rate=None, count=n, environ=env):
        server.configure(latency, rate)
        result = measure(argv, environ, stdin)
        result.update(label=label, count=count, ok=server.counts[200],
                      limited=server.counts[429])
        rows.append(result)
        print(f"{label:44s} {count / result['wall']:8.1f} req/s  "
              f"{result['cpu'] / count * 1000:6.2f} ms CPU/req  {result['rss']:6.1f} MB  "
              f"429s {result['limited']:5d}  exit {result['code']}  lines {result['lines']}",
              flush=True)
        return result

    sdk = [sys.executable, str(HERE / "sdk_many.py")]
    run("msgcli --jsonl -P 16", [msgcli, "--jsonl", "-P", "16"], work / "p.jsonl", 0.05)
    run("xargs -P 16 msgcli (one per line)",
        [xargs, "-P", "16", "-n", "1", msgcli, "Classify the sentiment of"],
        work / "words", 0.05)
    run("SDK AsyncAnthropic, 16 tasks", sdk + ["16"], work / "p.jsonl", 0.05)
    run("msgcli --jsonl -P 8", [msgcli, "--jsonl", "-P", "8"], work / "p.jsonl", 0.05)
    run("msgcli --jsonl -P 32", [msgcli, "--jsonl", "-P", "32"], work / "p.jsonl", 0.05)
    big = 10_000 if args.quick else 100_000
    prompts(work / "big.jsonl", big)
    run("memory: 1,000 lines, -P 32, no latency", [msgcli, "--jsonl", "-P", "32"],
        work / "p.jsonl", count=n)
    run(f"memory: {big:,} lines, -P 32, no latency", [msgcli, "--jsonl", "-P", "32"],
        work / "big.jsonl", count=big)
    limited_n = 250 if args.quick else 500
    prompts(work / "r.jsonl", limited_n)
    retrying = dict(env, MAX_RETRIES="20")
    run(f"rate {args.rate}/s: msgcli --jsonl -P 16 --retries 20",
        [msgcli, "--jsonl", "-P", "16", "--retries", "20"], work / "r.jsonl",
        rate=args.rate, count=limited_n)
    run(f"rate {args.rate}/s: SDK 16 tasks, max_retries 20", sdk + ["16"],
        work / "r.jsonl", rate=args.rate, count=limited_n, environ=retrying)
    floor = floor_rounds(run, msgcli, work / "p.jsonl", n, 3 if args.quick else 7)
    shutil.rmtree(work, ignore_errors=True)
    print()
    print("| case | requests/s | CPU per request | peak RSS | 429s | exit |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["label"].startswith("floor round"):
            continue  # summed up below
        print(f"| {r['label']} | {r['count'] / r['wall']:,.0f} | "
              f"{r['cpu'] / r['count'] * 1000:.2f} ms | {r['rss']:.1f} MB | "
              f"{r['limited']} | {r['code']} |")
    print("| ideal, 16 in flight at 50 ms | 320 | | | | |")
    rate = {r["label"]: r["count"] / r["wall"] for r in rows}
    ours = rate["msgcli --jsonl -P 16"]
    print()
    print(f"- msgcli -P 16: {ours / 320:.0%} of the ideal 320 req/s (target >= 80%); "
          f"{ours / rate['xargs -P 16 msgcli (one per line)']:.1f}x xargs (target >= 5x); "
          f"{ours / rate['SDK AsyncAnthropic, 16 tasks']:.2f}x the SDK (target >= 1x)")
    memory = [r["rss"] for r in rows if r["label"].startswith("memory")]
    print(f"- peak RSS {memory[0]:.1f} MB for {n:,} lines, {memory[1]:.1f} MB for {big:,}")
    limited = [r for r in rows if r["label"].startswith("rate")]
    print(f"- {args.rate} req/s allowed: msgcli {limited[0]['count'] / limited[0]['wall']:.1f} "
          f"req/s with {limited[0]['limited']} 429s; the SDK, each request retrying on its "
          f"own, {limited[1]['count'] / limited[1]['wall']:.1f} req/s with "
          f"{limited[1]['limited']} 429s")
    for latency, (ours, bare) in floor.items():
        ratio = ours / bare
        print(f"- CPU per request at -P 32, {latency}: msgcli {ours:.2f} ms, bare "
              f"requests.Session {bare:.2f} ms (medians of the rounds): {ratio:.2f}x the "
              f"floor (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT MET'})")
    failed = [r["label"] for r in rows if r["code"] != 0 or r["lines"] != r["count"]]
    if failed:
        print(f"- FAILED (exit status or line count): {', '.join(failed)}")


if __name__ == "__main__":
    main()
