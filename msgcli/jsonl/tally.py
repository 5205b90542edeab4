"""The tally of a --jsonl run and its live progress line (the single-run waiting
line is msgcli.output.progress).

Workers and the writer count into one Tally (under its lock); the main thread
shows it with Console.status, which writes only when stderr is a terminal:
done/total (the total once known), failures, tokens in and out, requests per
second and the time left.
"""

import os
import stat
import threading
import time

EVERY = 0.2  # seconds between two updates of the line


def count_lines(stream):
    """Non-blank lines left in stdin when it is a regular file (else None), read
    with pread so that the stream's own position does not move. Called before the
    stream has buffered anything."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        offset = os.lseek(fd, 0, os.SEEK_CUR)
    except (OSError, ValueError, AttributeError):
        return None
    count, tail = 0, b""
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return count + (1 if tail.strip() else 0)
        offset += len(chunk)
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        count += sum(1 for line in lines if line.strip())


class Tally:
    def __init__(self, console, total=None):
        self.console = console
        self.total = total
        self.lock = threading.Lock()
        self.done = self.failed = self.sent = 0
        self.usage = {}
        self.started = time.monotonic()
        self.shown = 0.0

    def sent_one(self, usage):
        with self.lock:
            self.sent += 1
            if isinstance(usage, dict):
                for key, value in usage.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        self.usage[key] = self.usage.get(key, 0) + value

    def written(self, status):
        with self.lock:
            self.done += 1
            self.failed += status != 0

    def show(self):
        now = time.monotonic()
        if now - self.shown < EVERY or not self.console.is_terminal():
            return
        self.shown = now
        with self.lock:
            done, failed, sent = self.done, self.failed, self.sent
            tokens_in, tokens_out = (self.usage.get("input_tokens", 0),
                                     self.usage.get("output_tokens", 0))
        rate = sent / max(now - self.started, 1e-6)
        total = self.total
        text = f"{done:,}/{'?' if total is None else f'{total:,}'} done"
        if failed:
            text += f", {failed:,} failed"
        text += f", tokens {tokens_in:,} in / {tokens_out:,} out, {rate:.1f} req/s"
        if total is not None and rate > 0 and done < total:
            left = int((total - done) / rate)
            text += f", ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        self.console.status(text)

    def clear(self):
        self.console.clear_status()
