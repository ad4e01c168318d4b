"""Waiting on another process in tests: poll a condition until it holds or time runs out."""

import time


def wait_for(condition, seconds: float, every: float = 0.2) -> bool:
    """True as soon as ``condition()`` holds, polled every ``every`` seconds; its value after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
