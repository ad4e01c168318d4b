"""Files that several processes share: an advisory lock beside a path, torch.save that never leaves a
truncated file, and a loader that never runs code from a file (used by resumable meta-training and by
verify's run cache and output folders)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import ExitStack, contextmanager
from typing import IO, Any, Callable, Hashable, Iterator

from implementations.validation import check_instance, check_path


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


def check_checkpoint_paths(paths, count: int, what: str) -> list[str | os.PathLike | None]:
    """``paths`` (a list with one path or None per ``what``, or None for no checkpoints) as a list of ``count``
    entries; a ValueError for another length or a path named twice (two trainings would overwrite each other)."""
    if paths is not None:
        check_instance("checkpoint_paths", paths, (list, tuple), "list of paths (or None entries)")
    paths = list(paths) if paths is not None else [None] * count
    if len(paths) != count:
        raise ValueError(f"checkpoint_paths must hold one path (or None) per {what}: {len(paths)} for {count} "
                         f"{what}s")
    for path in paths:
        if path is not None:
            check_path("checkpoint_paths entry", path)
    if len({os.fspath(p) for p in paths if p is not None}) < sum(p is not None for p in paths):
        raise ValueError("checkpoint_paths must not name one file twice")
    return paths


def fresh_groups(keys: list[Hashable | None], paths: list[str | os.PathLike | None]) -> Iterator[list[int]]:
    """The groups of at least two indices i with the same ``keys[i]`` (None: the entry runs alone) and no file at
    ``paths[i]`` yet: the trainings that can run together as one stacked program. Each group is yielded while the
    locks of its paths are held (taken in sorted order, so two processes never wait on each other), and only with
    the entries whose file still does not exist once they are (another process may have written one meanwhile)."""
    def fresh(i: int) -> bool:
        return paths[i] is None or not os.path.exists(paths[i])

    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None and fresh(i):
            groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        with ExitStack() as held:
            for path in sorted({os.fspath(paths[i]) for i in members if paths[i] is not None}):
                held.enter_context(locked(path))
            members = [i for i in members if fresh(i)]
            if len(members) >= 2:
                yield members


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """``write(handle)`` into a temporary file in the target's folder, fsynced, then renamed onto ``path``: an
    interruption leaves either the old file or the new one, never a truncated one. The file gets the mode a
    plain ``open`` would give it (0666 less the umask; mkstemp alone makes it 0600)."""
    path = os.fspath(path)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~current_umask())
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def current_umask() -> int:
    """This process's umask, read from /proc where it is shown (os.umask can only be read by setting it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save of ``obj`` onto ``path`` through :func:`atomic_write`."""
    import torch

    atomic_write(path, lambda file: torch.save(obj, file))


class UnsafeFileError(ValueError):
    """A stored file that is not plain data (tensors, numbers, strings, lists, dicts), or not readable."""


def load_plain(path: str | os.PathLike, map_location=None) -> Any:
    """torch.load of ``path`` with ``weights_only=True``: only tensors, numbers, strings, None and their lists,
    tuples and dicts are rebuilt, so a crafted file cannot run code. A file holding anything else, or not a
    torch file at all, raises UnsafeFileError naming it."""
    import pickle

    import torch

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike path, got {type(path).__name__}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        message = (f"{os.fspath(path)} is not a plain-data torch file (tensors, numbers, strings, lists, dicts) "
                   f"and is not loaded: {reason}; delete it to recompute what it held")
        raise UnsafeFileError(message) from None
