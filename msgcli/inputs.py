"""Reading what the user gives: stdin, prompt words, and messages files.

Everything here fails with InputError (exit 2) naming what and where, before any
byte is sent to the API.
"""

import json
import os
import stat
import sys

from msgcli.errors import InputError

# The Messages API refuses request bodies over 32 MB; a file larger than that can
# never be sent, so it is refused before it is read into memory.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
ROLES = ("user", "assistant")


def megabytes(n):
    """Sizes as the API states its limits: 32 MB means 32 * 2**20 bytes."""
    return f"{n / 2**20:.1f} MB"


def _stdin_buffer():
    stdin = sys.stdin
    if stdin is None:
        return None
    return getattr(stdin, "buffer", stdin)


def stdin_is_terminal():
    stdin = sys.stdin
    try:
        return stdin is None or stdin.isatty()
    except ValueError:  # closed
        return True


def _wait_readable(buffer, timeout):
    """True when stdin has data or EOF within `timeout` seconds, or cannot be polled.

    Only pipes and sockets can stay open without ever delivering anything (a CI
    runner's unused stdin); files and /dev/null answer at once."""
    try:
        fd = buffer.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return True
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return True
    import select

    readable, _, _ = select.select([fd], [], [], timeout)
    return bool(readable)


def read_stdin_bytes(what, wait=None, console=None):
    """Read all of stdin. With `wait` (seconds), give up on a pipe that delivers
    nothing, not even EOF, in that time and return None."""
    if stdin_is_terminal():
        return None
    buffer = _stdin_buffer()
    if wait is not None and not _wait_readable(buffer, wait):
        if console is not None:
            console.line(f"warning: stdin sent nothing in {wait:g} s; ignoring it "
                         "(raise --stdin-timeout to wait longer, or redirect it "
                         "from /dev/null)")
        return None
    try:
        return buffer.read()
    except OSError as e:
        raise InputError(f"cannot read {what} from stdin: {e.strerror or e}") from None


def decode_utf8(data, where):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{where} is not valid UTF-8: bad byte at line {line} "
                         f"(byte offset {e.start})") from None


def read_file_bytes(path, what, limit=MAX_REQUEST_BYTES):
    """A file's bytes, or an InputError saying why not."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if limit is not None and size > limit:
                raise InputError(
                    f"{what} {path!r} is {megabytes(size)}; the API accepts requests "
                    f"of at most {megabytes(limit)}")
            return f.read()
    except IsADirectoryError:
        raise InputError(f"{what} {path!r} is a directory, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path!r} does not exist") from None
    except PermissionError:
        raise InputError(f"{what} {path!r} cannot be read: permission denied") from None
    except OSError as e:
        raise InputError(f"{what} {path!r} cannot be read: {e.strerror or e}") from None
    except ValueError:  # a NUL byte in the path
        raise InputError(f"{what} {path!r} is not a valid file name") from None


def join_prompt(stdin_text, words):
    """The user's text: stdin data first, then a blank line, then the instruction."""
    prompt = " ".join(words)
    parts = [p for p in (stdin_text, prompt) if p and p.strip()]
    if stdin_text and prompt and len(parts) == 2:
        return stdin_text.rstrip("\n") + "\n\n" + prompt
    return parts[0] if parts else ""


def parse_json_text(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{where}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None


class Conversation:
    """A request body read from a file: its messages plus any other fields."""

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


def load_conversation(data, where):
    """Parse the bytes of a messages file: a JSON array of messages, or a request
    body object. Leading OpenAI-style system messages are lifted into `system`."""
    value = parse_json_text(decode_utf8(data, where), where)
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
    return Conversation(messages, fields, is_object)


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
