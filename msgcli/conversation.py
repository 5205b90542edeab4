"""Conversation files: the history a shell script keeps between runs.

The file is replaced atomically (temp file in the same directory, fsync, rename,
fsync of the directory): after a crash, Ctrl-C or a full disk it holds either the
old conversation or the new one, never half of either.
"""

import json
import os
import tempfile

from msgcli.errors import InputError


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


def write_atomic(path, text):
    if "\0" in path:
        raise InputError(f"conversation file {path!r} is not a valid file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"cannot write conversation file {path!r}: "
                         f"{e.strerror or e}") from None
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
        raise InputError(f"cannot write conversation file {path!r}: "
                         f"{e.strerror or e}; it was left as it was") from None
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
