"""Small experiment drivers shared by claims and notebooks: does a configuration train, the edges in η
below which every tried η converges or descends sufficiently (log-grid scan, then bisection in log η), the
smallest e that trains (scan), gain over GD.

"Converges" (for η): K SGD steps without a non-finite loss and 𝓕(W^K) < 𝓕(W⁰).
"Trains" (for e): converges and the gain (𝓕(W⁰) − 𝓕(W^K))/𝓕(W⁰) ≥ ``min_gain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from implementations.mathl2o.lista_cpss import LISTACPSS
from implementations.mathl2o.lstm_math_l2o import LSTMMathL2O
from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.stacked import train_many
from implementations.mathl2o.unroll import STEP_SCALE, TrainHistory, rollout, train, unroll
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


def loss_rtol(qp: QP, T: int) -> float:
    """Relative round-off allowed in each 𝓕_k = F(X_T): 100·T·(b+d)·eps of the instances' dtype (the T
    unrolled steps each do O(b + d) operations per entry; 100 is a margin). The Theorem 4.3 envelope check
    uses the same tolerance."""
    check_positive_int("T", T)
    _, b, d = qp.shape
    return 100 * T * (b + d) * torch.finfo(qp.M.dtype).eps


def descends_sufficiently(history: TrainHistory, lr: float, rtol: float) -> bool:
    """Every SGD step of ``history`` (run at η = ``lr``) satisfies 𝓕_{k+1} ≤ 𝓕_k − (η/2)‖∇𝓕_k‖² + rtol·𝓕_k:
    the per-step decrease that Lemma 4.2 gives for η ≤ 1/C₀ (derivation §4, proof of Theorem 4.3), i.e. what
    Eq. 14 itself guarantees; ``rtol`` is the relative round-off of 𝓕_k. False after a divergence."""
    check_positive("lr", lr)
    if not rtol >= 0:
        raise ValueError(f"rtol must be >= 0, got {rtol}")
    if history.diverged_at is not None:
        return False
    losses, norms = history.losses, history.grad_norms
    return all(losses[k + 1] <= losses[k] - 0.5 * lr * norms[k] ** 2 + rtol * losses[k]
               for k in range(len(losses) - 1))


def log_grid(low: float, high: float, per_decade: int = 1) -> list[float]:
    """Log-spaced points from ``low`` to ``high`` (both included, exactly), at least ``per_decade`` per decade."""
    check_positive("low", low)
    check_positive("high", high)
    check_positive_int("per_decade", per_decade)
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    count = max(2, math.ceil(per_decade * math.log10(high / low) - 1e-9) + 1)  # round-off in high/low adds no point
    grid = [math.exp(math.log(low) + i * (math.log(high) - math.log(low)) / (count - 1)) for i in range(count)]
    grid[0], grid[-1] = low, high
    return grid


def first_failure_on_log_grid(passes: Callable[[float], bool], low: float, high: float, steps: int = 8,
                              per_decade: int = 1) -> dict:
    """The edge of the run of passing points that starts at ``low``: the largest x found such that ``passes``
    holds at every grid point up to x, for a ``passes`` that need not be monotone.

    A log grid from ``low`` to ``high`` (both included, at least ``per_decade`` points per decade) is scanned
    in full; between the last grid point of the leading passing run and the first failing grid point,
    ``steps`` halvings in log x refine the bracket. (A plain bisection on [low, high] would follow whichever
    side its first midpoints fall on, and could report a passing island far above an earlier failure.)

    Returns {"edge": the edge (nan if ``low`` fails; ``high`` if every grid point passes), "bracket":
    [passes, fails] ([0, low] or [high, inf] at the ends), "evaluations": calls of ``passes``, "scan":
    [[x, passed], ...] over the grid, "largest_passing": the largest passing grid point (nan if none),
    "monotone": whether every passing grid point lies in the leading run}.
    """
    check_positive_int("steps", steps)
    grid = log_grid(low, high, per_decade)
    count = len(grid)
    outcomes = [bool(passes(x)) for x in grid]
    leading = next((i for i, ok in enumerate(outcomes) if not ok), count)
    found = {"evaluations": count, "scan": [[x, ok] for x, ok in zip(grid, outcomes)],
             "largest_passing": max((x for x, ok in zip(grid, outcomes) if ok), default=math.nan),
             "monotone": not any(outcomes[leading:])}
    if leading == 0:
        return {"edge": math.nan, "bracket": [0.0, low], **found}
    if leading == count:
        return {"edge": high, "bracket": [high, math.inf], **found}
    ok, fail = math.log(grid[leading - 1]), math.log(grid[leading])
    for _ in range(steps):
        mid = 0.5 * (ok + fail)
        found["evaluations"] += 1
        if passes(math.exp(mid)):
            ok = mid
        else:
            fail = mid
    return {"edge": math.exp(ok), "bracket": [math.exp(ok), math.exp(fail)], **found}


def step_size_criteria(qp: QP, T: int) -> dict[str, Callable[[TrainHistory, float], bool]]:
    """The two criteria a step-size bound is measured against (:func:`lr_edges`): "sufficient decrease" (every
    step descends by (η/2)‖∇𝓕‖², what Eq. 14 guarantees: :func:`descends_sufficiently`) and "convergence"
    (no divergence and 𝓕_K < 𝓕₀: :func:`converges`), the weaker one."""
    rtol = loss_rtol(qp, T)
    return {"sufficient decrease": lambda history, lr: descends_sufficiently(history, lr, rtol),
            "convergence": lambda history, lr: converges(history)}


def lr_edges(spec: ModelSpec, qp: QP, T: int, iters: int, low: float, high: float,
             criteria: dict[str, Callable[[TrainHistory, float], bool]], steps: int = 8,
             per_decade: int = 1) -> dict[str, dict]:
    """For each named criterion(history, η) of a run of ``iters`` SGD steps at η, its edge in η: the largest
    η found such that the criterion holds at every grid η up to it (:func:`first_failure_on_log_grid` on
    [low, high]). The runs are shared: each η is trained once, whatever the number of criteria. Criteria
    need not be monotone in η (convergence is not: a run can fail at η and converge again at 3η), so the
    edge, not the largest passing η anywhere ("largest_passing"), is what a sufficient step-size bound is
    compared with. The grid's runs are trained as one stacked program (stacked.train_many), the bisection's one
    by one."""
    grid = log_grid(low, high, per_decade)
    runs: dict[float, TrainHistory] = dict(zip(grid, train_many([spec.build(qp) for _ in grid], [qp] * len(grid), T,
                                                                grid, iters)))

    def history(lr: float) -> TrainHistory:
        if lr not in runs:
            runs[lr] = run(spec, qp, T, lr, iters)
        return runs[lr]

    return {name: first_failure_on_log_grid(lambda lr, test=test: test(history(lr), lr), low, high, steps,
                                            per_decade)
            for name, test in criteria.items()}


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


#: The paper's Fig. 2 rates are 1e-5 … 1e-4 at N·d = 10·512; at a reduced scale they are multiplied by
#: FIG2_NDIM / (N·d), so that η·N·d (the size of the first SGD step of a weight shared by all coordinates,
#: whose gradient sums N·d terms) is the paper's.
FIG2_NDIM = 10 * 512


#: The paper's Fig. 2 models, each built fresh from (qp, T, seed) on qp's dtype and device: the LSTM Math-L2O (with
#: its B heads) and LISTA-CPSS at their authors' random initialisation, and the deterministic-init MLP (e = 100,
#: width N·d, the code's 2→2→H→1 layers).
FIG2_MODELS = {
    "lstm_math_l2o": lambda qp, T, seed: LSTMMathL2O(seed=seed, dtype=qp.M.dtype, device=qp.M.device),
    "lista_cpss": lambda qp, T, seed: LISTACPSS(qp.shape[2], qp.shape[1], T, seed=seed, dtype=qp.M.dtype,
                                                device=qp.M.device),
    "mlp_deterministic": lambda qp, T, seed: MathL2O(qp.shape[0] * qp.shape[2], 100.0, 3, seed=seed,
                                                     dtype=qp.M.dtype, device=qp.M.device),
}


def fig2_models(qp: QP, T: int, seed: int) -> dict:
    """Every model of FIG2_MODELS, by name, built for (qp, T, seed)."""
    return {name: build(qp, T, seed) for name, build in FIG2_MODELS.items()}


def loss_growth(history: TrainHistory) -> float:
    """log10 of the largest training loss seen relative to the initial one, max_k 𝓕(W^k)/𝓕(W⁰) over a
    history (k = 0..K, so ≥ 0): +inf once a loss or gradient was non-finite (an overflow, the authors' NaN).
    The paper's Fig. 2 "explosion" criterion of mathl2o.random-init-explodes is loss_growth ≥ 6."""
    if not isinstance(history, TrainHistory):
        raise TypeError(f"history must be a TrainHistory, got {type(history).__name__}")
    finite = [v for v in history.losses if math.isfinite(v)]
    if history.diverged_at is not None or len(finite) < len(history.losses) or not finite:
        return math.inf
    if history.losses[0] <= 0:
        return 0.0 if max(finite) <= 0 else math.inf
    return math.log10(max(finite) / history.losses[0])


def saturated_fraction(model: MathL2O, qp: QP, T: int, margin: float = 1e-3) -> float:
    """Fraction of the step sizes P_t,j (all steps and coordinates) within ``margin`` of 0 or 2."""
    with torch.no_grad():
        inputs = rollout(model, qp, T, keep_inputs=True).inputs
        hits = sum(float(((P < margin) | (P > 2 - margin)).sum()) for P in map(model, inputs))
    return hits / (T * qp.M.shape[0] * qp.M.shape[2])


def tuned_constant_step(qp: QP, T: int, grid: int = 50) -> dict:
    """The best uniform step c·0.9999/β (c on a grid in [1, 2)) for GD on the same instances: a baseline the
    paper does not report. Returns {"c": best c, "loss": its F(X_T), "gain_over_gd": (F_GD − F_c)/F_GD}."""
    with torch.no_grad():
        gd = float(unroll(None, qp, T)[-1])
        losses = {1 + i / grid: float(unroll(None, qp, T, step_scale=STEP_SCALE * (1 + i / grid))[-1])
                  for i in range(grid)}
    finite = {c: v for c, v in losses.items() if math.isfinite(v)}
    c = min(finite, key=finite.get)
    return {"c": c, "loss": finite[c], "gain_over_gd": (gd - finite[c]) / gd}


def gain_study(N: int, d: int, b: int, T: int, width: int, runs: list[tuple[float, float]], iters: int, seed: int,
               checkpoint_steps: bool = False, checkpoint_path: Callable[[str], str | None] | None = None,
               dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> dict:
    """Train the deterministically initialised MathL2O (width ``width``, depth 3) for each (e, η) in ``runs`` on
    one instance set QP.random(N, d, b, seed) for ``iters`` steps of the unrolled loss over T steps, and report its
    gain over GD with step 0.9999/β: (F_GD(X_T) − F_L2O(X_T))/F_GD(X_T) (paper Figs. 4a and 5). The model's
    orthogonal layers use ``seed`` too. ``checkpoint_path(key)``: where the training identified by ``key`` (the
    repr of its configuration) keeps its resumable checkpoint (train's checkpoint_path), or None.

    Returns {"runs": [{e, lr, gd_loss, final_loss, gain, diverged_at, losses, saturated_fraction}],
    "tuned_gd": :func:`tuned_constant_step`, "seed": seed, "qp": the instances}."""
    return gain_studies(N, d, b, T, width, [runs], iters, [seed], checkpoint_steps, checkpoint_path, dtype,
                        device)[0]


def gain_studies(N: int, d: int, b: int, T: int, width: int, runs: list[list[tuple[float, float]]], iters: int,
                 seeds: list[int], checkpoint_steps: bool = False,
                 checkpoint_path: Callable[[str], str | None] | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> list[dict]:
    """[gain_study(…, runs[i], iters, seeds[i], …) for each seed], with every training of every seed run as one
    stacked program (implementations.mathl2o.stacked.train_many: train's histories to round-off); with
    ``checkpoint_steps`` (the Fig. 4a scale) the trainings run one by one through train."""
    like = dict(dtype=dtype, device=device)
    if len(runs) != len(seeds):
        raise ValueError(f"runs must hold one list of (e, η) per seed: {len(runs)} lists for {len(seeds)} seeds")
    qps = [QP.random(N, d, b, seed=seed, **like) for seed in seeds]
    jobs = [(i, e, lr) for i, configurations in enumerate(runs) for e, lr in configurations]
    models = [MathL2O(width, e, 3, seed=seeds[i], **like) for i, e, _ in jobs]
    paths = [None if checkpoint_path is None else checkpoint_path(repr((N, d, b, T, width, e, lr, seeds[i])))
             for i, e, lr in jobs]
    if checkpoint_steps:
        histories = [train(model, qps[i], T, lr, iters, checkpoint_steps=True, checkpoint_path=path)
                     for model, (i, _, lr), path in zip(models, jobs, paths)]
    else:
        histories = train_many(models, [qps[i] for i, _, _ in jobs], T, [lr for *_, lr in jobs], iters, paths)
    studies = [{"runs": [], "tuned_gd": tuned_constant_step(qp, T), "seed": seed, "qp": qp}
               for qp, seed in zip(qps, seeds)]
    for model, (i, e, lr), history in zip(models, jobs, histories):
        studies[i]["runs"].append({
            "e": e, "lr": lr, "gd_loss": history.gd_loss, "final_loss": history.final_loss, "gain": history.gain(),
            "diverged_at": history.diverged_at, "losses": history.losses,
            "saturated_fraction": saturated_fraction(model, qps[i], T)})
    return studies
