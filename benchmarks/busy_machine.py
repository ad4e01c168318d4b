r"""A command's wall time on an idle machine and beside CPU-bound processes, interleaved (idle, busy, idle, busy…),
and the longest stretch it printed nothing.

    python benchmarks/busy_machine.py --burners 2 --repeats 1 -- \
        .venv/bin/verify run --budget quick --device cpu --out /tmp/b
    python benchmarks/busy_machine.py --vs '.venv/bin/verify run X --threads 2 --out /tmp/c' -- \
        .venv/bin/verify run X --out /tmp/d

Each burner is a Python process spinning on one core for as long as the busy run lasts (what other users'
jobs do to a shared 2-core machine). The command's stdout and stderr are read line by line as they come (no
terminal, as in a log); the report gives, per run, the wall time, the exit status and the longest gap between
two output lines (or between the start and the first line). With ``--vs 'COMMAND B'`` each repeat runs A idle,
A busy, B idle, B busy.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shlex
import subprocess
import sys
import time


def burn(stop) -> None:
    while not stop.is_set():
        for _ in range(100_000):
            pass


def timed(command: list[str]) -> dict:
    started = time.monotonic()
    last, longest, lines = started, 0.0, 0
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in process.stdout:
        now = time.monotonic()
        longest, last, lines = max(longest, now - last), now, lines + 1
    status = process.wait()
    end = time.monotonic()
    return {"wall_s": round(end - started, 1), "exit_status": status, "lines": lines,
            "longest_silence_s": round(max(longest, end - last), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=2, help="CPU-bound processes beside the busy runs")
    parser.add_argument("--repeats", type=int, default=1, help="idle/busy pairs")
    parser.add_argument("--vs", help="a second command (one string, split as a shell would), run after each pair")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    commands = {"A": command, **({"B": shlex.split(args.vs)} if args.vs else {})}
    rows = []
    for repeat in range(args.repeats):
        for name, argv in commands.items():
            for busy in (False, True):
                stop = multiprocessing.Event()
                burners = [multiprocessing.Process(target=burn, args=(stop,), daemon=True)
                           for _ in range(args.burners if busy else 0)]
                for burner in burners:
                    burner.start()
                try:
                    row = {"command": name, "repeat": repeat, "burners": len(burners), **timed(argv)}
                finally:
                    stop.set()
                    for burner in burners:
                        burner.join()
                rows.append(row)
                print(json.dumps(row), flush=True)
    for name in commands:
        for repeat in range(args.repeats):
            idle, busy = (next(r for r in rows if r["command"] == name and r["repeat"] == repeat and
                               (r["burners"] > 0) == b) for b in (False, True))
            print(f"{name} repeat {repeat}: busy/idle wall time = {busy['wall_s'] / idle['wall_s']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
