"""Files that several processes share: an advisory lock beside a path, and torch.save that never leaves a
truncated file (used by resumable meta-training and by verify's run cache and output folders)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator


@contextmanager
def locked(path: str | os.PathLike, blocking: bool = True) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` (created if needed) for the block. Another process
    asking for the same lock waits, or with ``blocking=False`` gets BlockingIOError at once."""
    with open(f"{os.fspath(path)}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """``write(handle)`` into a temporary file in the target's folder, fsynced, then renamed onto ``path``: an
    interruption leaves either the old file or the new one, never a truncated one."""
    path = os.fspath(path)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save of ``obj`` onto ``path`` through :func:`atomic_write`."""
    import torch

    atomic_write(path, lambda file: torch.save(obj, file))
