"""Files replaced whole or not at all: the -o file, a conversation, the -o journal's
compaction, the model cache.

The new content goes to a temporary file in the same directory, is fsynced, renamed
over the old file, and the directory fsynced: after a crash, Ctrl-C or a full disk
the file holds either the old content or the new, never half of either. A symlink
is followed: the file it points to is replaced and the link stays a link. An
existing file keeps its permissions; a new one gets those a shell redirect gives.
"""

import os
import stat
from contextlib import contextmanager

from msgcli.errors import InputError


def check_writable(path, what):
    """Before a paid request: `path` (symlinks followed, as `replacing` writes
    through them) is a regular file that can be read and replaced, or a new one
    its directory takes, so the answer is not lost after it was paid for. Returns
    the resolved path."""
    if "\0" in path:
        raise InputError(f"{what} {path!r} is not a valid file name")
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as e:  # a symlink loop, say
        raise InputError(f"{what} {path!r} cannot be used: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    directory = os.path.dirname(real)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} {path!r} is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):  # a device is never replaced
        raise InputError(f"{what} {path!r} is not a regular file")
    if not os.path.isdir(directory):
        raise InputError(f"{what} {path!r}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path!r}: cannot create files in {directory!r} "
                         "(permission denied)")
    if st is not None and not os.access(real, os.R_OK | os.W_OK):
        raise InputError(f"{what} {path!r} cannot be read and replaced (permission denied)")
    return real


@contextmanager
def replacing(path, what, private=False):
    """A binary file to write the new content of `path` into, streamed; it replaces
    `path` when the block ends without an exception, and is removed otherwise.
    `private`: the file is the user's alone (0600), whatever it was before."""
    if "\0" in path:
        raise InputError(f"{what} {path!r} is not a valid file name")
    # through a symlink: the file it points to is replaced, and the link stays
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    import tempfile  # here: at start it would add ~1 MB under a big stdin's peak
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"cannot write {what} {path!r}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600; the result gets the mode a shell redirect would give
        # (an existing file keeps its own)
        if not private:
            os.chmod(tmp, _new_file_mode() if mode is None else mode)
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


def write(path, data, what, private=False):
    """Replace `path` with `data` (text is written as UTF-8)."""
    with replacing(path, what, private) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def _new_file_mode():
    umask = os.umask(0)  # the only way to read it; process-wide, but msgcli is a CLI
    os.umask(umask)
    return 0o666 & ~umask


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


def write_private(path, data, what):
    """A cache of the user's (the model list, Files API ids, a federation token):
    its directory made 0700 if need be, the file replaced whole with mode 0600."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write {what} {path!r}: {e.strerror or e}") from None
    write(path, data, what, private=True)
