"""Progress of long loops (meta-training runs, SGD steps, grid configurations, sweep batches), told to whoever
listens: nobody by default, the display of a ``verify run`` while a claim computes.

A loop reports through ``track(label, total)`` (or ``tracked(iterable, label)``); a listener installed with
``listening(callback)`` receives ``callback(label, done, total, elapsed_s)`` after every step, in the thread
that installed it (a context variable, so concurrent threads keep their own listener). Without a listener a
step costs one context-variable lookup. Listeners throttle what they print; this module never prints.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterable, Iterator, TypeVar

Listener = Callable[[str, int, "int | None", float], None]
_LISTENER: ContextVar[Listener | None] = ContextVar("implementations_progress_listener", default=None)
T = TypeVar("T")


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the progress of every loop run inside the block to ``listener`` (None: to nobody)."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class Tracker:
    """``done`` of ``total`` steps of the loop ``label`` (total None: unknown), started at creation."""

    def __init__(self, label: str, total: int | None) -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
            raise ValueError(f"total must be a non-negative int or None, got {total!r}")
        self.label, self.total, self.done = label, total, 0
        self.started = time.perf_counter()
        self._listener = _LISTENER.get()
        self._emit()

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps are done."""
        self.done += steps
        self._emit()

    def update(self, done: int) -> None:
        """``done`` steps are done in all (e.g. after resuming from a checkpoint)."""
        self.done = done
        self._emit()

    def _emit(self) -> None:
        if self._listener is not None:
            self._listener(self.label, self.done, self.total, time.perf_counter() - self.started)


def track(label: str, total: int | None = None) -> Tracker:
    """A tracker for a loop of ``total`` steps; call ``advance()`` after each."""
    return Tracker(label, total)


def tracked(iterable: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """The items of ``iterable``, reporting one step done after each (total: ``len(iterable)`` if it has one)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    tracker = Tracker(label, total)
    for item in iterable:
        yield item
        tracker.advance()
