"""What ``verify run`` shows while it works: a line per claim started and finished, and the progress of the
loops inside long claims (implementations.progress) with an estimate of the time left.

On a terminal this is rich's live progress display (a bar for the run, one for each running claim's current
loop). Elsewhere (a log file, CI) it is plain lines, never wrapped: the loop progress of running claims at most
once every ``interval`` seconds (none in a claim's first ``interval`` seconds, so a short claim shows its start
and finish only), and a line naming what is running whenever ``heartbeat`` seconds passed
without one, so a log shows signs of life at least that often even inside a claim that reports no loop.
Every method may be called from any thread.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

COLOURS = {True: "green", False: "red", None: "yellow"}


def describe_finish(index: int, total: int, record: dict[str, Any]) -> str:
    """``[3/42] id: verdict, matches its expectation (4.1 s)`` and its variants."""
    mark = {True: "matches", False: "CONTRADICTS expectation", None: ""}[record.get("matches")]
    if record.get("known_finding"):
        mark += " (documented finding)"
    return f"[{index}/{total}] {record['id']}: {record['verdict']} {mark} ({record.get('duration_s', 0):.1f} s)"


def format_seconds(seconds: float) -> str:
    """12 s, 3 min 04 s, 1 h 02 min."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class _Running:
    index: int
    total: int
    started: float
    label: str = ""
    done: int = 0
    steps: int | None = None
    elapsed: float = 0.0
    task: Any = field(default=None)

    def loop(self) -> str:
        if not self.label:
            return ""
        text = f"{self.label} {self.done}" + (f"/{self.steps}" if self.steps else "")
        if self.steps and 0 < self.done < self.steps:
            text += f", ETA {format_seconds(self.elapsed / self.done * (self.steps - self.done))}"
        return text


class RunDisplay:
    """Start with ``with RunDisplay() as display:``; the runner calls the ``claim_*`` methods."""

    def __init__(self, stream: IO[str] | None = None, terminal: bool | None = None, interval: float = 5.0,
                 heartbeat: float = 20.0) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.interval, self.heartbeat = interval, heartbeat
        self._lock = threading.RLock()
        self._running: dict[str, _Running] = {}
        self._last_line = time.monotonic()
        self._last_loop_line = 0.0
        self._stop = threading.Event()
        self._progress = None
        self._overall = None
        self._ticker: threading.Thread | None = None

    # ---- life cycle
    def __enter__(self) -> "RunDisplay":
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      console=console, refresh_per_second=2)
            self._progress.start()
        else:
            self._ticker = threading.Thread(target=self._tick, name="verify-heartbeat", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._progress is not None:
            self._progress.stop()
        if self._ticker is not None:
            self._ticker.join(timeout=2)

    # ---- events
    def run_started(self, total: int, note: str = "") -> None:
        with self._lock:
            if self._progress is not None:
                self._overall = self._progress.add_task("claims", total=total)
            if note:
                self.message(note)

    def claim_started(self, claim_id: str, index: int, total: int) -> None:
        with self._lock:
            running = _Running(index, total, time.monotonic())
            self._running[claim_id] = running
            if self._progress is not None:
                running.task = self._progress.add_task(f"  {claim_id}", total=None)
            else:
                self._write(f"[{index}/{total}] {claim_id} started")

    def claim_progress(self, claim_id: str, label: str, done: int, steps: int | None, elapsed: float) -> None:
        with self._lock:
            running = self._running.get(claim_id)
            if running is None:
                return
            running.label, running.done, running.steps, running.elapsed = label, done, steps, elapsed
            if self._progress is not None:
                self._progress.update(running.task, description=f"  {claim_id}: {label}", completed=done,
                                      total=steps)
                return
            now = time.monotonic()
            if done == 0 or now - running.started < self.interval:
                return  # a claim that ends within the interval shows its start and finish only
            if now - self._last_loop_line >= self.interval:
                self._last_loop_line = now
                self._write(f"    {claim_id}: {running.loop()} ({format_seconds(now - running.started)} in claim)")

    def claim_finished(self, index: int, total: int, record: dict[str, Any]) -> None:
        with self._lock:
            running = self._running.pop(record["id"], None)
            if self._progress is not None:
                if running is not None and running.task is not None:
                    self._progress.remove_task(running.task)
                if self._overall is not None:
                    self._progress.advance(self._overall)
            shown = running.index if running is not None else index  # the number its start line showed
            self.message(describe_finish(shown, total, record), COLOURS[record.get("matches")])
            if record.get("error"):
                self.message(f"    {record['error']}", "red")

    def message(self, text: str, style: str | None = None) -> None:
        """One line above the live display (terminal) or in the log."""
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(text, style=style, soft_wrap=True, markup=False, highlight=False)
                self._last_line = time.monotonic()
            else:
                self._write(text)

    # ---- plain lines
    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = time.monotonic()

    def _tick(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat / 4)):
            with self._lock:
                now = time.monotonic()
                if self._running and now - self._last_line >= self.heartbeat:
                    parts = [f"{claim_id} ({format_seconds(now - r.started)}" + (f"; {r.loop()})" if r.label else ")")
                             for claim_id, r in self._running.items()]
                    self._write("    running: " + ", ".join(parts))


class SilentDisplay:
    """The display of a run that shows nothing (library use, tests)."""

    def run_started(self, total: int, note: str = "") -> None:
        pass

    def claim_started(self, claim_id: str, index: int, total: int) -> None:
        pass

    def claim_progress(self, claim_id: str, label: str, done: int, steps: int | None, elapsed: float) -> None:
        pass

    def claim_finished(self, index: int, total: int, record: dict[str, Any]) -> None:
        pass

    def message(self, text: str, style: str | None = None) -> None:
        pass
