"""Output files replaced atomically, and the output directory checked before any work.

A report file is written to a temporary file in the same directory and moved over the old one with
``os.replace`` (atomic on POSIX and Windows): an interrupted run, a full disk or a crash leaves the
previous complete report in place, never a 0-byte ``index.html`` or a truncated PDF.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with replace_atomically(d / "a.txt") as handle:
...     _ = handle.write(b"complete")
>>> (d / "a.txt").read_bytes(), sorted(p.name for p in d.iterdir())
(b'complete', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["OutputDirError", "check_output_dir", "replace_atomically"]


class OutputDirError(ValueError):
    """The output directory cannot be used (a usage error: nothing has been run yet)."""


@contextlib.contextmanager
def replace_atomically(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` only if the block completes.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and ``path`` is
    left as it was. The new file gets the permissions a plain ``open(path, "w")`` would give it.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def check_output_dir(path: str | os.PathLike[str]) -> str:
    """Make sure ``path`` is a directory this process can write into, creating it if missing.

    Returns the path; raises :class:`OutputDirError` naming the path and the reason (it is a file, a
    parent is a file, no permission, a read-only file system…). A file is written and removed to find
    out, because permission bits alone do not tell (root, ACLs, read-only mounts).
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputDirError(f"--out {path!r} is a file, not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputDirError(f"--out {path!r} is not a writable directory: {reason}") from None
    return path
