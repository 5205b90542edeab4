#!/usr/bin/env python3
"""Files API uploads: the peak memory of `msgcli --upload` and of `--upload-files`
for a 200 MB file, against a local server that reads the multipart body and counts
it (issue 25's target: at most 60 MB resident).

    python bench/upload.py             # 200 MB
    python bench/upload.py --mb 500    # up to the API's limit

The file is made of random bytes (not sparse, so the page cache holds what is
read, as with a real file). Each msgcli is started by bench/measure.py
(`python -S`, wait4), so the RSS is its own.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import FAKE_KEY, measure  # noqa: E402

TARGET_MB = 60


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.received = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, value):
                data = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                left = int(self.headers["content-length"])
                if self.path.startswith("/v1/files"):
                    while left:  # read and drop: the server keeps nothing
                        left -= len(self.rfile.read(min(left, 1 << 20)))
                    server.received.append(int(self.headers["content-length"]))
                    self.send({"id": "file_bench01", "type": "file", "filename": "big.pdf",
                               "mime_type": "application/pdf", "size_bytes": 0,
                               "created_at": "2026-12-02T00:00:00Z"})
                    return
                self.rfile.read(left)
                self.send({"id": "msg_1", "type": "message", "role": "assistant",
                           "model": "claude-haiku-4-5", "stop_reason": "end_turn",
                           "stop_sequence": None,
                           "content": [{"type": "text", "text": "Read it."}],
                           "usage": {"input_tokens": 1, "output_tokens": 1}})

        super().__init__(("127.0.0.1", 0), Handler)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    msgcli = str(Path(sys.executable).with_name("msgcli"))
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.pdf"
        with open(big, "wb") as f:
            f.write(b"%PDF-1.4\n")
            for _ in range(args.mb):
                f.write(os.urandom(1 << 20))
            f.write(b"\n%%EOF\n")
        env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": FAKE_KEY,
               "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
               "NO_PROXY": "127.0.0.1", "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        print("| command | file | wall | peak RSS | target |\n|---|---:|---:|---:|---|")
        for argv in ([msgcli, "--upload", str(big)],
                     [msgcli, "--upload-files", "-d", str(big), "Summarize"]):
            wall, rss, code = measure(argv, env, None, Path(tmp) / "out")
            shown = " ".join(a if a != str(big) else "big.pdf" for a in argv[1:])
            print(f"| `msgcli {shown}` (exit {code}) | {big.stat().st_size / 2**20:.0f} MB "
                  f"| {wall:.2f} s | {rss:.1f} MB | ≤ {TARGET_MB} MB: "
                  f"{'met' if rss <= TARGET_MB and code == 0 else 'NOT met'} |")
    assert server.received and all(n > args.mb << 20 for n in server.received)
    server.shutdown()


if __name__ == "__main__":
    main()
