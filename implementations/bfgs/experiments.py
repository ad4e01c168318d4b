"""The L2O step-size experiments of the BFGS paper (THEORY.md §2.2 bfgs.l2o.*), at a chosen scale.

``l2o_seed_study(scale, seeds)`` meta-trains, for every seed, the coordinate-wise LSTM (and the scalar ablation)
on that seed's training instances of each task, then runs every method on the seed's fresh test instances and
returns the traces per seed (``l2o_study(scale, seed)``: one seed).
Tasks: least squares, ℓ₂-regularised logistic regression, log-sum-exp, the ~1.5k-parameter digit CNN.
Methods: the learned CWSS model (online updates after every iteration, as in the paper), the learned
scalar step, BFGS with unit steps (the untrained model), BFGS + Armijo (with the skip safeguard, and
with Powell damping: the reviewers' damped-BFGS baseline), BFGS + strong Wolfe, the
hypergradient tuner of P, L-BFGS (torch, strong Wolfe), and Adam (CNN only); and the oracles of
implementations.bfgs.oracle (the best P_k ∈ [0, 2]^d per step, and by an h-step look-ahead on the convex tasks),
which run until every instance has reached the tolerance of ``to_tolerance`` (they only serve that count).

The seeds are independent experiments computed together: the learned models of all seeds train and run as one
batch of independent copies (implementations.bfgs.stacked, equal to separate runs up to round-off), and the
methods that cwss_bfgs runs (unit steps, the hypergradient tuner, the oracles) take every test instance of every
seed as one batch; the line searches, L-BFGS and Adam run one instance at a time. A batch's wall-clock time is
not one instance's, so each method that runs batched is also timed alone on one instance for
``timing_iterations`` iterations (``TaskResult.seconds_per_iteration``, its κ diagnostics off).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from implementations.bfgs.baselines import HypergradientSteps, adam, bfgs_line_search, lbfgs_torch
from implementations.bfgs.diagnostics import Trace
from implementations.bfgs.model import LearnedSteps, StepSizeLSTM
from implementations.bfgs.oracle import GreedyOracleSteps, LookaheadOracleSteps
from implementations.bfgs.solver import FixedSteps, cwss_bfgs
from implementations.bfgs.stacked import StackedLSTMSteps, stacked_meta_train
from implementations.problems.cnn import DigitCNN, DigitCNNObjective
from implementations.problems.digits import load_digit_data
from implementations.problems.least_squares import LeastSquares
from implementations.problems.logistic import LogisticRegression
from implementations.problems.logsumexp import LogSumExp
from implementations.progress import track

TASKS = ("least_squares", "logistic", "logsumexp", "cnn")
LEARNED = ("l2o_cwss", "l2o_scalar")
BASELINES = ("bfgs_unit", "bfgs_armijo", "bfgs_armijo_damped", "bfgs_wolfe", "hypergradient", "lbfgs", "adam")
ORACLES = ("oracle_greedy", "oracle_lookahead")
LINE_SEARCHES = ("bfgs_armijo", "bfgs_armijo_damped", "bfgs_wolfe")
BATCHED = ("l2o_cwss", "l2o_scalar", "bfgs_unit", "hypergradient")  # timed alone (module docstring)


@dataclass(frozen=True)
class Scale:
    """Sizes of one study: d and m of the convex tasks, digits in the CNN task, instance counts (per seed), K, and
    the Adam learning rate of the model's online updates (1e-2: with 1e-3, the first setting tried, the learned
    CNN runs blew up like unit-step BFGS; the paper does not state its value). The reference run for f* is
    Wolfe-BFGS with ``reference_factor``·K iterations. The oracles: look-ahead horizon ``lookahead`` (convex
    tasks; 0: none), at most ``oracle_inner`` inner iterations per step of the greedy oracle (``cnn_oracle_inner``
    on the CNN) and ``lookahead_inner`` of the look-ahead, projected-gradient tolerance ``oracle_gtol``.
    ``timing_iterations``: the single-instance timing runs.
    κ(H_k) of the learned runs: every iteration on the convex tasks, every ``cnn_cond_every`` on the CNN (an
    O(d³) eigendecomposition with d = 1503)."""

    dim: int
    rows: int
    cnn_samples: int
    train: int
    test: int
    cnn_train: int
    cnn_test: int
    iterations: int
    cnn_iterations: int
    tol: float = 1e-6
    cnn_tol: float = 1e-1
    online_lr: float = 1e-2
    reference_factor: int = 4
    lookahead: int = 2
    oracle_inner: int = 200
    lookahead_inner: int = 100
    cnn_oracle_inner: int = 30
    oracle_gtol: float = 1e-9
    timing_iterations: int = 10
    cnn_cond_every: int = 10

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# The quick scale runs 5 seeds (verify.intervals.seeds_for) in about 40 s of one core: per seed 2 test instances of
# each convex task (K = 40; every method there reached the tolerance within 27 iterations at d = 20 with K = 60),
# and on the CNN one training and one test instance of 64 digits with K = 20, κ(H) at the last iteration only, a
# reference run of 2K and at most 10 inner oracle iterations per step (a CNN iteration costs O(d²), d = 1503).
# Before the seeds, one seed ran 3 convex test instances with K = 60 and 2 + 1 CNN instances of 128 digits, K = 40.
QUICK = Scale(dim=20, rows=40, cnn_samples=64, train=4, test=2, cnn_train=1, cnn_test=1,
              iterations=40, cnn_iterations=15, reference_factor=2, oracle_inner=200, lookahead_inner=30,
              cnn_oracle_inner=10,
              oracle_gtol=1e-7, timing_iterations=5, cnn_cond_every=15)
FULL = Scale(dim=100, rows=200, cnn_samples=512, train=32, test=10, cnn_train=3, cnn_test=3,
             iterations=200, cnn_iterations=150, oracle_gtol=1e-7)


@lru_cache(maxsize=1)
def _all_digits() -> tuple[torch.Tensor, torch.Tensor]:
    return load_digit_data(flatten=False)


def digit_cnn(n: int, seed: int) -> DigitCNNObjective:
    """DigitCNNObjective.create(n=n, seed=seed) (float64, CPU, its default reg) without reading scikit-learn's
    digits again for every instance: the same seeded subset (load_digit_data: randperm with ``seed``, first n)
    of the data read once (tests/bfgs/test_bfgs_oracle.py checks that the two agree)."""
    images, labels = _all_digits()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n]
    return DigitCNNObjective(images[order], labels[order], module=DigitCNN().to(torch.float64))


def make_instances(task: str, count: int, scale: Scale, generator: torch.Generator, first_seed: int = 0):
    """``count`` (objective, x0) pairs of ``task``; x0 = 0 for the convex tasks, PyTorch's init for the CNN."""
    instances = []
    for index in range(count):
        if task == "least_squares":
            A = torch.randn(scale.rows, scale.dim, generator=generator, dtype=torch.float64) / scale.rows ** 0.5
            problem = LeastSquares.create(A, torch.randn(scale.rows, generator=generator, dtype=torch.float64))
        elif task == "logistic":
            problem = LogisticRegression.random(scale.dim, scale.rows, reg=1e-2, generator=generator)
        elif task == "logsumexp":
            problem = LogSumExp.random(scale.dim, scale.rows, rho=1.0, reg=1e-2, generator=generator)
        elif task == "cnn":
            problem = digit_cnn(scale.cnn_samples, first_seed + index)
            instances.append((problem, problem.initial_point(generator)))
            continue
        else:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        instances.append((problem, torch.zeros(scale.dim, dtype=torch.float64)))
    return instances


def stack_objectives(objectives: list):
    """One objective batched over ``objectives`` (row b of x belongs to objectives[b]): the data tensors stacked
    for the convex tasks (which take a batch dimension), else a :class:`RowwiseObjective`."""
    first = objectives[0]
    if isinstance(first, (LeastSquares, LogisticRegression, LogSumExp)) and all(type(o) is type(first)
                                                                                 for o in objectives):
        parts = {}
        for item in dataclasses.fields(first):
            values = [getattr(o, item.name) for o in objectives]
            if isinstance(values[0], torch.Tensor):
                parts[item.name] = torch.stack(values)
            elif all(v == values[0] for v in values):
                parts[item.name] = values[0]
            else:
                return RowwiseObjective(objectives)
        return type(first)(**parts)
    return RowwiseObjective(objectives)


class RowwiseObjective:
    """f(x)_b = objectives[b](x_b) for x (B, d): a batch of objectives that have no batch dimension (the CNN)."""

    def __init__(self, objectives: list) -> None:
        self.objectives = list(objectives)

    def _rows(self, method: str, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != len(self.objectives):
            raise ValueError(f"x must have shape ({len(self.objectives)}, d), got {tuple(x.shape)}")
        return torch.stack([getattr(o, method)(row) for o, row in zip(self.objectives, x)])

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self._rows("value", x)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """∇ of every row's value by one reverse pass over the sum of the rows' values (the rows are independent,
        so row b of the result is ∇f_b(x_b)); detached. For the CNN this is the gradient DigitCNNObjective's
        torch.func.grad computes, in about 60 % of its time."""
        if x.dim() != 2 or x.shape[0] != len(self.objectives):
            raise ValueError(f"x must have shape ({len(self.objectives)}, d), got {tuple(x.shape)}")
        point = x.detach().requires_grad_(True)
        with torch.enable_grad():
            total = torch.stack([o.value(row) for o, row in zip(self.objectives, point)]).sum()
            grad, = torch.autograd.grad(total, point)
        return grad


@dataclass
class TaskResult:
    """One seed's results on one task: per method the traces of its test instances, f* per instance, the
    meta-training losses, each batched method's seconds per iteration on one instance, and the oracles' inner
    solver totals (over the batch of every seed's instances, so shared by the seeds of a study)."""

    task: str
    traces: dict[str, list[Trace]] = field(default_factory=dict)
    f_star: list[float] = field(default_factory=list)
    training_losses: dict[str, list[float]] = field(default_factory=dict)
    seconds_per_iteration: dict[str, float] = field(default_factory=dict)
    oracle_inner: dict[str, dict] = field(default_factory=dict)

    def to_plain(self) -> dict:
        """The result as plain data (its traces through Trace.to_plain)."""
        return {"task": self.task, "f_star": list(self.f_star), "training_losses": dict(self.training_losses),
                "seconds_per_iteration": dict(self.seconds_per_iteration), "oracle_inner": dict(self.oracle_inner),
                "traces": {method: [trace.to_plain() for trace in traces] for method, traces in self.traces.items()}}

    @classmethod
    def from_plain(cls, data: dict) -> "TaskResult":
        """The result that ``to_plain`` gave ``data``."""
        traces = {method: [Trace.from_plain(t) for t in items] for method, items in data["traces"].items()}
        return cls(data["task"], traces, list(data["f_star"]), dict(data["training_losses"]),
                   dict(data.get("seconds_per_iteration", {})), dict(data.get("oracle_inner", {})))


def _seed_instances(task: str, scale: Scale, seed: int) -> tuple[list, list]:
    """(training, test) instances of one seed. The CNN's digit subsets shift by 10 007 per seed (seed 0 keeps
    the subsets 1000 + i and 2000 + i of the published single-seed study)."""
    generator = torch.Generator().manual_seed(seed)
    cnn = task == "cnn"
    shift = 10_007 * seed
    train = make_instances(task, scale.cnn_train if cnn else scale.train, scale, generator, first_seed=1000 + shift)
    test = make_instances(task, scale.cnn_test if cnn else scale.test, scale, generator, first_seed=2000 + shift)
    return train, test


def _light(trace: Trace) -> Trace:
    """The trace without its final H (a d×d matrix per instance, not read by the claims)."""
    trace.H = None
    return trace


def _split(trace: Trace) -> list[Trace]:
    """The per-instance traces of a batched run, without their H."""
    return [trace.select(index, keep_matrices=False) for index in range(trace.f0.shape[0])]


def condition_bound(problem) -> float:
    """κ = L/μ of a convex task's instance: λ_max/λ_min of AᵀA for least squares, smoothness()/reg for the
    ℓ₂-regularised logistic regression and log-sum-exp (upper bounds L and the exact μ = reg)."""
    if isinstance(problem, LeastSquares):
        eig = torch.linalg.eigvalsh(problem.A.transpose(-1, -2) @ problem.A)
        return float(eig[..., -1] / eig[..., 0])
    if isinstance(problem, (LogisticRegression, LogSumExp)):
        return float(problem.smoothness()) / problem.reg
    raise TypeError(f"problem must be a convex task's instance, got {type(problem).__name__}")


def stop_gradient(problem, x0: torch.Tensor, tol: float) -> float:
    """‖∇f(x_0)‖·√(tol/(10κ)): a gradient norm at which a run has certainly reached the tolerance. For a
    μ-strongly convex, L-smooth f, f − f* ≤ ‖∇f‖²/(2μ) and f_0 − f* ≥ ‖∇f(x_0)‖²/(2L), so
    (f − f*)/(f_0 − f*) ≤ κ‖∇f‖²/‖∇f(x_0)‖² ≤ tol/10 once ‖∇f‖ is below it."""
    return float(torch.linalg.vector_norm(problem.gradient(x0))) * (tol / (10 * condition_bound(problem))) ** 0.5


def _sequential(method: str, objective, x0, iterations: int, gtol: float) -> Trace:
    """One single-instance run of a method that cwss_bfgs does not batch. The line searches and L-BFGS stop once
    ‖∇f‖ ≤ ``gtol`` (:func:`stop_gradient` on the convex tasks, where a stopped run has already reached the
    tolerance, so its count is unchanged; 0 on the CNN)."""
    if method == "bfgs_armijo":
        return bfgs_line_search(objective, x0, iterations, "armijo", gtol=gtol)
    if method == "bfgs_armijo_damped":
        return bfgs_line_search(objective, x0, iterations, "armijo", safeguard="damp", gtol=gtol)
    if method == "bfgs_wolfe":
        return bfgs_line_search(objective, x0, iterations, "wolfe", gtol=gtol)
    if method == "lbfgs":
        return lbfgs_torch(objective, x0, iterations, gtol=gtol)
    return adam(objective, x0, iterations, lr=1e-2)


def _batched_policy(method: str, models: dict[str, list[StepSizeLSTM]], scale: Scale):
    """The cwss_bfgs policy of a batched method (learned: a stacked copy of each instance's seed's model)."""
    if method in LEARNED:
        return StackedLSTMSteps(models[method], lr=scale.online_lr, reg=1e-2, learning=True)
    return FixedSteps(1.0) if method == "bfgs_unit" else HypergradientSteps()


def _seconds_per_iteration(method: str, model: StepSizeLSTM, objective, x0, scale: Scale) -> float:
    """Wall-clock seconds per iteration of ``method`` alone on one instance (``timing_iterations`` iterations,
    κ diagnostics off): the learned model with its online updates, as a separate run would do them."""
    if method in LEARNED:
        policy = LearnedSteps(copy.deepcopy(model), lr=scale.online_lr, reg=1e-2, learning=True)
    else:
        policy = FixedSteps(1.0) if method == "bfgs_unit" else HypergradientSteps()
    trace = cwss_bfgs(objective, x0, policy, scale.timing_iterations, cond_every=0)
    return trace.wall_time / max(trace.iterations, 1)


def run_task_seeds(task: str, scale: Scale, seeds: tuple[int, ...]) -> dict[int, TaskResult]:
    """Every seed's meta-training and test runs of one task (module docstring: the seeds run as one batch)."""
    cnn = task == "cnn"
    iterations = scale.cnn_iterations if cnn else scale.iterations
    tol = scale.cnn_tol if cnn else scale.tol
    instances = {seed: _seed_instances(task, scale, seed) for seed in seeds}
    results = {seed: TaskResult(task) for seed in seeds}
    trained: dict[str, list[StepSizeLSTM]] = {name: [] for name in LEARNED}
    for seed in seeds:
        torch.manual_seed(seed)
        trained["l2o_cwss"].append(StepSizeLSTM(coordinatewise=True).to(torch.float64))
        trained["l2o_scalar"].append(StepSizeLSTM(coordinatewise=False).to(torch.float64))
    runs = [(stack_objectives([instances[seed][0][j][0] for seed in seeds]),
             torch.stack([instances[seed][0][j][1] for seed in seeds])) for j in range(len(instances[seeds[0]][0]))]
    for name in LEARNED:
        history = stacked_meta_train(trained[name], runs, iterations, lr=scale.online_lr)
        for seed, losses in zip(seeds, history):
            results[seed].training_losses[name] = losses
    test = [(seed, pair) for seed in seeds for pair in instances[seed][1]]
    objective = stack_objectives([pair[0] for _, pair in test])
    x0 = torch.stack([pair[1] for _, pair in test])
    per_instance = {name: [trained[name][seeds.index(seed)] for seed, _ in test] for name in LEARNED}
    traces: dict[str, list[Trace]] = {}
    sequential = [m for m in BASELINES if m not in BATCHED and (cnn or m != "adam")]
    progress = track(f"{task}: test runs of every method ({len(seeds)} seeds)",
                     len(BATCHED) + len(sequential) * len(test) + len(ORACLES))
    for method in LEARNED + tuple(m for m in BATCHED if m not in LEARNED):
        cond_every = (scale.cnn_cond_every if cnn else 1) if method == "l2o_cwss" else 0
        traces[method] = _split(cwss_bfgs(objective, x0, _batched_policy(method, per_instance, scale), iterations,
                                          cond_every=cond_every))
        progress.advance()
    for method in sequential:
        traces[method] = []
        for _, (problem, start) in test:
            gtol = 0.0 if cnn else stop_gradient(problem, start, tol)
            traces[method].append(_light(_sequential(method, problem, start, iterations, gtol)))
            progress.advance()
    f_star = []
    for index, (_, (problem, start)) in enumerate(test):
        reference = bfgs_line_search(problem, start, scale.reference_factor * iterations, "wolfe", gtol=1e-12)
        candidates = [np.nanmin(reference.values_with_start())]
        candidates += [np.nanmin(items[index].values_with_start()) for items in traces.values()]
        f_star.append(float(np.nanmin(candidates)))
    f0 = x0.new_tensor([float(t.f0[0]) for t in traces["bfgs_unit"]])
    best = x0.new_tensor(f_star)
    target = best + tol * (f0 - best)
    oracle_inner = {}
    for method in ORACLES:
        if method == "oracle_lookahead" and (cnn or scale.lookahead < 1):
            progress.advance()
            continue
        inner = scale.cnn_oracle_inner if cnn else scale.oracle_inner if method == "oracle_greedy" \
            else scale.lookahead_inner
        policy = GreedyOracleSteps(objective, gtol=scale.oracle_gtol, max_inner=inner) \
            if method == "oracle_greedy" else \
            LookaheadOracleSteps(objective, horizon=scale.lookahead, gtol=scale.oracle_gtol, max_inner=inner)
        traces[method] = _split(cwss_bfgs(objective, x0, policy, iterations, cond_every=0, stop_at=target))
        oracle_inner[method] = dict(policy.summary(), max_inner=inner, gtol=scale.oracle_gtol,
                                    horizon=scale.lookahead if method == "oracle_lookahead" else 1)
        progress.advance()
    timing = {method: _seconds_per_iteration(method, per_instance.get(method, [None])[0], test[0][1][0],
                                             test[0][1][1], scale) for method in BATCHED}
    for index, (seed, _) in enumerate(test):
        result = results[seed]
        for method, items in traces.items():
            result.traces.setdefault(method, []).append(items[index])
        result.f_star.append(f_star[index])
    for result in results.values():
        result.seconds_per_iteration = dict(timing)
        result.oracle_inner = {method: dict(info) for method, info in oracle_inner.items()}
    return results


def run_task(task: str, scale: Scale, seed: int) -> TaskResult:
    """One seed's meta-training and test runs of one task (run_task_seeds with one seed)."""
    return run_task_seeds(task, scale, (seed,))[seed]


@lru_cache(maxsize=4)
def l2o_seed_study(scale: Scale, seeds: tuple[int, ...]) -> dict[int, dict[str, TaskResult]]:
    """Every task at ``scale`` for every seed: {seed: {task: result}} (cached in-process)."""
    seeds = tuple(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or any(isinstance(s, bool) or not isinstance(s, int) or s < 0
                                                         for s in seeds):
        raise ValueError(f"seeds must be distinct non-negative ints, at least one, got {seeds!r}")
    by_task = {task: run_task_seeds(task, scale, seeds) for task in TASKS}
    return {seed: {task: by_task[task][seed] for task in TASKS} for seed in seeds}


def l2o_study(scale: Scale, seed: int = 0) -> dict[str, TaskResult]:
    """Every task at ``scale`` for one seed."""
    return l2o_seed_study(scale, (seed,))[seed]


def method_summary(result: TaskResult, scale: Scale) -> dict[str, dict]:
    """Per method of one seed's task result: the median over test instances of the iterations to
    (f − f*) ≤ tol·(f₀ − f*), a run that never gets there counting as K + 1 (``budget``); how many instances
    reached it (``reached``) or diverged; the median seconds to it over the instances that reached it (a
    batched method: its iterations times its single-instance seconds per iteration; the others: the elapsed
    time of their own run, line searches included) and the median evaluation count of f and ∇f."""
    cnn = result.task == "cnn"
    tol = scale.cnn_tol if cnn else scale.tol
    budget = (scale.cnn_iterations if cnn else scale.iterations) + 1
    summary = {}
    for method, traces in result.traces.items():
        hits = [to_tolerance(trace, f_star, tol) for trace, f_star in zip(traces, result.f_star)]
        if method in result.seconds_per_iteration:
            hits = [(k, k * result.seconds_per_iteration[method] if k >= 0 else float("nan")) for k, _ in hits]
        seconds = [t for k, t in hits if k >= 0]
        summary[method] = dict(iterations=float(np.median([k if k >= 0 else budget for k, _ in hits])),
                               reached=sum(k >= 0 for k, _ in hits), instances=len(hits), budget=budget, tol=tol,
                               seconds=float(np.median(seconds)) if seconds else float("nan"),
                               evaluations=float(np.median([t.evaluations for t in traces])),
                               diverged=sum(int((t.diverged_at >= 0).sum()) for t in traces))
    return summary


def to_tolerance(trace: Trace, f_star: float, tol: float) -> tuple[int, float]:
    """(iterations, seconds) until (f_k − f*) ≤ tol·(f_0 − f*); (−1, nan) if never reached."""
    values = trace.values_with_start()[:, 0]
    gap0 = values[0] - f_star
    reached = np.nonzero(np.isfinite(values) & (values - f_star <= tol * gap0))[0]
    if reached.size == 0:
        return -1, float("nan")
    k = int(reached[0])
    return k, 0.0 if k == 0 else float(trace.series("elapsed")[k - 1, 0])
