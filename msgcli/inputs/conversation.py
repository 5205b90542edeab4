"""Conversation files: the history a shell script keeps between runs; -f's files.

A file is a JSON array of messages, or a request object holding `messages`.
It is replaced atomically (temp file in the same directory, fsync, rename, fsync
of the directory): after a crash, Ctrl-C or a full disk it holds either the old
conversation or the new one, never half of either. A symlink is followed: the file
it points to is replaced and the link stays a link.

Runs that share a conversation file take turns: each holds an advisory lock from
reading the file to renaming the new one into place (see `locked`).
"""

import errno
import json
import os
import time
from contextlib import contextmanager

from msgcli.errors import InputError, MsgcliError
from msgcli.inputs import reading as inputs_reading
from msgcli.inputs.reading import (
    decode_utf8,
    json_kind,
    parse_json_text,
    read_file_bytes,
    read_stdin_bytes,
)
from msgcli.output import atomic
from msgcli.status import ExitStatus

# How long a run waits for another run's turn on the same conversation file before
# it gives up (exit 16) without sending anything.
LOCK_WAIT_SECONDS = 30.0

ROLES = ("user", "assistant")


class History:
    """A conversation read from a file: its messages plus any other request fields."""

    def __init__(self, messages, fields=None, is_object=False, leading=(), saved=None):
        self.messages = messages
        self.fields = fields or {}
        self.is_object = is_object
        # a rewrite keeps the file as written; only the request lifts system messages
        self.leading = list(leading)
        self.saved = self.fields if saved is None else saved

    def to_json_value(self):
        messages = self.leading + self.messages
        if not self.is_object:
            return messages
        value = dict(self.saved)
        value["messages"] = messages
        return value


def load(data, where):
    """Parse the bytes of a messages file: a JSON array of messages, or a request
    body object. Leading OpenAI-style system messages are lifted into `system`.

    Pass the bytes as the only reference to them: they are let go once decoded,
    so that a big file's bytes, text and parsed value are never held at once."""
    text = decode_utf8(data, where)
    del data
    return from_value(parse_json_text(text, where), where)


def from_value(value, where):
    """A History from an already parsed messages array or request object."""
    if isinstance(value, list):
        fields, raw_messages, prefix, is_object = {}, value, "", False
    elif isinstance(value, dict):
        if "messages" not in value:
            raise InputError(f"{where}: a JSON object must hold a 'messages' array")
        fields = {k: v for k, v in value.items() if k != "messages"}
        raw_messages, prefix, is_object = value["messages"], "messages", True
        if not isinstance(raw_messages, list):
            raise InputError(f"{where}: 'messages' must be an array, "
                             f"not {json_kind(raw_messages)}")
    else:
        raise InputError(f"{where}: expected a JSON array of messages or a request "
                         f"object, not {json_kind(value)}")

    saved = dict(fields)
    system_parts = []
    messages = []
    for i, message in enumerate(raw_messages):
        at = f"{where}: {prefix}[{i}]"
        _check_message(message, at)
        if message["role"] == "system":
            if messages:
                raise InputError(f"{at}: a system message is only allowed before the "
                                 "first user or assistant message")
            system_parts.append(message["content"])
            continue
        messages.append(message)
    if system_parts:
        if not isinstance(fields.get("system"), (str, list, type(None))):
            raise InputError(f"{where}: 'system' must be text or an array of text "
                             f"blocks, not {json_kind(fields['system'])}")
        fields["system"] = _merge_system(fields.get("system"), system_parts)
    return History(messages, fields, is_object, raw_messages[:len(system_parts)], saved)


def _merge_system(existing, lifted):
    parts = ([existing] if existing else []) + lifted
    if all(isinstance(p, str) for p in parts):
        return "\n\n".join(parts)
    blocks = []
    for part in parts:
        if isinstance(part, str):
            blocks.append({"type": "text", "text": part})
        else:
            blocks.extend(part)
    return blocks


def _check_message(message, at):
    if not isinstance(message, dict):
        raise InputError(f"{at}: a message must be an object with 'role' and 'content', "
                         f"not {json_kind(message)}")
    role = message.get("role")
    if role not in ROLES + ("system",):
        raise InputError(f"{at}.role: {role!r} is not 'user' or 'assistant' "
                         "(or a leading 'system')")
    unknown = sorted(set(message) - {"role", "content"})
    if unknown:
        raise InputError(f"{at}: unknown field {unknown[0]!r} "
                         "(a message has only 'role' and 'content')")
    if "content" not in message:
        raise InputError(f"{at}: missing 'content'")
    content = message["content"]
    if isinstance(content, str):
        if not content:
            raise InputError(f"{at}.content: empty text")
        return
    if not isinstance(content, list):
        raise InputError(f"{at}.content: must be a string or an array of content "
                         f"blocks, not {json_kind(content)}")
    if not content:
        raise InputError(f"{at}.content: empty array")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InputError(f"{at}.content[{j}]: a content block must be an object "
                             "with a string 'type'")
        if role == "system" and block["type"] != "text":
            raise InputError(f"{at}.content[{j}]: a system message may hold only text "
                             "blocks")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise InputError(f"{at}.content[{j}].text: must be a string")


def read(opts):
    """The conversation so far, from -c or -f."""
    if opts.conversation:
        if not os.path.exists(opts.conversation):
            return History([], {}, is_object=False)
        return load(read_file_bytes(opts.conversation, "conversation file"),
                                 opts.conversation)
    if opts.messages == "-":
        data = [read_stdin_bytes("messages")]  # (load() lets the bytes go)
        if data[0] is None:
            raise InputError("-f - reads messages from stdin, but stdin is a terminal")
        if not data[0] or data[0].isspace():  # as `not .strip()`, without a copy
            raise InputError("-f -: stdin is empty, expected a JSON messages array")
        return load(data.pop(), "stdin")
    if opts.messages:
        return load(read_file_bytes(opts.messages, "messages file"),
                                 opts.messages)
    return History([], {})


# One fixed layout, so a rewrite changes only the turns that were appended.
LAYOUT = {"ensure_ascii": False, "indent": 2, "default": inputs_reading.json_default}


def dumps(value):
    return json.dumps(value, **LAYOUT) + "\n"


def assistant_turn(message, prefill=None):
    """The reply as a history turn: its content blocks as returned (thinking
    signatures and tool_use ids intact), with a prefill folded back in front."""
    content = [dict(block) for block in message.get("content") or ()]
    if prefill:
        if content and content[0].get("type") == "text":
            content[0]["text"] = prefill + (content[0].get("text") or "")
        else:
            content.insert(0, {"type": "text", "text": prefill})
    return {"role": "assistant", "content": content}


def save(path, history, turn, message, prefill=None):
    """Append the new user turn and the reply to the history and rewrite the file."""
    history.messages = history.messages + ([turn] if turn else []) + \
        [assistant_turn(message, prefill)]
    from msgcli.api.request import json_chunks, json_parts

    # dumps(), streamed: a big turn (a 20 MB stdin) is written from the strings
    # the request was sent from, a piece at a time, never joined or encoded whole
    parts = json_parts(history.to_json_value(), **LAYOUT)
    parts[-1] += "\n"
    with atomic.replacing(path, "conversation file") as f:
        for chunk in json_chunks(parts):
            f.write(chunk)


@contextmanager
def locked(path, console=None, wait=LOCK_WAIT_SECONDS):
    """Hold the conversation file's turn: an exclusive flock on a lock file beside
    the (symlink-resolved) file, `.NAME.lock`, waited for up to `wait` seconds.

    Not on the file itself: the file is replaced by a rename, so a lock on it
    would guard an inode that is no longer at the path, and a run arriving later
    would lock the new one and go ahead at once. The lock file is never removed,
    for the same reason. The lock is released when the process ends, however."""
    real = atomic.check_writable(path, "conversation file")
    lock_path = os.path.join(os.path.dirname(real), "." + os.path.basename(real) + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise InputError(f"cannot lock conversation file {path!r}: cannot open "
                         f"{lock_path!r}: {e.strerror or e}") from None
    try:
        _acquire(fd, path, console, wait)
        yield real
    finally:
        if console is not None:
            console.clear_status()
        os.close(fd)


def _acquire(fd, path, console, wait):
    import fcntl

    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise InputError(f"cannot lock conversation file {path!r}: "
                                 f"{e.strerror or e}") from None
        left = deadline - time.monotonic()
        if left <= 0:
            raise MsgcliError(
                f"conversation file {path!r} is busy: another run has held it for "
                f"{wait:g} s; nothing was sent", ExitStatus.CONVERSATION_BUSY)
        if console is not None:
            console.status(f"waiting for another run to finish with {path}")
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.5)
