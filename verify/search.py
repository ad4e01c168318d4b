"""Counterexample search with hypothesis: ``find`` shrinks a violating instance to a minimal one.

``search_counterexample(strategy, violation, settings)`` looks for an instance x with ``violation(x) > 0``
(a positive margin means the statement is violated by that much). It returns a :class:`SearchResult`
whose ``counterexample`` is the shrunk instance, or None when none was found in the budget.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import find
from hypothesis.errors import NoSuchExample

from implementations.progress import track


@dataclass
class SearchResult:
    counterexample: Any | None
    margin: float | None
    examples_tried: int
    worst_margin_seen: float

    @property
    def found(self) -> bool:
        return self.counterexample is not None


#: The packages whose modules every search process imports first (:func:`settle_constant_pool`).
PROJECT_PACKAGES = ("implementations", "theory", "verify")


@functools.cache
def settle_constant_pool() -> None:
    """Import every module of PROJECT_PACKAGES, and the authors' prepared CFGD copy when there is one, once per
    process. Hypothesis draws a share of its examples from the literals of the local modules loaded in its
    process at that moment, so without this a search's examples, and the numbers they give, would depend on the
    claims that ran before it in the same process (a subset of the catalogue, another worker under --jobs). A
    module whose optional dependency is not installed is skipped (the pool is then that environment's)."""
    for package in PROJECT_PACKAGES:
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, package + ".", onerror=lambda name: None):
            if module.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                importlib.import_module(module.name)
            except ImportError:
                continue
    from implementations.cfgd import authors_code

    copy = authors_code.find_copy()
    if copy is not None:
        authors_code.load(copy)


def search_counterexample(strategy, violation: Callable[[Any], float], settings,
                          seed: int | None = None) -> SearchResult:
    """Search for x drawn from ``strategy`` with ``violation(x) > 0``; shrink it if found.

    The worst (largest) margin seen over all tried examples is reported either way, so a passing search
    still says how close it came. ``seed``: the search draws the same examples for the same seed (it takes
    precedence over the profile's ``derandomize``); None leaves the randomness to the settings. The same examples
    whatever ran before in the process: :func:`settle_constant_pool`.
    """
    settle_constant_pool()
    state = {"tried": 0, "worst": float("-inf")}
    progress = track("counterexample search: examples", settings.max_examples)

    def violated(x: Any) -> bool:
        state["tried"] += 1
        progress.advance()
        margin = float(violation(x))
        if margin != margin:  # NaN margin: the statement cannot be evaluated there, which is a violation
            margin = float("inf")
        state["worst"] = max(state["worst"], margin)
        return margin > 0

    try:
        example = find(strategy, violated, settings=settings, random=None if seed is None else random.Random(seed))
    except NoSuchExample:
        return SearchResult(None, None, state["tried"], state["worst"])
    return SearchResult(example, float(violation(example)), state["tried"], state["worst"])
