"""Expensive intermediate results shared by several claims of one run: the one cache of the claims, two layers.

- :func:`remembered`: in this process, keyed by the run's cache folder and a name that identifies the computation
  with all its inputs (claims of one run in one process share a meta-training, an evaluation, NTK constants).
- :func:`cached_result` and :func:`cache_file`: in the run's cache folder, across processes and resumed runs.

A study that several claims read (the BFGS learned-step-size study feeds bfgs.l2o.speedup and
bfgs.l2o.identity-limit) is computed once per output folder instead of once per process: the worker processes
of a ``--jobs`` run and a ``--resume``d run load it. The runner deletes the cache folder on a fresh run, so a
cached result never outlives the run configuration that made it. Only plain data is stored and loaded
(implementations.storage.load_plain: tensors, numbers, strings, lists, dicts), so a file planted in the cache
folder cannot run code: a result of other types is stored through an ``encode``/``decode`` pair.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, TypeVar

from implementations.storage import atomic_torch_save, load_plain, locked
from verify.registry import Context

T = TypeVar("T")

_MEMORY: dict[tuple[str | None, str], Any] = {}


def cached_result(ctx: Context, name: str, compute: Callable[[], T], encode: Callable[[T], Any] | None = None,
                  decode: Callable[[Any], T] | None = None) -> T:
    """``compute()``, stored as ``<ctx.cache_dir>/<name>.pt`` (written atomically) and loaded by later calls;
    a second process asking for the same name waits on ``<name>.pt.lock`` until the first has written it.
    ``encode`` turns the result into plain data (tensors, numbers, strings, lists, dicts) and ``decode`` back;
    without them the result must be plain data itself. A stored file that is not plain data raises
    implementations.storage.UnsafeFileError naming it. Without a cache_dir, ``compute()`` is simply called."""
    if not ctx.cache_dir:
        return compute()
    encode = encode or (lambda value: value)
    decode = decode or (lambda value: value)
    path = Path(ctx.cache_dir) / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        if path.exists():
            return decode(load_plain(path))
        result = compute()
        atomic_torch_save(encode(result), path)
        return result


def cache_file(ctx: Context, prefix: str, key: str) -> str | None:
    """``<ctx.cache_dir>/<prefix>-<digest of key>.pt`` (the folder is created), or None without a cache_dir:
    where a check keeps the resumable state of one long computation (a checkpoint) identified by ``key``, e.g.
    the repr of a training's configuration."""
    if not ctx.cache_dir:
        return None
    Path(ctx.cache_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(ctx.cache_dir) / f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt")


def remembered(ctx: Context, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per process for the run's cache folder (``ctx.cache_dir``, None included) and ``name``;
    later calls get the same object. ``name`` must identify the computation with every input it depends on (the
    budget, the seeds, the configuration's repr, the device and dtype), since nothing else distinguishes it."""
    key = (ctx.cache_dir, name)
    if key not in _MEMORY:
        _MEMORY[key] = compute()
    return _MEMORY[key]


def is_remembered(ctx: Context, name: str) -> bool:
    """Whether :func:`remembered` holds ``name`` for this run's cache folder."""
    return (ctx.cache_dir, name) in _MEMORY


def remember(ctx: Context, name: str, value: T) -> T:
    """Store ``value`` as :func:`remembered` would (for results computed together, e.g. several seeds' trainings
    in one stacked program) and return it."""
    _MEMORY[(ctx.cache_dir, name)] = value
    return value
