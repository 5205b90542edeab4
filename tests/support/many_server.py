"""A local Messages API for --jsonl tests: concurrent, with optional latency, a
request-rate limit answered with 429s, and a log of every request it got.

Each reply echoes the request's last user text ("echo: ..."), so a test can tell
which line a result belongs to; `respond(body)` may answer otherwise, and a request
for which `trickle(body)` is true is answered a byte at a time (from its headers
on, or from its body on), slowly, until the client hangs up or the server closes.
"""

import json
import random
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.sse import message_events, sse_body


def last_text(body):
    messages = body.get("messages") or []
    content = messages[-1]["content"] if messages else ""
    if isinstance(content, list):
        content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content


def reply_for(body, text=None, stop_reason="end_turn"):
    return {"id": "msg_many", "type": "message", "role": "assistant",
            "model": body.get("model", "m"),
            "content": [{"type": "text", "text": text if text is not None
                         else "echo: " + last_text(body)}],
            "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5}}


class Listener(ThreadingHTTPServer):
    request_queue_size = 256  # the listen() backlog; with 5, a SYN can wait 1 s

    def handle_error(self, request, client_address):
        # a client that went away (a killed msgcli) is expected here; socketserver
        # would print a traceback into whatever test captures stderr at that moment
        pass


class ManyServer:
    def __init__(self, latency=0.0, jitter=0.0, rate=None, retry_after="1",
                 respond=None, ratelimit_headers=True, trickle=None, trickle_headers=False):
        self.latency, self.jitter, self.rate = latency, jitter, rate
        self.retry_after = retry_after
        self.respond = respond
        self.trickle, self.trickle_headers = trickle, trickle_headers
        self.hung_up = []  # the texts of trickled replies the client hung up on
        self.ratelimit_headers = ratelimit_headers
        self.lock = threading.Lock()
        self.closed = threading.Event()  # set on close: a reply held back gives up
        self.bodies = []        # every request body, in arrival order
        self.statuses = []      # the status of every answer
        self.tokens = float(rate) if rate else 0.0
        self.refilled = time.monotonic()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                # headers and body go out in two writes: without this, Nagle's
                # algorithm holds the body until the client's delayed ACK (40 ms)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().setup()

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if server.trickle is not None and server.trickle(body):
                    return server.dribble(self, body)
                status, headers, payload = server.answer(body, dict(self.headers))
                kind = "application/json"
                if body.get("stream") and status == 200:
                    data, kind = sse_body(message_events(payload), ascii=True), "text/event-stream"
                else:
                    data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_{len(server.bodies)}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = Listener(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def dribble(self, handler, body):
        """A reply far longer than it will take to send, a byte every 20 ms."""
        with self.lock:
            self.bodies.append(body)
        data = json.dumps(reply_for(body, text="x" * 100_000)).encode()
        head = (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\nrequest-id: req_trickle\r\n\r\n").encode()
        if not self.trickle_headers:
            handler.wfile.write(head)
            head = b""
        handler.close_connection = True
        data = head + data
        try:
            for i in range(len(data)):
                handler.wfile.write(data[i:i + 1])
                if self.closed.wait(0.02):
                    return
        except OSError:
            with self.lock:
                self.hung_up.append(last_text(body))

    def _take(self):
        """A token from the bucket (capacity and refill: `rate` per second)."""
        now = time.monotonic()
        self.tokens = min(float(self.rate),
                          self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def _limit_headers(self):
        if not self.ratelimit_headers:
            return {}
        full_in = (self.rate - self.tokens) / self.rate
        reset = datetime.now(UTC) + timedelta(seconds=full_in)
        return {"anthropic-ratelimit-requests-limit": str(self.rate),
                "anthropic-ratelimit-requests-remaining": str(int(self.tokens)),
                "anthropic-ratelimit-requests-reset": reset.isoformat().replace("+00:00",
                                                                                "Z")}

    def answer(self, body, headers):
        with self.lock:
            self.bodies.append(body)
            limited = self.rate is not None and not self._take()
            limit_headers = self._limit_headers() if self.rate else {}
        if limited:
            extra = dict(limit_headers)
            if self.retry_after is not None:
                extra["retry-after"] = self.retry_after
            with self.lock:
                self.statuses.append(429)
            return 429, extra, {"type": "error", "error": {
                "type": "rate_limit_error", "message": "slow down"}}
        delay = self.latency + (random.random() * self.jitter if self.jitter else 0)
        if delay:
            time.sleep(delay)
        answer = self.respond(body) if self.respond else None
        status, extra, payload = answer if answer else (200, {}, reply_for(body))
        extra = {**limit_headers, **extra}
        with self.lock:
            self.statuses.append(status)
        return status, extra, payload

    def texts(self):
        with self.lock:
            return [last_text(b) for b in self.bodies]

    def close(self):
        self.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()
