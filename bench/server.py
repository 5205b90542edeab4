"""A local Messages API for the benchmark: whole replies and long event streams,
precomputed so that the server is never what is being measured."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHORT_TEXT = "Hello! How can I help you today?"


def whole_reply(text):
    return json.dumps({
        "id": "msg_bench", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 9}}).encode()


def event(kind, payload):
    data = json.dumps({"type": kind, **payload}, separators=(",", ":"))
    return f"event: {kind}\ndata: {data}\n\n".encode()


def stream_reply(deltas):
    """An SSE body of `deltas` text deltas, chunk-framed one event per chunk as the
    API sends them. Returns (chunked body, the text it carries, its events' JSON
    lines as `--stream --json` prints them)."""
    events = [event("message_start", {"message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text",
                                                                    "text": ""}})]
    pieces = [f"w{i} " for i in range(deltas)]
    for piece in pieces:
        events.append(event("content_block_delta", {
            "index": 0, "delta": {"type": "text_delta", "text": piece}}))
    events += [event("content_block_stop", {"index": 0}),
               event("message_delta", {"delta": {"stop_reason": "end_turn",
                                                 "stop_sequence": None},
                                       "usage": {"output_tokens": deltas}}),
               event("message_stop", {})]
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    lines = b"".join(e.split(b"\n")[1][len(b"data: "):] + b"\n" for e in events)
    return body, "".join(pieces), lines


class BenchServer:
    def __init__(self, stream_deltas=50_000):
        self.whole = whole_reply(SHORT_TEXT)
        self.stream_body, self.stream_text, self.stream_lines = stream_reply(stream_deltas)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                remaining, head, tail = length, b"", b""
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    head = head or chunk[:4096]
                    tail = (tail + chunk)[-4096:]
                    remaining -= len(chunk)
                # "stream": true sits at either end of the body, whatever the client
                ends = (head + tail).replace(b" ", b"")
                wants_stream = b'"stream":true' in ends
                server.requests += 1
                if wants_stream:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.send_header("request-id", "req_bench")
                    self.end_headers()
                    self.wfile.write(server.stream_body)
                else:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(server.whole)))
                    self.send_header("request-id", "req_bench")
                    self.end_headers()
                    self.wfile.write(server.whole)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
