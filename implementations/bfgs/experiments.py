"""The L2O step-size experiments of the BFGS paper (THEORY.md §2.2 bfgs.l2o.*), at a chosen scale.

``l2o_study(scale, seed)`` meta-trains the coordinate-wise LSTM (and the scalar ablation) on training
instances of each task, then runs every method on fresh test instances and returns the traces.
Tasks: least squares, ℓ₂-regularised logistic regression, log-sum-exp, the ~1.5k-parameter digit CNN.
Methods: the learned CWSS model (online updates after every iteration, as in the paper), the learned
scalar step, BFGS with unit steps (the untrained model), BFGS + Armijo (with the skip safeguard, and
with Powell damping: the reviewers' damped-BFGS baseline), BFGS + strong Wolfe, the
hypergradient tuner of P, L-BFGS (torch, strong Wolfe), and Adam (CNN only).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from implementations.bfgs.baselines import HypergradientSteps, adam, bfgs_line_search, lbfgs_torch
from implementations.bfgs.diagnostics import Trace
from implementations.bfgs.model import LearnedSteps, StepSizeLSTM, meta_train
from implementations.bfgs.solver import FixedSteps, cwss_bfgs
from implementations.problems.cnn import DigitCNNObjective
from implementations.problems.least_squares import LeastSquares
from implementations.problems.logistic import LogisticRegression
from implementations.problems.logsumexp import LogSumExp
from implementations.progress import track

TASKS = ("least_squares", "logistic", "logsumexp", "cnn")
LEARNED = ("l2o_cwss", "l2o_scalar")
BASELINES = ("bfgs_unit", "bfgs_armijo", "bfgs_armijo_damped", "bfgs_wolfe", "hypergradient", "lbfgs", "adam")


@dataclass(frozen=True)
class Scale:
    """Sizes of one study: d and m of the convex tasks, digits in the CNN task, instance counts, K, and the
    Adam learning rate of the model's online updates (1e-2: with 1e-3, the first setting tried, the learned
    CNN runs blew up like unit-step BFGS; the paper does not state its value)."""

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

    def as_dict(self) -> dict:
        return dict(self.__dict__)


QUICK = Scale(dim=20, rows=40, cnn_samples=128, train=4, test=3, cnn_train=2, cnn_test=1,
              iterations=60, cnn_iterations=40)
FULL = Scale(dim=100, rows=200, cnn_samples=512, train=32, test=10, cnn_train=3, cnn_test=3,
             iterations=200, cnn_iterations=150)


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
            problem = DigitCNNObjective.create(n=scale.cnn_samples, seed=first_seed + index)
            instances.append((problem, problem.initial_point(generator)))
            continue
        else:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        instances.append((problem, torch.zeros(scale.dim, dtype=torch.float64)))
    return instances


@dataclass
class TaskResult:
    task: str
    traces: dict[str, list[Trace]] = field(default_factory=dict)
    f_star: list[float] = field(default_factory=list)
    training_losses: dict[str, list[float]] = field(default_factory=dict)

    def to_plain(self) -> dict:
        """The result as plain data (its traces through Trace.to_plain)."""
        return {"task": self.task, "f_star": list(self.f_star), "training_losses": dict(self.training_losses),
                "traces": {method: [trace.to_plain() for trace in traces] for method, traces in self.traces.items()}}

    @classmethod
    def from_plain(cls, data: dict) -> "TaskResult":
        """The result that ``to_plain`` gave ``data``."""
        traces = {method: [Trace.from_plain(t) for t in items] for method, items in data["traces"].items()}
        return cls(data["task"], traces, list(data["f_star"]), dict(data["training_losses"]))


def _learned_run(model: StepSizeLSTM, objective, x0, iterations: int, cond_every: int, lr: float) -> Trace:
    policy = LearnedSteps(copy.deepcopy(model), lr=lr, reg=1e-2, learning=True)
    return cwss_bfgs(objective, x0, policy, iterations, cond_every=cond_every)


def run_task(task: str, scale: Scale, seed: int) -> TaskResult:
    """Meta-train both learned models on fresh training instances, then run every method on test ones."""
    generator = torch.Generator().manual_seed(seed)
    cnn = task == "cnn"
    iterations = scale.cnn_iterations if cnn else scale.iterations
    train = make_instances(task, scale.cnn_train if cnn else scale.train, scale, generator, first_seed=1000)
    test = make_instances(task, scale.cnn_test if cnn else scale.test, scale, generator, first_seed=2000)
    result = TaskResult(task)
    torch.manual_seed(seed)
    models = {"l2o_cwss": StepSizeLSTM(coordinatewise=True), "l2o_scalar": StepSizeLSTM(coordinatewise=False)}
    models = {name: model.to(torch.float64) for name, model in models.items()}
    for name, model in models.items():
        result.training_losses[name] = meta_train(model, train, iterations, lr=scale.online_lr)
    cond_every = 10 if cnn else 1
    methods = list(LEARNED) + [m for m in BASELINES if cnn or m != "adam"]
    progress = track(f"{task}: test runs of every method", len(methods) * len(test))
    for method in methods:
        result.traces[method] = []
        for objective, x0 in test:
            if method in LEARNED:
                trace = _learned_run(models[method], objective, x0, iterations,
                                     cond_every if method == "l2o_cwss" else 0, scale.online_lr)
            elif method == "bfgs_unit":
                trace = cwss_bfgs(objective, x0, FixedSteps(1.0), iterations, cond_every=0)
            elif method == "bfgs_armijo":
                trace = bfgs_line_search(objective, x0, iterations, "armijo")
            elif method == "bfgs_armijo_damped":
                trace = bfgs_line_search(objective, x0, iterations, "armijo", safeguard="damp")
            elif method == "bfgs_wolfe":
                trace = bfgs_line_search(objective, x0, iterations, "wolfe")
            elif method == "hypergradient":
                trace = cwss_bfgs(objective, x0, HypergradientSteps(), iterations, cond_every=0)
            elif method == "lbfgs":
                trace = lbfgs_torch(objective, x0, iterations)
            else:
                trace = adam(objective, x0, iterations, lr=1e-2)
            result.traces[method].append(trace)
            progress.advance()
    for index, (objective, x0) in enumerate(test):
        reference = bfgs_line_search(objective, x0, 4 * iterations, "wolfe", gtol=1e-12)
        candidates = [np.nanmin(reference.values_with_start())]
        candidates += [np.nanmin(traces[index].values_with_start()) for traces in result.traces.values()]
        result.f_star.append(float(np.nanmin(candidates)))
    return result


@lru_cache(maxsize=4)
def l2o_study(scale: Scale, seed: int = 0) -> dict[str, TaskResult]:
    """Every task at ``scale`` (cached: the speedup and identity-limit claims share one study)."""
    return {task: run_task(task, scale, seed) for task in TASKS}


def to_tolerance(trace: Trace, f_star: float, tol: float) -> tuple[int, float]:
    """(iterations, seconds) until (f_k − f*) ≤ tol·(f_0 − f*); (−1, nan) if never reached."""
    values = trace.values_with_start()[:, 0]
    gap0 = values[0] - f_star
    reached = np.nonzero(np.isfinite(values) & (values - f_star <= tol * gap0))[0]
    if reached.size == 0:
        return -1, float("nan")
    k = int(reached[0])
    return k, 0.0 if k == 0 else float(trace.series("elapsed")[k - 1, 0])
