#!/usr/bin/env python3
"""Message Batches: what `msgcli --jsonl --batch` and `msgcli --batch-results` cost
on this machine, against a local batch engine.

    python bench/batch.py            # 1,000 and 100,000 lines
    python bench/batch.py --quick    # 1,000 and 10,000

For each size: submit (read, check and spool every line, one create request with
the whole body), then fetch the results (served shuffled, one JSONL line each) and
print them back in input order. Reported: wall time, peak RSS, the create body's
size, and whether the results came out complete and in input order. Each msgcli
is started by bench/measure.py (`python -S`, wait4), so the RSS is its own.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_KEY = "sk-ant-bench-0000000000000000"


class Engine(ThreadingHTTPServer):
    """Ends each batch at the first poll; results shuffled."""

    daemon_threads = True

    def __init__(self):
        self.batches = {}
        self.body_bytes = 0
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, body, content_type="application/json"):
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def batch(self, batch_id):
                base = f"http://127.0.0.1:{engine.server_address[1]}"
                return json.dumps({
                    "id": batch_id, "type": "message_batch", "processing_status": "ended",
                    "request_counts": {"processing": 0, "errored": 0, "canceled": 0,
                                       "expired": 0,
                                       "succeeded": len(engine.batches[batch_id])},
                    "created_at": "2026-11-29T20:00:00Z", "ended_at": "2026-11-29T20:01:00Z",
                    "expires_at": "2026-11-30T20:00:00Z", "cancel_initiated_at": None,
                    "archived_at": None,
                    "results_url": f"{base}/v1/messages/batches/{batch_id}/results"}).encode()

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                engine.body_bytes += len(body)
                batch_id = f"msgbatch_{len(engine.batches) + 1:04d}"
                engine.batches[batch_id] = [r["custom_id"] for r in json.loads(body)["requests"]]
                self.send(self.batch(batch_id))

            def do_GET(self):
                parts = self.path.split("?")[0].split("/")
                if parts[-1] != "results":
                    return self.send(self.batch(parts[-1]))
                ids = list(engine.batches[parts[-2]])
                random.Random(1).shuffle(ids)
                lines = "".join(json.dumps({"custom_id": i, "result": {
                    "type": "succeeded", "message": {
                        "id": "msg_b", "type": "message", "role": "assistant",
                        "model": "claude-opus-4-5", "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "content": [{"type": "text", "text": f"answer {i}"}],
                        "usage": {"input_tokens": 12, "output_tokens": 2}}}}) + "\n"
                    for i in ids)
                self.send(lines.encode(), "application/x-jsonl")

        super().__init__(("127.0.0.1", 0), Handler)


def measure(argv, env, stdin_path, out_path):
    proc = subprocess.run([sys.executable, "-S", str(HERE / "measure.py"), json.dumps(argv),
                           str(stdin_path or ""), str(out_path)], capture_output=True,
                          env=env, check=True)
    wall, rss, code = json.loads(proc.stdout)[:3]
    return wall, rss, code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 100_000]
    msgcli = str(Path(sys.executable).with_name("msgcli"))
    print("| lines | step | wall | peak RSS | notes |\n|---:|---|---:|---:|---|")
    for n in sizes:
        engine = Engine()
        threading.Thread(target=engine.serve_forever, daemon=True).start()
        env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": FAKE_KEY,
               "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{engine.server_address[1]}",
               "NO_PROXY": "127.0.0.1"}
        with tempfile.TemporaryDirectory() as tmp:
            source, batches, results = (Path(tmp) / f for f in ("in", "batches", "out"))
            with open(source, "w") as f:
                for i in range(n):
                    f.write(json.dumps(f"Classify the sentiment of ticket {i}: it works.")
                            + "\n")
            wall, rss, code = measure([msgcli, "--jsonl", "--batch"], env, source, batches)
            print(f"| {n:,} | submit (exit {code}) | {wall:.2f} s | {rss:.1f} MB | create "
                  f"body {engine.body_bytes / 2**20:.1f} MB, "
                  f"{len(batches.read_text().splitlines())} batch |")
            ids = [json.loads(line)["id"] for line in batches.read_text().splitlines()]
            wall, rss, code = measure([msgcli, "--batch-results", *ids], env, None, results)
            got = [json.loads(line)["custom_id"] for line in results.read_text().splitlines()]
            in_order = got == [str(i) for i in range(1, n + 1)]
            print(f"| {n:,} | results (exit {code}) | {wall:.2f} s | {rss:.1f} MB | "
                  f"{len(got):,} lines, served shuffled, printed in input order: "
                  f"{'yes' if in_order else 'NO'} |")
        engine.shutdown()


if __name__ == "__main__":
    main()
