"""Small experiment drivers shared by claims and notebooks: does a configuration train, the largest η that
still converges (bisection in log η), the smallest e that trains (scan), gain over GD.

"Converges" (for η): K SGD steps without a non-finite loss and 𝓕(W^K) < 𝓕(W⁰).
"Trains" (for e): converges and the gain (𝓕(W⁰) − 𝓕(W^K))/𝓕(W⁰) ≥ ``min_gain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import TrainHistory, train
from implementations.validation import check_positive, check_positive_int


@dataclass(frozen=True)
class ModelSpec:
    """How to build a fresh model: width H, expansion e, depth L, init, seed (float64 unless dtype given)."""

    width: int
    e: float = 1.0
    depth: int = 3
    init: str = "deterministic"
    seed: int = 0

    def build(self, like: QP) -> MathL2O:
        return MathL2O(self.width, self.e, self.depth, self.init, seed=self.seed, dtype=like.M.dtype,
                       device=like.M.device)

    def with_e(self, e: float) -> "ModelSpec":
        return ModelSpec(self.width, e, self.depth, self.init, self.seed)


def run(spec: ModelSpec, qp: QP, T: int, lr: float, iters: int) -> TrainHistory:
    """Train a fresh model built from ``spec``."""
    return train(spec.build(qp), qp, T, lr, iters)


def converges(history: TrainHistory) -> bool:
    return history.diverged_at is None and history.final_loss < history.losses[0]


def largest_converging_lr(spec: ModelSpec, qp: QP, T: int, iters: int, low: float, high: float,
                          steps: int = 8) -> dict:
    """Bisection in log η on [low, high] for the largest η whose run converges.

    Returns {"lr": largest converging η found (nan if even ``low`` fails), "bracket": [ok, fail],
    "evaluations": runs made}. If ``high`` converges, "lr" is ``high`` and the bracket's upper end is inf.
    """
    check_positive("low", low)
    check_positive("high", high)
    check_positive_int("steps", steps)
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    evaluations = 2
    if converges(run(spec, qp, T, high, iters)):
        return {"lr": high, "bracket": [high, math.inf], "evaluations": 1}
    if not converges(run(spec, qp, T, low, iters)):
        return {"lr": math.nan, "bracket": [0.0, low], "evaluations": evaluations}
    ok, fail = math.log(low), math.log(high)
    for _ in range(steps):
        mid = 0.5 * (ok + fail)
        evaluations += 1
        if converges(run(spec, qp, T, math.exp(mid), iters)):
            ok = mid
        else:
            fail = mid
    return {"lr": math.exp(ok), "bracket": [math.exp(ok), math.exp(fail)], "evaluations": evaluations}


def smallest_training_e(spec: ModelSpec, qp: QP, T: int, lr: float, iters: int, grid: list[float],
                        min_gain: float) -> dict:
    """Scan ``grid`` (ascending) for the smallest e whose run trains; also returns every gain seen."""
    gains = {}
    for e in grid:
        history = run(spec.with_e(e), qp, T, lr, iters)
        gains[e] = history.gain()
        if converges(history) and gains[e] >= min_gain:
            return {"e": e, "gains": gains}
    return {"e": math.nan, "gains": gains}
