"""A batch's results as --jsonl result lines: each result turned into the line
--jsonl would write for that request (msgcli.jsonl.lines's format, msgcli.jsonl.runner's text
and status rules), put in input order when msgcli knows it, and printed.

Batches return results in any order. The order is known when msgcli submitted
the batches in this process, or when every custom_id is a line number (the ids
msgcli assigns); otherwise the lines keep the API's order. Either way they pass
through a temporary file indexed by custom_id, so memory holds the index, never
the results.
"""

import os
import re
import tempfile

from msgcli.api import reply
from msgcli.batch.endpoints import scratch
from msgcli.errors import BadResponseError
from msgcli.jsonl import lines as jsonl_lines
from msgcli.output import render
from msgcli.output.console import Collector
from msgcli.status import ExitStatus

_LINE_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
_OUTCOMES = {
    "canceled": (ExitStatus.BATCH_CANCELED,
                 "the batch was canceled before this request ran"),
    "expired": (ExitStatus.BATCH_EXPIRED,
                "the batch ended (24 h) before this request ran"),
}


def print_results(opts, api, ended, out, console):
    """Each batch's results, batch after batch; 0 when every request has status 0,
    otherwise 9. `ended` is [(batch, custom_ids in input order, or None)]."""
    done = failed = 0
    usage = {}
    for batch, order in ended:
        with Reorder() as held:
            for custom_id, item in api.results(batch):
                line = result_of(opts, custom_id, item)
                # a lone surrogate (a \ud800 escape in a reply) passes as --jsonl
                # lets it, not as a crash
                held.add(custom_id, jsonl_lines.dumps(line).encode("utf-8", "surrogatepass"))
                done += 1
                failed += line["status"] != ExitStatus.OK
                for key, value in (line.get("usage") or {}).items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        usage[key] = usage.get(key, 0) + value
            if order is None and held.ids and all(_LINE_NUMBER.fullmatch(i)
                                                  for i in held.ids):
                order = sorted(held.ids, key=int)
            for custom_id, data in held.lines(order):
                if data is None:
                    done, failed = done + 1, failed + 1
                    data = jsonl_lines.dumps(jsonl_lines.error_result(custom_id, BadResponseError(
                        f"batch {batch['id']}: no result for this request in the "
                        "results file"), include_message=opts.json)).encode("utf-8")
                out.write(data.decode("utf-8", "surrogatepass") + "\n")
        out.flush()
    if opts.usage:
        console.line(render.usage_line(usage))
    if failed:
        console.line(f"{failed} of {done} requests did not complete; each result line "
                     "says why")
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK


def result_of(opts, custom_id, item):
    """The --jsonl result line of one batch result."""
    result = item["result"]
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message")
        try:
            if not isinstance(message, dict):
                raise BadResponseError("a succeeded result without a message")
            reply.check_message(message, "a succeeded result")
        except BadResponseError as e:
            return jsonl_lines.error_result(custom_id, e, include_message=opts.json)
        return jsonl_lines.answer_line(opts, custom_id, message, text_of(opts, message))
    if kind == "errored":
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        return jsonl_lines.error_result(custom_id, reply.api_error(error),
                                  include_message=opts.json)
    if kind in _OUTCOMES:
        code, text = _OUTCOMES[kind]
        return jsonl_lines.result_line(custom_id, code, include_message=opts.json,
                                 error={"type": kind, "message": text, "http_status": None})
    return jsonl_lines.error_result(custom_id, BadResponseError(
        f"a result of unknown type {kind!r}"), include_message=opts.json)


def text_of(opts, message):
    """What a single run prints for this reply, as --jsonl puts it in a line."""
    out = Collector()
    render.whole(opts.replace(json=False, no_newline=True, show_thinking=False), None,
                 message, out, None)
    return out.text()


class Reorder:
    """Result lines held in a temporary file, indexed by custom_id, and given back
    in any order: memory holds the index, not the results."""

    @scratch("the results")
    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="msgcli-results-")
        self.index = {}

    @property
    def ids(self):
        return self.index.keys()

    @scratch("the results")
    def add(self, custom_id, data):
        self.file.seek(0, os.SEEK_END)
        self.index.setdefault(custom_id, (self.file.tell(), len(data)))
        self.file.write(data)

    @scratch("the results")
    def _read(self, custom_id):
        offset, length = self.index[custom_id]
        self.file.seek(offset)
        return self.file.read(length)

    def lines(self, order):
        """(custom_id, line) in `order`, None for an id without a result, then any
        result not in `order` in the order it came."""
        placed = set()
        for custom_id in order or ():
            placed.add(custom_id)
            yield custom_id, self._read(custom_id) if custom_id in self.index else None
        for custom_id in self.index:
            if custom_id not in placed:
                yield custom_id, self._read(custom_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

