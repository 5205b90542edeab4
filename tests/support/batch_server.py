"""A local stand-in for the Message Batches engine, as a pytest-httpserver handler.

It behaves as the API documents: a created batch is `in_progress` for a few polls
(`polls`), then `ended` with a results_url; results come back shuffled; each
request succeeds, errors, or is canceled or expired as `outcome` decides; a
cancel makes the batch `canceling` and its unfinished requests `canceled`; the
list is paged (`limit`, `after_id`, `has_more`, `last_id`). Polls may carry a
retry-after (`retry_after`); `fail_first` makes the first call to each
endpoint answer 529 once, to show the retries, and `fail_polls` makes the first
that many polls answer 503. Every request is logged in
`calls` as (method, path, query, body). Every create body is validated against
the OpenAPI document's CreateMessageBatchParams (BetaCreateMessageBatchParams
when an anthropic-beta header asks for betas), as the API would: one it
rejects is answered 400 invalid_request_error (so a test expecting success
fails) and kept in `invalid`; the valid ones are kept in `creates`.
"""

import json
import random
import re

from werkzeug import Response

from tests.conftest import message
from tests.support.spec import validator

_PATH = re.compile(r"^/v1/messages/batches(?:/(?P<id>[^/]+))?(?:/(?P<what>cancel|results))?$")
COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")


def full_message(text, stop_reason="end_turn"):
    """A reply with every field the OpenAPI document's Message requires."""
    usage = dict.fromkeys(("cache_creation", "cache_creation_input_tokens",
                           "cache_read_input_tokens", "inference_geo", "server_tool_use",
                           "service_tier"))
    usage.update(input_tokens=10, output_tokens=5)
    return message(content=[{"type": "text", "text": text, "citations": None}],
                   stop_reason=stop_reason, stop_details=None, container=None, usage=usage)


def answer(custom_id, params):
    """The default outcome: a succeeded reply that names the request."""
    return {"type": "succeeded", "message": full_message(f"answer {custom_id}")}


def errored(error_type="invalid_request_error", text="bad request"):
    return {"type": "errored", "error": {"type": "error", "request_id": "req_b1",
                                         "error": {"type": error_type, "message": text}}}


class BatchEngine:
    def __init__(self, httpserver, polls=2, outcome=answer, retry_after=None,
                 fail_first=False, seed=7, limit=None, fail_polls=0):
        self.server = httpserver
        self.base = httpserver.url_for("/").rstrip("/")
        self.polls = polls
        self.outcome = outcome
        self.retry_after = retry_after
        self.fail_first = fail_first
        self.fail_polls = fail_polls
        self.random = random.Random(seed)
        self.page_limit = limit
        self.batches = {}  # id -> {"object", "requests", "polls", "canceled"}
        self.order = []
        self.calls = []
        self.creates = []
        self.invalid = []
        self.failed = set()
        httpserver.expect_request(re.compile(r"^/v1/messages/batches.*")) \
            .respond_with_handler(self.handle)

    # what a test sets up directly
    def add(self, requests, ended=False):
        """A batch that exists already, as if created by another process."""
        batch_id = self._create(requests)
        if ended:
            self.batches[batch_id]["polls"] = self.polls
            self._advance(batch_id, poll=False)
        return batch_id

    def _create(self, requests):
        batch_id = f"msgbatch_{len(self.order) + 1:04d}"
        counts = dict.fromkeys(COUNT_KEYS, 0)
        counts["processing"] = len(requests)
        self.batches[batch_id] = {"requests": requests, "polls": 0, "canceled": False,
                                  "object": {
            "id": batch_id, "type": "message_batch", "processing_status": "in_progress",
            "request_counts": counts, "created_at": "2026-11-29T20:00:00Z",
            "expires_at": "2026-11-30T20:00:00Z", "ended_at": None,
            "cancel_initiated_at": None, "archived_at": None, "results_url": None}}
        self.order.append(batch_id)
        return batch_id

    def _advance(self, batch_id, poll=True):
        state = self.batches[batch_id]
        batch = state["object"]
        if batch["processing_status"] == "ended":
            return
        if poll:
            state["polls"] += 1
        total = len(state["requests"])
        if state["polls"] >= self.polls or state["canceled"]:
            outcomes = [self.result(batch_id, r) for r in state["requests"]]
            counts = dict.fromkeys(COUNT_KEYS, 0)
            for item in outcomes:
                kind = item["result"].get("type")
                counts[kind] = counts.get(kind, 0) + 1
            self.random.shuffle(outcomes)
            state["results"] = outcomes
            batch.update(processing_status="ended", request_counts=counts,
                         ended_at="2026-11-29T21:00:00Z",
                         results_url=f"{self.base}/v1/messages/batches/{batch_id}/results")
        else:  # part of the way there
            done = total * state["polls"] // self.polls
            batch["request_counts"].update(processing=total - done, succeeded=done)

    def result(self, batch_id, req):
        if self.batches[batch_id]["canceled"]:
            return {"custom_id": req["custom_id"], "result": {"type": "canceled"}}
        return {"custom_id": req["custom_id"],
                "result": self.outcome(req["custom_id"], req["params"])}

    # the HTTP side
    def handle(self, request):
        body = request.get_data()
        self.calls.append((request.method, request.path, request.query_string.decode(),
                           body))
        match = _PATH.match(request.path)
        if not match:
            return self._error(404, "not_found_error", "no such path")
        batch_id, what = match.group("id"), match.group("what")
        endpoint = (request.method, what or ("one" if batch_id else "all"))
        if self.fail_first and endpoint not in self.failed:
            self.failed.add(endpoint)
            return self._error(529, "overloaded_error", "Overloaded")
        if batch_id is not None and batch_id not in self.batches:
            return self._error(404, "not_found_error", f"no batch {batch_id}")
        if endpoint == ("POST", "all"):
            value = json.loads(body)
            errors = [f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in
                      validator(("Beta" if request.headers.get("anthropic-beta") else "")
                                + "CreateMessageBatchParams").iter_errors(value)]
            if errors:
                self.invalid.append((value, errors))
                return self._error(400, "invalid_request_error", "; ".join(errors[:3]))
            self.creates.append(value)
            return self._json(self.batches[self._create(value["requests"])]["object"])
        if endpoint == ("GET", "all"):
            return self._list(request.args)
        if endpoint == ("GET", "one") and self.fail_polls > 0:
            self.fail_polls -= 1
            return self._error(503, "api_error", "Service Unavailable")
        if endpoint == ("GET", "one"):
            self._advance(batch_id)
            batch = self.batches[batch_id]["object"]
            headers = {}
            if self.retry_after is not None and batch["processing_status"] != "ended":
                headers["retry-after"] = str(self.retry_after)
            return self._json(batch, headers)
        if endpoint == ("POST", "cancel"):
            state = self.batches[batch_id]
            if state["object"]["processing_status"] != "ended":
                state["canceled"] = True
                state["object"].update(processing_status="canceling",
                                       cancel_initiated_at="2026-11-29T20:30:00Z")
            return self._json(state["object"])
        if endpoint == ("GET", "results"):
            state = self.batches[batch_id]
            if state["object"]["processing_status"] != "ended":
                return self._error(400, "invalid_request_error", "not ended")
            lines = "".join(json.dumps(r) + "\n" for r in state["results"])
            return Response(lines, 200, {"content-type": "application/x-jsonl",
                                         "request-id": "req_results"})
        return self._error(405, "invalid_request_error", "method not allowed")

    def _list(self, args):
        limit = int(args.get("limit", 20))
        if self.page_limit:
            limit = min(limit, self.page_limit)
        newest_first = list(reversed(self.order))
        start = newest_first.index(args["after_id"]) + 1 if "after_id" in args else 0
        page = newest_first[start:start + limit]
        return self._json({"data": [self.batches[i]["object"] for i in page],
                           "has_more": start + limit < len(newest_first),
                           "first_id": page[0] if page else None,
                           "last_id": page[-1] if page else None})

    @staticmethod
    def _json(value, headers=None):
        return Response(json.dumps(value), 200, {"content-type": "application/json",
                                                 "request-id": "req_batch",
                                                 **(headers or {})})

    @staticmethod
    def _error(code, error_type, text):
        return Response(json.dumps({"type": "error", "error": {"type": error_type,
                                                               "message": text},
                                    "request_id": "req_err"}), code,
                        {"content-type": "application/json"})

    def paths(self, method=None):
        return [path for m, path, _, _ in self.calls if method in (None, m)]
