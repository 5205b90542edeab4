"""Reading what the user gives: stdin, prompt words, files, and from them the
history so far and the new user turn.

Everything here fails with InputError (exit 2) naming what and where, before any
byte is sent to the API. Every read is bounded: a file, a device or a pipe is
read up to the API's request limit and one byte more.
"""

import json
import os
import stat
import sys

from msgcli.errors import InputError
from msgcli.limits import MAX_REQUEST_BYTES, megabytes


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


def _read_bounded(f, what, limit):
    data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} is over {megabytes(limit)}; the API accepts requests "
                         f"of at most {megabytes(MAX_REQUEST_BYTES)}")
    return data


def read_stdin_bytes(what, wait=None, console=None, limit=MAX_REQUEST_BYTES):
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
        return _read_bounded(buffer, f"{what} on stdin", limit)
    except OSError as e:
        raise InputError(f"cannot read {what} from stdin: {e.strerror or e}") from None


def decode_utf8(data, where, strip_newlines=False):
    """`data` as text, without a leading BOM (and, if asked, trailing newlines).

    Decoded through a memoryview, so that a big input is never copied as bytes:
    the bytes and the text are the only copies, and only while this runs."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    end = len(data)
    while strip_newlines and end > start and data[end - 1] == 0x0A:
        end -= 1
    try:
        return str(memoryview(data)[start:end], "utf-8")
    except UnicodeDecodeError as e:
        offset = start + e.start
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(f"{where} is not valid UTF-8: bad byte at line {line} "
                         f"(byte offset {offset})") from None


def read_file_bytes(path, what, limit=MAX_REQUEST_BYTES):
    """A file's bytes, or an InputError saying why not."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:  # a device or a pipe says 0: the bounded read catches it
                raise InputError(
                    f"{what} {path!r} is {megabytes(size)}; the API accepts requests "
                    f"of at most {megabytes(limit)}")
            return _read_bounded(f, f"{what} {path!r}", limit)
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


def parse_json_text(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{where}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None


def _blank(text):
    return not text or text.isspace()  # as `not text.strip()`, without copying it


def join_prompt(stdin_text, words):
    """The user's text: stdin data first, then a blank line, then the instruction.

    Built in one join: a big stdin is copied once, not once per `+`."""
    prompt = " ".join(words)
    parts = [p for p in (stdin_text, prompt) if not _blank(p)]
    if len(parts) == 2:
        return "".join((stdin_text.rstrip("\n"), "\n\n", prompt))
    return parts[0] if parts else ""


# -- the history and the new user turn -------------------------------------------

def read_history(opts):
    """The conversation so far, from -c or -f, as a conversation.History."""
    from msgcli import conversation

    if opts.conversation:
        if not os.path.exists(opts.conversation):
            return conversation.History([], {}, is_object=False)
        return conversation.load(read_file_bytes(opts.conversation, "conversation file"),
                                 opts.conversation)
    if opts.messages == "-":
        data = read_stdin_bytes("messages")
        if data is None:
            raise InputError("-f - reads messages from stdin, but stdin is a terminal")
        if not data.strip():
            raise InputError("-f -: stdin is empty, expected a JSON messages array")
        return conversation.load(data, "stdin")
    if opts.messages:
        return conversation.load(read_file_bytes(opts.messages, "messages file"),
                                 opts.messages)
    return conversation.History([], {})


def stdin_taken(opts):
    """Whether an option already reads stdin ('-'), so it is not also the prompt."""
    return opts.messages == "-" or "-" in opts.image or "-" in opts.document


def media_blocks(opts):
    if not (opts.image or opts.document):
        return []
    from msgcli import media

    if (list(opts.image) + list(opts.document)).count("-") > 1:
        raise InputError("stdin ('-') can feed only one image or document")
    return [media.image_block(r) for r in opts.image] + \
        [media.document_block(r) for r in opts.document]


def tool_result_blocks(opts):
    blocks = []
    for is_error, pairs in ((False, opts.tool_result), (True, opts.tool_error)):
        for tool_use_id, text in pairs:
            block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": text}
            if is_error:
                block["is_error"] = True
            blocks.append(block)
    return blocks


def stdin_text(opts, console, has_other_input):
    if stdin_taken(opts):
        return ""
    if stdin_is_terminal():
        if not has_other_input:
            raise InputError("no prompt: give PROMPT words, pipe text on stdin, or "
                             "use -f/--messages (see msgcli --help)")
        return ""
    wait = opts.stdin_timeout if has_other_input else None
    data = read_stdin_bytes("prompt", wait=wait, console=console)
    if data is None:
        return ""
    # join_prompt drops stdin's trailing newlines before a PROMPT: drop them from
    # the bytes, where it costs no copy of the text
    text = decode_utf8(data, "stdin", strip_newlines=not _blank(" ".join(opts.prompt)))
    del data
    if _blank(text) and not has_other_input:
        raise InputError("stdin is empty and no PROMPT was given: nothing to send")
    return text


def user_turn(opts, console, history):
    """The new user turn (None when there is none): tool results and media first,
    then stdin's text and the PROMPT words."""
    blocks = tool_result_blocks(opts) + media_blocks(opts)
    has_other = bool(opts.prompt or blocks or history.messages)
    text = join_prompt(stdin_text(opts, console, has_other), opts.prompt)
    if not blocks:
        return {"role": "user", "content": text} if text else None
    if text:
        blocks.append({"type": "text", "text": text})
    return {"role": "user", "content": blocks}


def read(opts, console):
    """Step one of a run: (history, new user turn)."""
    history = read_history(opts)
    return history, user_turn(opts, console, history)
