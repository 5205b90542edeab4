"""What an anthropic-version accepts, checked before sending.

2026-10-21 (the default of SDK 2.x, opt-in here with --api-version) rejects with
HTTP 400, in Messages, token counting and batch requests alike: temperature, top_p
and top_k, even at their defaults; a document block directly in an assistant turn;
and a non-empty `citations` array on a text block in a user turn (directly or in a
search_result). msgcli refuses these locally, exit 2, naming where they came from,
so no request is spent on a certain 400. Versions after it are assumed to keep
its rules.
"""

import re

from msgcli.errors import InputError

V2026_10_21 = "2026-10-21"
SAMPLING = {"temperature": "--temperature", "top_p": "--top-p", "top_k": "--top-k"}


def at_least(version, than):
    """True when `version` (YYYY-MM-DD) is `than` or later; other text is not."""
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", version or "")) and version >= than


def refuse_what_it_rejects(body, opts):
    """InputError (exit 2) for what --api-version rejects in `body`, before sending."""
    if not at_least(opts.api_version, V2026_10_21):
        return
    why = f"--api-version {opts.api_version} does not accept"
    for field, flag in SAMPLING.items():
        if field in body:
            if getattr(opts, field) is not None:
                source = flag
            elif field in (opts.extra or {}):
                source = "--extra"
            else:
                source = "the -f/-c file"
            raise InputError(f"{why} {field} (from {source}): drop it, or use "
                             "--api-version 2023-06-01")
    for n, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        role = message.get("role")
        for block in content:
            if not isinstance(block, dict):
                continue
            if role == "assistant" and block.get("type") == "document":
                raise InputError(f"{why} a document block in an assistant turn "
                                 f"(messages[{n}]): move it to a user turn")
            if role == "user" and _cites(block):
                raise InputError(f"{why} citations on user text (messages[{n}]): "
                                 "remove the citations arrays from user turns")


def _cites(block):
    if block.get("type") == "text":
        return bool(block.get("citations"))
    if block.get("type") == "search_result":
        return any(isinstance(b, dict) and b.get("type") == "text" and b.get("citations")
                   for b in block.get("content") or ())
    return False
