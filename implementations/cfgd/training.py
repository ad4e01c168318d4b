"""Meta-training of L2O-CFGD and the LSTM baseline by truncated BPTT, evaluation roll-outs, checkpoints, and
the static-hyperparameter grid-search baselines (THEORY.md §1.4; the authors' fl2o/training.py).

Meta-training: for each run, draw a fresh problem and x⁰; every ``unroll`` steps the meta-loss
log Σ_{t in unroll} f(x^(t+1)) is back-propagated, one Adam step is taken, and x and the LSTM states are
detached. Configurations: ``paper_config(task)`` (the paper's scale) and ``reduced_config(task)`` (minutes on
one CPU core). Everything runs in the config's dtype (float64 by default).
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import torch

from implementations.cfgd import batched, stacked
from implementations.cfgd.caputo import HESSIAN_MODES
from implementations.cfgd.l2o import DIRECTIONS, L2OCFGD, LSTMOptimizer, StepRecord, detach_state
from implementations.cfgd.optimizers import (
    ExactLineSearch,
    FixedStep,
    LayerwiseLookahead,
    LookaheadGridSearch,
    cfgd,
    random_initial_terminals,
    start_value,
)
from implementations.problems.hfunctions import H_FUNCTIONS, hfunction_regression
from implementations.problems.least_squares import LeastSquares
from implementations.problems.mlp_classifier import digit_classifier
from implementations.progress import track, tracked
from implementations.storage import atomic_torch_save, check_checkpoint_paths, fresh_groups, load_plain, locked
from implementations.validation import (
    check_bool,
    check_callable,
    check_choice,
    check_generator,
    check_instance,
    check_optional_number,
    check_pairs,
    check_path,
    check_positive,
    check_positive_int,
    check_real_tensor,
    check_seed,
)

TASKS = ("least-squares", *H_FUNCTIONS, "classifier")
DTYPES = ("float64", "float32", "float16", "bfloat16")
STARTS = ("zeros", "normal")
STEP_RULES = ("default", "layerwise")


@dataclass(frozen=True)
class TaskConfig:
    """A family of optimizees. least-squares: f = ½‖Wᵀx − y‖², W_ij ~ N(0,1)/m, x⁰ = 0, exact line search.
    h1/h2/h3: 1–hidden–1 tanh MLP on n points, default init, look-ahead grid search. classifier: 64–hidden–10
    ReLU MLP on n digits, fixed η = 0.1. ``iterations``: optimisation steps per run. ``start`` (least squares
    only): x⁰ = 0 ("zeros", THEORY.md §1.4) or x⁰ ~ N(0, I) ("normal", the authors' notebook: init_params
    "randn"). ``step_rule`` (H-functions only): "default" (one look-ahead η for all coordinates) or "layerwise"
    (the authors' rule: look-ahead on the first layer, exact line search on the output layer; LayerwiseLookahead)."""

    name: str = "least-squares"
    d: int = 100
    m: int = 100
    n: int = 100
    hidden: int = 50
    iterations: int = 800
    start: str = "zeros"
    step_rule: str = "default"

    def __post_init__(self) -> None:
        if self.name not in TASKS:
            raise ValueError(f"task name must be one of {TASKS}, got {self.name!r}")
        for key in ("d", "m", "n", "hidden", "iterations"):
            check_positive_int(key, getattr(self, key))
        check_choice("start", self.start, STARTS)
        if self.start != "zeros" and self.name != "least-squares":
            raise ValueError("start applies to the least-squares task only (the MLP tasks start at their default "
                             "initialisation)")
        check_choice("step_rule", self.step_rule, STEP_RULES)
        if self.step_rule != "default" and self.name not in H_FUNCTIONS:
            raise ValueError("step_rule 'layerwise' applies to the H-function tasks only")

    def describe(self) -> str:
        """The task with only the sizes it uses: d, m for least squares, n, hidden for the MLP tasks; e.g.
        ``h2(n=100, hidden=50, iterations=600)``."""
        used = ("d", "m") if self.name == "least-squares" else ("n", "hidden")
        sizes = ", ".join(f"{key}={getattr(self, key)}" for key in (*used, "iterations"))
        extra = "".join(f", {key}={getattr(self, key)}"
                        for key, default in (("start", "zeros"), ("step_rule", "default"))
                        if getattr(self, key) != default)
        return f"{self.name}({sizes}{extra})"

    def make(self, generator: torch.Generator, dtype: torch.dtype = torch.float64) -> tuple[Callable, torch.Tensor]:
        """A fresh problem f and its starting point x⁰."""
        if self.name == "least-squares":
            problem = LeastSquares.random_cfgd(self.d, self.m, generator, dtype)
            if self.start == "normal":
                return problem, torch.randn(self.d, generator=generator, dtype=dtype)
            return problem, torch.zeros(self.d, dtype=dtype)
        if self.name == "classifier":
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            problem = digit_classifier(self.n, self.hidden, seed=seed, dtype=dtype)
        else:
            problem = hfunction_regression(self.name, self.n, self.hidden, generator, dtype)
        return problem, problem.initial_point(generator)

    def step_size(self):
        if self.name == "least-squares":
            return ExactLineSearch()
        if self.name == "classifier":
            return FixedStep(0.1)
        return LayerwiseLookahead() if self.step_rule == "layerwise" else LookaheadGridSearch()


@dataclass(frozen=True)
class MetaTrainConfig:
    """Meta-training set-up. kind: "cfgd" (L2O-CFGD) or "lstm" (black-box baseline); fixed_beta/fixed_c hold
    L2O-CFGD's β/c constant (both: the α-only meta-optimizer, see L2OCFGD); direction and beta_scaling:
    L2OCFGD's switches to the authors' code variants."""

    task: TaskConfig = field(default_factory=TaskConfig)
    kind: str = "cfgd"
    runs: int = 2000
    unroll: int = 20
    lr: float = 1e-3
    hidden: int = 40
    nodes: int = 1
    hessian: str = "hutchinson"
    probes: int = 3
    seed: int = 0
    dtype: str = "float64"
    fixed_beta: float | None = None
    fixed_c: float | None = None
    direction: str = "caputo"
    beta_scaling: bool = False

    def __post_init__(self) -> None:
        check_instance("task", self.task, TaskConfig)
        if self.kind not in ("cfgd", "lstm"):
            raise ValueError(f"kind must be 'cfgd' or 'lstm', got {self.kind!r}")
        if self.kind == "lstm" and (self.fixed_beta is not None or self.fixed_c is not None):
            raise ValueError("fixed_beta/fixed_c apply to kind='cfgd' only")
        check_choice("direction", self.direction, DIRECTIONS)
        check_bool("beta_scaling", self.beta_scaling)
        if self.kind == "lstm" and (self.direction != "caputo" or self.beta_scaling):
            raise ValueError("direction/beta_scaling apply to kind='cfgd' only")
        for key in ("runs", "unroll", "hidden", "nodes", "probes"):
            check_positive_int(key, getattr(self, key))
        check_positive("lr", self.lr)
        check_choice("hessian", self.hessian, HESSIAN_MODES)
        check_seed("seed", self.seed)
        check_choice("dtype", self.dtype, DTYPES)
        check_optional_number("fixed_beta", self.fixed_beta)
        check_optional_number("fixed_c", self.fixed_c)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MetaTrainConfig":
        data = dict(data)
        data["task"] = TaskConfig(**data["task"])
        return cls(**data)


def paper_config(task: str = "least-squares", kind: str = "cfgd") -> MetaTrainConfig:
    """The paper's scale (THEORY.md §1.4): least squares d = m = 100, 2000 runs, unroll 20, 800 iterations,
    lr 1e-3; H-functions 1–50–1 on 100 points, 1200 runs, unroll 40, 600 iterations, lr 3e-4; 3 probes."""
    if task == "least-squares":
        return MetaTrainConfig(TaskConfig(task, d=100, m=100, iterations=800), kind, runs=2000, unroll=20, lr=1e-3)
    if task == "classifier":
        return MetaTrainConfig(TaskConfig(task, n=1797, hidden=20, iterations=400), kind, runs=200, unroll=20, lr=1e-3)
    return MetaTrainConfig(TaskConfig(task, n=100, hidden=50, iterations=600), kind, runs=1200, unroll=40, lr=3e-4)


def reduced_config(task: str = "least-squares", kind: str = "cfgd") -> MetaTrainConfig:
    """A scale that meta-trains in about a minute on one CPU core: least squares d = m = 20, 40 runs of 100
    iterations; H-functions with the paper's 1–50–1 network on 100 points, 30 runs of 60 iterations; exact
    ∂²_jj instead of Hutchinson (no estimator noise in so few runs; on the one-hidden-layer MLPs the closed
    form makes it cheaper than 3 probes, see benchmarks/cfgd_caputo_step.md); meta-lr 3e-3."""
    if task == "least-squares":
        return MetaTrainConfig(TaskConfig(task, d=20, m=20, iterations=100), kind, runs=40, unroll=20, lr=3e-3,
                               hessian="exact")
    if task == "classifier":
        return MetaTrainConfig(TaskConfig(task, n=128, hidden=20, iterations=40), kind, runs=4, unroll=20,
                               lr=3e-3, hessian="exact")
    return MetaTrainConfig(TaskConfig(task, n=100, hidden=50, iterations=60), kind, runs=30, unroll=20, lr=3e-3,
                           hessian="exact")


def build_model(config: MetaTrainConfig) -> torch.nn.Module:
    if config.kind == "cfgd":
        model = L2OCFGD(config.hidden, nodes=config.nodes, hessian=config.hessian, probes=config.probes,
                        fixed_beta=config.fixed_beta, fixed_c=config.fixed_c, direction=config.direction,
                        beta_scaling=config.beta_scaling)
    else:
        model = LSTMOptimizer(config.hidden)
    return model.to(getattr(torch, config.dtype))


@dataclass
class Rollout:
    """losses[t] = f(x^(t)), t = 0..T (truncated at divergence); records[t]: the step-t hyperparameters."""

    losses: list[float]
    records: list[StepRecord]
    diverged_at: int | None = None

    @property
    def summed_loss(self) -> float:
        return float(sum(self.losses))


def rollout(model: torch.nn.Module, f: Callable, x0: torch.Tensor, iterations: int, step_size,
            unroll: int | None = None, meta_optimizer: torch.optim.Optimizer | None = None,
            generator: torch.Generator | None = None, keep_records: bool = False, blowup: float = 1e12) -> Rollout:
    """Run ``model`` on f from x⁰ for ``iterations`` steps. With a meta_optimizer, every ``unroll`` steps take
    one Adam step on log Σ f(x^(t+1)) (truncated BPTT) and detach; without one, run under no meta-graph.
    Arguments are checked (:func:`check_rollout_args`); a run whose loss turns non-finite or exceeds
    ``blowup`` × max(1, |f(x⁰)|) stops and records ``diverged_at``."""
    check_rollout_args(model, f, x0, iterations, step_size, unroll, meta_optimizer, generator, blowup)
    check_bool("keep_records", keep_records)
    training = meta_optimizer is not None
    unroll = unroll or iterations
    x = x0.detach().clone()
    state = model.net.initial_state(x.shape[0], x)
    losses = [start_value(f, x)]
    limit = blowup * max(1.0, abs(losses[0]))
    records: list[StepRecord] = []
    window: list[torch.Tensor] = []
    for t in range(iterations):
        with torch.set_grad_enabled(training):
            x, state, record = model.step(f, x, t, iterations, state, step_size, generator)
            loss = f(x)
        value = float(loss.detach())
        if not math.isfinite(value) or abs(value) > limit:
            return Rollout(losses, records, diverged_at=t + 1)
        losses.append(value)
        if keep_records:
            records.append(record)
        if training:
            window.append(loss)
            if len(window) == unroll or t == iterations - 1:
                meta_optimizer.zero_grad()
                torch.log(torch.stack(window).sum()).backward()
                meta_optimizer.step()
                window = []
                x, state = x.detach(), detach_state(state)
        else:
            x, state = x.detach(), detach_state(state)
    return Rollout(losses, records)


def check_model(model) -> torch.nn.Module:
    """An L2O optimizer: an L2OCFGD or LSTMOptimizer (a module with ``step`` and ``net.initial_state``)."""
    if not (isinstance(model, torch.nn.Module) and callable(getattr(model, "step", None))
            and callable(getattr(getattr(model, "net", None), "initial_state", None))):
        raise TypeError(f"model must be an L2OCFGD or LSTMOptimizer (a torch.nn.Module with step() and "
                        f"net.initial_state()), got {type(model).__name__}")
    return model


def _check_step_size(model, step_size) -> None:
    """A callable step-size rule; the black-box LSTMOptimizer, which takes no step size, also accepts None."""
    if step_size is None and isinstance(model, LSTMOptimizer):
        return
    check_callable("step_size", step_size)


def _check_unroll(unroll) -> None:
    if unroll is not None:
        check_positive_int("unroll", unroll)


def _check_meta_optimizer(meta_optimizer) -> None:
    if meta_optimizer is not None:
        check_instance("meta_optimizer", meta_optimizer, torch.optim.Optimizer, "torch.optim.Optimizer or None")


def check_rollout_args(model, f, x0, iterations, step_size, unroll, meta_optimizer, generator, blowup) -> None:
    """What :func:`rollout` checks: an L2O model, a callable f, a finite flat x⁰, counts, the step-size rule, an
    optional Adam optimizer and generator, and a positive finite ``blowup``."""
    check_model(model)
    check_callable("f", f)
    check_real_tensor("x0", x0, dim=1)
    check_positive_int("iterations", iterations)
    _check_step_size(model, step_size)
    _check_unroll(unroll)
    _check_meta_optimizer(meta_optimizer)
    check_generator("generator", generator)
    check_positive("blowup", blowup)


def _check_problem(problem) -> tuple[Callable, torch.Tensor]:
    """What make_problem must return: (f, x⁰) with f callable and x⁰ a flat tensor."""
    if not (isinstance(problem, tuple) and len(problem) == 2):
        raise TypeError(f"make_problem must return a pair (f, x0), got {type(problem).__name__}")
    check_callable("make_problem's f", problem[0])
    check_real_tensor("make_problem's x0", problem[1], dim=1)
    return problem


def _check_log(log) -> None:
    if log is None:
        return
    check_instance("log", log, dict)
    missing = {"summed_loss", "final_loss", "diverged"} - set(log)
    if missing:
        raise ValueError(f"log must hold the lists summed_loss, final_loss and diverged; it lacks {sorted(missing)}")


def meta_train_model(model: torch.nn.Module, make_problem: Callable[[torch.Generator], tuple[Callable, torch.Tensor]],
                     iterations: int, step_size, runs: int, unroll: int, lr: float, generator: torch.Generator,
                     log_every: int = 0, meta_optimizer: torch.optim.Optimizer | None = None,
                     log: dict | None = None, after_run: Callable[[int, dict], None] | None = None) -> dict:
    """Meta-train ``model`` in place by truncated BPTT: for each of ``runs`` runs draw (f, x⁰) =
    make_problem(generator) and roll out ``iterations`` steps, one Adam step (lr) on log Σ f every ``unroll``
    steps (rollout). Returns the log of per-run summed and final losses and divergence steps.
    Resuming: pass the restored ``meta_optimizer`` and the ``log`` of the runs already done (generator and
    model in their state after those runs); training continues at run len(log["summed_loss"]).
    ``after_run(runs_done, log)`` is called after every run (e.g. to write a checkpoint).
    Every argument is checked at entry (TypeError/ValueError naming it); make_problem's result each run."""
    check_model(model)
    check_callable("make_problem", make_problem)
    check_positive_int("iterations", iterations)
    _check_step_size(model, step_size)
    check_positive_int("runs", runs)
    check_positive_int("unroll", unroll)
    check_positive("lr", lr)
    check_generator("generator", generator)
    check_positive_int("log_every", log_every, minimum=0)
    _check_meta_optimizer(meta_optimizer)
    _check_log(log)
    if after_run is not None:
        check_callable("after_run", after_run)
    meta_optimizer = meta_optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    log = log if log is not None else {"summed_loss": [], "final_loss": [], "diverged": []}
    progress = track(f"meta-training {type(model).__name__}: runs", runs)
    progress.update(len(log["summed_loss"]))
    for run in range(len(log["summed_loss"]), runs):
        f, x0 = _check_problem(make_problem(generator))
        result = rollout(model, f, x0, iterations, step_size, unroll, meta_optimizer, generator)
        log["summed_loss"].append(result.summed_loss)
        log["final_loss"].append(result.losses[-1])
        log["diverged"].append(result.diverged_at)
        if log_every and (run + 1) % log_every == 0:
            print(f"run {run + 1}/{runs}: summed loss {result.summed_loss:.4g}")
        if after_run is not None:
            after_run(run + 1, log)
        progress.advance()
    return log


def meta_train(config: MetaTrainConfig, log_every: int = 0, checkpoint_path: str | None = None,
               checkpoint_every: int = 10) -> tuple[torch.nn.Module, dict]:
    """Meta-train a fresh model per ``config`` (seeded by config.seed: initial weights and problem draws);
    returns it and the log of meta_train_model.

    checkpoint_path: if given, the model, Adam state, generator state and log are written there (atomically)
    every ``checkpoint_every`` runs and at the end, and a checkpoint already there (written for the same
    config) is resumed from, so an interrupted meta-training loses at most ``checkpoint_every`` runs and a
    finished one is loaded instead of retrained. Resumed training gives the same model as an uninterrupted
    one (tested). A second process given the same checkpoint_path waits (an advisory lock on
    checkpoint_path + ".lock") until the first one finishes, then loads its model instead of training it twice.
    The log's "seconds" entry sums the training time over all sessions."""
    check_instance("config", config, MetaTrainConfig)
    check_positive_int("log_every", log_every, minimum=0)
    if checkpoint_path is not None:
        check_path("checkpoint_path", checkpoint_path)
    check_positive_int("checkpoint_every", checkpoint_every)
    if checkpoint_path is None:
        return _meta_train(config, log_every, None, checkpoint_every)
    with locked(checkpoint_path):
        return _meta_train(config, log_every, checkpoint_path, checkpoint_every)


def _meta_train(config: MetaTrainConfig, log_every: int, checkpoint_path: str | None,
                checkpoint_every: int) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    dtype = getattr(torch, config.dtype)
    model = build_model(config)
    meta_optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    log = {"summed_loss": [], "final_loss": [], "diverged": [], "seconds": 0.0}
    if checkpoint_path is not None and os.path.exists(checkpoint_path):
        data = load_plain(checkpoint_path)
        if data["config"] != config.as_dict():
            raise ValueError(f"checkpoint_path {checkpoint_path!r} holds a checkpoint for another config: "
                             f"{data['config']}")
        if data.get("training_state") is None:
            raise ValueError(f"checkpoint_path {checkpoint_path!r} holds no training state (written by "
                             "save_checkpoint alone); it cannot be resumed")
        model.load_state_dict(data["state_dict"])
        meta_optimizer.load_state_dict(data["training_state"]["meta_optimizer"])
        generator.set_state(data["training_state"]["generator"])
        log = data["log"]
    started = time.perf_counter()
    seconds_before = log["seconds"]

    def save(runs_done: int, current: dict) -> None:
        current["seconds"] = seconds_before + time.perf_counter() - started
        if checkpoint_path is not None and (runs_done % checkpoint_every == 0 or runs_done == config.runs):
            training_state = {"meta_optimizer": meta_optimizer.state_dict(), "generator": generator.get_state()}
            save_checkpoint(checkpoint_path, model, config, current, training_state)

    if len(log["summed_loss"]) < config.runs:
        meta_train_model(model, lambda g: config.task.make(g, dtype), config.task.iterations,
                         config.task.step_size(), config.runs, config.unroll, config.lr, generator, log_every,
                         meta_optimizer, log, save)
    return model, log


def stackable(config: MetaTrainConfig) -> bool:
    """Whether implementations.cfgd.stacked reproduces meta_train(config): its model is supported there (the
    default L2OCFGD, exact or probed curvature, or LSTMOptimizer, float64) and the task is least squares or an
    H-function."""
    if config.dtype != "float64" or config.task.name == "classifier" or config.task.step_rule != "default":
        return False
    return config.kind == "lstm" or (config.nodes == 1 and config.direction == "caputo"
                                     and not config.beta_scaling and config.fixed_beta is None
                                     and config.fixed_c is None)


def meta_train_many(configs: list[MetaTrainConfig], checkpoint_paths: list[str | None] | None = None,
                    checkpoint_every: int = 10) -> list[tuple[torch.nn.Module, dict]]:
    """[meta_train(c, checkpoint_path=p) for c, p in zip(configs, checkpoint_paths)], computed together where
    possible: the configs that differ only in their seed, are :func:`stackable` and have no checkpoint yet are
    meta-trained as one stacked program (implementations.cfgd.stacked: the same models and logs as meta_train to
    round-off, tested; meta-training amplifies that round-off from run to run, to up to 4e-2 relative in a run's
    summed loss after 20 quick-budget least-squares runs, benchmarks/cfgd_grid_search.md), writing each one's
    checkpoint every ``checkpoint_every`` runs and at the end in
    meta_train's format (so meta_train loads or resumes it); the others go through meta_train one by one.
    log["seconds"] of a stacked model: the stacked training's wall time divided by the number of models."""
    check_instance("configs", configs, (list, tuple), "list of MetaTrainConfig")
    for config in configs:
        check_instance("configs entry", config, MetaTrainConfig)
    paths = check_checkpoint_paths(checkpoint_paths, len(configs), "config")
    check_positive_int("checkpoint_every", checkpoint_every)
    results: list = [None] * len(configs)
    keys = [repr(replace(config, seed=0)) if stackable(config) else None for config in configs]
    for members in fresh_groups(keys, paths):
        for i, outcome in zip(members, _meta_train_stacked([configs[i] for i in members], [paths[i] for i in members],
                                                           checkpoint_every)):
            results[i] = outcome
    for i, config in enumerate(configs):
        if results[i] is None:
            results[i] = meta_train(config, checkpoint_path=paths[i], checkpoint_every=checkpoint_every)
    return results


def _meta_train_stacked(configs: list[MetaTrainConfig], paths: list[str | None],
                        checkpoint_every: int) -> list[tuple[torch.nn.Module, dict]]:
    """meta_train for configs that differ only in their seed, as one stacked program (see meta_train_many)."""
    first = configs[0]
    dtype = getattr(torch, first.dtype)
    models, generators = [], []
    for config in configs:
        torch.manual_seed(config.seed)
        generators.append(torch.Generator().manual_seed(config.seed))
        models.append(build_model(config))
    weights = stacked.stack_weights(models)
    optimizer = stacked.RowAdam(weights, first.lr)
    logs = [{"summed_loss": [], "final_loss": [], "diverged": [], "seconds": 0.0} for _ in configs]
    rows = torch.arange(len(configs))
    step_size = first.task.step_size()
    progress = track(f"meta-training {type(models[0]).__name__} x{len(configs)} (stacked): runs", first.runs)
    started = time.perf_counter()

    def save(runs_done: int) -> None:
        stacked.unstack_into(models, weights)
        for s, (config, model, log, path) in enumerate(zip(configs, models, logs, paths)):
            log["seconds"] = (time.perf_counter() - started) / len(configs)
            if path is not None:
                adam = torch.optim.Adam(model.parameters(), lr=config.lr).state_dict()
                adam["state"] = optimizer.row_state(s)
                save_checkpoint(path, model, config, log, {"meta_optimizer": adam,
                                                           "generator": generators[s].get_state()})

    for run in range(first.runs):
        drawn = [_check_problem(config.task.make(g, dtype)) for config, g in zip(configs, generators)]
        problems = batched.stack_problems([f for f, _ in drawn])
        x0 = torch.stack([x for _, x in drawn])
        result = stacked.stacked_rollout(models[0], weights, rows, problems, x0, first.task.iterations, step_size,
                                         first.unroll, optimizer, generators=generators)
        for s, log in enumerate(logs):
            log["summed_loss"].append(result.summed_loss(s))
            log["final_loss"].append(result.losses[s][-1])
            log["diverged"].append(result.diverged_at[s])
        if (run + 1) % checkpoint_every == 0 or run + 1 == first.runs:
            save(run + 1)
        progress.advance()
    return list(zip(models, logs))


def save_checkpoint(path: str, model: torch.nn.Module, config: MetaTrainConfig, log: dict | None = None,
                    training_state: dict | None = None) -> None:
    """torch.save of {state_dict, config (plain dict), log, training_state} to a temporary file renamed onto
    ``path`` (an interruption never leaves a truncated checkpoint). training_state: what resuming needs
    (Adam state, generator state), or None. Everything stored is plain data, read back with weights_only=True."""
    check_path("path", path)
    check_instance("model", model, torch.nn.Module)
    check_instance("config", config, MetaTrainConfig)
    for name, value in (("log", log), ("training_state", training_state)):
        if value is not None:
            check_instance(name, value, dict, "dict or None")
    atomic_torch_save({"state_dict": model.state_dict(), "config": config.as_dict(), "log": log or {},
                       "training_state": training_state}, path)


def load_checkpoint(path: str) -> tuple[torch.nn.Module, MetaTrainConfig, dict]:
    """The model rebuilt from the checkpoint's config with its weights, the config and the log. A file that is
    not plain data (implementations.storage.UnsafeFileError) or not a checkpoint raises ValueError naming it."""
    check_path("path", path)
    data = load_plain(path)
    try:
        config = MetaTrainConfig.from_dict(data["config"])
        model = build_model(config)
        model.load_state_dict(data["state_dict"])
        return model, config, data["log"]
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"path {os.fspath(path)!r} is not a checkpoint written by save_checkpoint "
                         f"({type(exc).__name__}: {exc})") from None


# ---- static baselines -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StaticGrid:
    """Grids for the static baselines. NA: α × β × c; AT: L × α × β (initial terminals x⁰ + N(0, I))."""

    alphas: tuple[float, ...] = (0.1, 0.2, 0.6, 0.95)
    betas: tuple[float, ...] = (-5.0, -1.0, 0.0, 0.3)
    terminals: tuple[float, ...] = (-5.0, -0.5, 0.0, 1.0)
    histories: tuple[int, ...] = (1, 4)

    def configurations(self, variant: str) -> list[dict]:
        if variant == "NA":
            return [dict(alpha=a, beta=b, c=c)
                    for a, b, c in itertools.product(self.alphas, self.betas, self.terminals)]
        if variant == "AT":
            return [dict(history=h, alpha=a, beta=b)
                    for h, a, b in itertools.product(self.histories, self.alphas, self.betas)]
        raise ValueError(f"variant must be 'NA' or 'AT', got {variant!r}")


def run_static(task: TaskConfig, f: Callable, x0: torch.Tensor, variant: str, params: dict,
               generator: torch.Generator, hessian: str = "exact", probes: int = 5):
    """One NA/AT-CFGD run with fixed hyperparameters (the code uses 5 probes for the static baselines)."""
    terminals = None
    if variant == "AT":
        terminals = random_initial_terminals(params["history"], x0, generator)
    return cfgd(f, x0, task.iterations, params["alpha"], params["beta"], params.get("c"), variant, terminals,
                task.step_size(), hessian=hessian, probes=probes, generator=generator)


def batchable(task: TaskConfig, problems: list[tuple[Callable, torch.Tensor]], hessian: str = "exact") -> bool:
    """Whether the static runs on ``problems`` can go through implementations.cfgd.batched (one tensor program
    for all configurations × problems): exact ∂²_jj, the task's step rule an exact line search (least squares)
    or the look-ahead grid (H-functions), and problems that stack (batched.supports_batching) with x⁰ of
    one shape."""
    rule = task.step_size()
    if hessian != "exact" or not isinstance(rule, (ExactLineSearch, LookaheadGridSearch)):
        return False
    fs = [f for f, _ in problems]
    if not batched.supports_batching(fs) or (isinstance(rule, ExactLineSearch) and task.name != "least-squares"):
        return False
    return len({tuple(x0.shape) for _, x0 in problems}) == 1 and problems[0][1].shape[0] == fs[0].dim


def run_static_batch(task: TaskConfig, problems: list[tuple[Callable, torch.Tensor]], variant: str,
                     configurations: list[dict], terminal_generators: Callable[[int], list[torch.Generator]]):
    """Every configuration on every problem as one batched program (batched.static_runs); returns the
    BatchRuns of the C·P runs, ordered configuration-major (run c·P + p: configuration c on problem p).
    AT: the initial terminals of configuration c on problem p are random_initial_terminals(L_c, x⁰_p, g_p)
    with g = terminal_generators(L_c) (one generator per problem, drawn from in problem order), the draws
    run_static makes."""
    fs = [f for f, _ in problems]
    x0 = torch.stack([x for _, x in problems])
    count = len(configurations)
    stacked = batched.stack_problems(fs * count)
    starts = x0.repeat(count, 1)
    like = x0[0]
    alpha = torch.tensor([p["alpha"] for p in configurations], dtype=like.dtype, device=like.device)
    beta = torch.tensor([p["beta"] for p in configurations], dtype=like.dtype, device=like.device)
    alpha, beta = alpha.repeat_interleave(len(fs)), beta.repeat_interleave(len(fs))
    if variant == "NA":
        c = torch.tensor([p["c"] for p in configurations], dtype=like.dtype, device=like.device)
        terminals = c.repeat_interleave(len(fs)).unsqueeze(-1).expand_as(starts).clone()
        return batched.static_runs(stacked, starts, task.iterations, alpha, beta, terminals, "NA",
                                   step_size=task.step_size())
    histories = sorted({p["history"] for p in configurations})
    draws = {}
    for history in histories:
        generators = terminal_generators(history)
        draws[history] = [random_initial_terminals(history, x, g) for (_, x), g in zip(problems, generators)]
    results = []
    for history in histories:  # one batch per history length L (the terminal queues have length L)
        members = [i for i, p in enumerate(configurations) if p["history"] == history]
        rows = torch.tensor([i * len(fs) + j for i in members for j in range(len(fs))], device=like.device)
        queue = torch.stack(draws[history] * len(members))
        group = batched.static_runs(batched.stack_problems(fs * len(members)), starts[rows], task.iterations,
                                    alpha[rows], beta[rows], None, "AT", queue, step_size=task.step_size())
        results.append((rows, group))
    losses = torch.empty(count * len(fs), task.iterations + 1, dtype=like.dtype, device=like.device)
    etas = torch.empty(count * len(fs), task.iterations, dtype=like.dtype, device=like.device)
    last = torch.empty_like(starts)
    diverged: list[int | None] = [None] * (count * len(fs))
    for rows, group in results:
        losses[rows], etas[rows], last[rows] = group.losses, group.step_sizes, group.x
        for position, row in enumerate(rows.tolist()):
            diverged[row] = group.diverged_at[position]
    return batched.BatchRuns(losses, diverged, etas, last)


def grid_search_static(task: TaskConfig, problems: list[tuple[Callable, torch.Tensor]], variant: str,
                       grid: StaticGrid, seed: int = 0, hessian: str = "exact",
                       batched_runs: bool | None = None) -> tuple[dict, list[dict]]:
    """The configuration with the lowest mean summed loss over ``problems`` (a diverged run counts as +inf);
    returns (best, table of every configuration's mean summed loss). ``problems``: a non-empty list of
    (f, x⁰) pairs. batched_runs: run all configurations × problems as one tensor program (run_static_batch;
    the same table as the per-configuration loop of run_static to round-off, tested); None: whenever
    :func:`batchable` allows it; False: the loop."""
    check_instance("task", task, TaskConfig)
    for f, x0 in check_pairs("problems", problems, "(f, x0)"):
        check_callable("problems' f", f)
        check_real_tensor("problems' x0", x0, dim=1)
    check_choice("variant", variant, ("NA", "AT"))
    check_instance("grid", grid, StaticGrid)
    check_seed("seed", seed)
    check_choice("hessian", hessian, HESSIAN_MODES)
    if batched_runs is None:
        batched_runs = batchable(task, problems, hessian)
    check_bool("batched_runs", batched_runs)
    if batched_runs and not batchable(task, problems, hessian):
        raise ValueError("batched_runs=True needs exact curvature and problems that batch (see batchable)")
    if batched_runs:
        configurations = grid.configurations(variant)
        progress = track(f"{variant}-CFGD grid search on {task.name}: batched configurations", 1)
        runs = run_static_batch(task, list(problems), variant, configurations,
                                lambda history: [torch.Generator().manual_seed(seed)] * len(problems))
        progress.advance()
        sums = torch.where(torch.tensor([d is None for d in runs.diverged_at], device=runs.losses.device),
                           runs.summed_loss, torch.full_like(runs.summed_loss, math.inf))
        means = sums.reshape(len(configurations), len(problems)).mean(-1)
        table = [{**params, "mean_summed_loss": float(mean)} for params, mean in zip(configurations, means)]
        return min(table, key=lambda row: row["mean_summed_loss"]), table
    table = []
    for params in tracked(grid.configurations(variant), f"{variant}-CFGD grid search on {task.name}: configurations"):
        generator = torch.Generator().manual_seed(seed)
        sums = []
        for f, x0 in problems:
            run = run_static(task, f, x0, variant, params, generator, hessian)
            sums.append(math.inf if run.diverged_at is not None else run.summed_loss)
        table.append({**params, "mean_summed_loss": float(sum(sums) / len(sums))})
    best = min(table, key=lambda row: row["mean_summed_loss"])
    return best, table
