"""Conversation files: the history a shell script keeps between runs, and the
messages files of -f.

A file is a JSON array of messages, or a request object holding `messages`.
It is replaced atomically (temp file in the same directory, fsync, rename, fsync
of the directory): after a crash, Ctrl-C or a full disk it holds either the old
conversation or the new one, never half of either.
"""

import json
import os
import tempfile

from msgcli.errors import InputError
from msgcli.files import decode_utf8, parse_json_text, read_file_bytes, read_stdin_bytes

ROLES = ("user", "assistant")


class History:
    """A conversation read from a file: its messages plus any other request fields."""

    def __init__(self, messages, fields=None, is_object=False):
        self.messages = messages
        self.fields = fields or {}
        self.is_object = is_object

    def to_json_value(self):
        if not self.is_object:
            return self.messages
        value = dict(self.fields)
        value["messages"] = self.messages
        return value


def load(data, where):
    """Parse the bytes of a messages file: a JSON array of messages, or a request
    body object. Leading OpenAI-style system messages are lifted into `system`."""
    return from_value(parse_json_text(decode_utf8(data, where), where), where)


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
                             f"not {_json_type(raw_messages)}")
    else:
        raise InputError(f"{where}: expected a JSON array of messages or a request "
                         f"object, not {_json_type(value)}")

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
        fields["system"] = _merge_system(fields.get("system"), system_parts)
    return History(messages, fields, is_object)


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


def _json_type(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")


def _check_message(message, at):
    if not isinstance(message, dict):
        raise InputError(f"{at}: a message must be an object with 'role' and 'content', "
                         f"not {_json_type(message)}")
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
                         f"blocks, not {_json_type(content)}")
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
        data = read_stdin_bytes("messages")
        if data is None:
            raise InputError("-f - reads messages from stdin, but stdin is a terminal")
        if not data.strip():
            raise InputError("-f -: stdin is empty, expected a JSON messages array")
        return load(data, "stdin")
    if opts.messages:
        return load(read_file_bytes(opts.messages, "messages file"),
                                 opts.messages)
    return History([], {})


def dumps(value):
    # One fixed layout, so a rewrite changes only the turns that were appended.
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


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
    write_atomic(path, dumps(history.to_json_value()))


def check_writable(path, what):
    """Before a paid request: the file's directory exists and takes a new file
    (write_atomic creates a temporary file beside it), so the answer is not lost
    after it was paid for."""
    if "\0" in path:
        raise InputError(f"{what} {path!r} is not a valid file name")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{what} {path!r} is a directory")
    if not os.path.isdir(directory):
        raise InputError(f"{what} {path!r}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path!r}: cannot create files in {directory!r} "
                         "(permission denied)")


def write_atomic(path, text, what="conversation file"):
    if "\0" in path:
        raise InputError(f"{what} {path!r} is not a valid file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"cannot write {what} {path!r}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(directory)
    except OSError as e:
        raise InputError(f"cannot write {what} {path!r}: {e.strerror or e}; it was left "
                         "as it was") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
