"""SIGINT and SIGTERM end a run the same way: as an ``Interrupted`` exception in the main thread, which the
runner lets through (finished claims are already on disk) and the CLI turns into a message and an exit status
(130 for SIGINT, 143 for SIGTERM: 128 + the signal number, as a shell reports them).

While a record is being written (``deferred()``), a signal is held back and raised when the write is done, so
an interruption never cuts a record in half.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)
_state = threading.local()


class Interrupted(KeyboardInterrupt):
    """The run was stopped by ``signum`` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _handler(signum, frame) -> None:
    if getattr(_state, "deferring", 0):
        _state.pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def signals_raise_interrupted() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM raise Interrupted in the main thread (elsewhere: no effect)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold back a SIGINT/SIGTERM that arrives inside the block (when signals_raise_interrupted is active) and
    raise it as Interrupted once the block is done."""
    _state.deferring = getattr(_state, "deferring", 0) + 1
    try:
        yield
    finally:
        _state.deferring -= 1
        pending = getattr(_state, "pending", None)
        if pending is not None and not _state.deferring:
            _state.pending = None
            raise Interrupted(pending)
