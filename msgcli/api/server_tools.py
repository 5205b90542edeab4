"""Server tools (web search, web fetch): their definitions, with their versions in
this one place; the continuation of a paused turn; and the citations they bring.

The versions are the newest in SDK 2.12's tool union (identical in 2.14), newer
than the vendored OpenAPI document, which stops at web_search_20260209 and
web_fetch_20260309. No beta header is needed for them in SDK 2.x. A model that
does not take a version answers 400; give an older one with --tools then.
"""

import json

WEB_SEARCH = {"type": "web_search_20260318", "name": "web_search"}
WEB_FETCH = {"type": "web_fetch_20260318", "name": "web_fetch"}

# pause_turn: the API paused a long server-tool turn. msgcli sends the
# conversation back this many times at most, then exits 6 as before.
MAX_CONTINUATIONS = 5


def definitions(opts):
    return ([dict(WEB_SEARCH)] if opts.web_search else []) + \
        ([dict(WEB_FETCH)] if opts.web_fetch else [])


def with_server_tools(opts, tools):
    """`tools` (from --tools or the file, or None) plus those the flags ask for."""
    extra = definitions(opts)
    if not extra:
        return tools
    tools = list(tools) if isinstance(tools, list) else []
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    return tools + [t for t in extra if t["name"] not in names]


def paired(content):
    """A paused turn's content, ready to send back: a server_tool_use with no
    result after it is dropped, as the API answers such a turn with a 400
    ("...tool use with id ... was found without a corresponding ..._tool_result
    block", anthropics/anthropic-sdk-python#1339); the model simply makes the
    call again."""
    answered = {b.get("tool_use_id") for b in content if isinstance(b, dict)}
    return [b for b in content if not (isinstance(b, dict) and
                                        b.get("type") == "server_tool_use" and
                                        b.get("id") not in answered)]


def continuation(messages, prefill, content):
    """The messages that continue a paused turn: the request's messages with the
    assistant turn so far (prefill included) as their last message."""
    messages = list(messages)
    lead = []
    if prefill is not None and messages and messages[-1].get("role") == "assistant":
        messages.pop()
        lead = [{"type": "text", "text": prefill}]
    return messages + [{"role": "assistant", "content": lead + paired(content)}]


def merge(first, later):
    """One message from a turn in parts: content joined (as it was sent back, so a
    saved conversation holds no unanswered server_tool_use), usage counts summed
    (nested ones too, as cache_creation and server_tool_use), the last part's stop."""
    merged = dict(later)
    merged["content"] = paired(list(first.get("content") or ())) + \
        list(later.get("content") or ())
    merged["usage"] = _sum(first.get("usage"), later.get("usage"))
    return merged


def _sum(a, b):
    a, b = (a if isinstance(a, dict) else {}), (b if isinstance(b, dict) else {})
    total = dict(a)
    for key, value in b.items():
        mine = a.get(key)
        if isinstance(value, dict) and isinstance(mine, dict):
            total[key] = _sum(mine, value)
        elif _count(value) and _count(mine):
            total[key] = mine + value
        else:
            total[key] = value
    return total


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool)


def citation_lines(message):
    """--citations: each citation of the answer's text as one JSON line, numbered
    in order of appearance, with the text it supports; opaque indexes dropped."""
    lines = []
    for block in message.get("content") or ():
        if not isinstance(block, dict) or block.get("type") != "text":
            continue
        for citation in block.get("citations") or ():
            if isinstance(citation, dict):
                shown = {k: v for k, v in citation.items() if k != "encrypted_index"}
                lines.append(json.dumps({"citation": len(lines) + 1, **shown,
                                         "text": block.get("text")},
                                        ensure_ascii=False, separators=(",", ":")))
    return lines
