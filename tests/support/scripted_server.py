"""A tiny HTTP/1.1 server on 127.0.0.1 that plays a scripted answer byte for byte.

pytest-httpserver covers ordinary JSON replies; this one exists for what werkzeug
will not do on purpose: send a stream in chunks of our choosing, pause until the
test says go, cut the connection mid-body, or answer with garbage.
"""

import json
import socket
import threading
import time


class Pause:
    """In a script: wait until the test sets the event (or the timeout passes)."""

    def __init__(self, event, timeout=10):
        self.event = event
        self.timeout = timeout


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds


class Drop:
    """In a script: close the connection abruptly, right here."""


def chunked(pieces, upper=False):
    """HTTP/1.1 chunked framing for each piece, then the terminating chunk; sizes in
    lower-case hexadecimal (as the API sends them), or upper."""
    size = "%X" if upper else "%x"
    out = [(size % len(p)).encode() + b"\r\n" + p + b"\r\n" for p in pieces if p]
    return out + [b"0\r\n\r\n"]


def sse_response(body_pieces, status="200 OK", headers=None, terminate=True):
    head = (f"HTTP/1.1 {status}\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            "transfer-encoding: chunked\r\nrequest-id: req_stream_test\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            + "\r\n").encode()
    script = [head]
    for piece in body_pieces:
        if isinstance(piece, (Pause, Sleep, Drop)):
            script.append(piece)
        else:
            script.extend(chunked([piece])[:-1])
    if terminate:
        script.append(b"0\r\n\r\n")
    return script


def plain_response(status, body, content_type="application/json", headers=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    head = (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\nrequest-id: req_plain_test\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            + "\r\n").encode()
    return [head, body]


class ScriptedServer:
    """Answers the Nth connection with scripts[N] (the last one repeats)."""

    def __init__(self, scripts):
        self.scripts = list(scripts)
        self.requests = []
        self.closed_early = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        count = 0
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            script = self.scripts[min(count, len(self.scripts) - 1)]
            count += 1
            threading.Thread(target=self._answer, args=(conn, script), daemon=True).start()

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                return None
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            piece = conn.recv(65536)
            if not piece:
                break
            body += piece
        return {"line": lines[0], "headers": headers, "body": body}

    def _answer(self, conn, script):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            req = self._read_request(conn)
            if req is None:
                return
            self.requests.append(req)
            for step in script:
                if isinstance(step, Pause):
                    step.event.wait(step.timeout)
                elif isinstance(step, Sleep):
                    time.sleep(step.seconds)
                elif isinstance(step, Drop):
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                else:
                    conn.sendall(step)
        except OSError:
            self.closed_early.set()
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        # shutdown wakes an accept() blocked in the serving thread; the socket is closed
        # only once that thread has ended, so its descriptor cannot be reused by the next
        # test's server while this thread might still accept on it
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(5)
        self._sock.close()

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.requests]
