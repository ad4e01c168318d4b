"""Driving the authors' own L2O-CFGD code (github:Johnny1188/fractional-learning-to-optimize, package fl2o) side
by side with ours, on our problem instances ("code"; the copy is prepared by benchmarks/prepare_theirs_cfgd.sh and
never part of this repository).

Nothing of theirs is re-implemented: their meta_train, do_fit, L2O, CFGD_ClosedForm_v2 (least squares), CFGD
(H-functions), MLPOptee, CustomParams and look-ahead step-size rules run as published. What is ours is only the
configuration dict their meta_train reads (the values of their notebooks scripts/least_squares.ipynb and
scripts/h_funcs.ipynb, with the sizes as arguments) and the hand-over of our instances: a least-squares task dict in
the format of their data.generate_least_squares_task built from our (W, y), an H-function sample dict in the format
of their data.HFunc.sample from our (z, h(z)), and their MLPOptee with its weights set to our x⁰. Their code runs
in float32 (their default dtype); our instances are cast to it.

Conventions of their do_fit: log["loss"][t] = f(x^(t)) before step t, t = 0..T−1; the final f(x^(T)) is computed
here from the returned optimizee, so their summed loss Σ_{t=0}^{T} f(x^(t)) is comparable with Rollout.summed_loss.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from implementations.validation import check_choice, check_positive, check_positive_int, check_real_tensor

#: Environment variable naming the prepared copy (default: .theirs-cfgd in the working directory or the repository).
ENVIRONMENT = "L2O_THEIRS_CFGD"
PREPARE = "benchmarks/prepare_theirs_cfgd.sh PATH-TO-A-CLONE-OF-fractional-learning-to-optimize"


def find_copy(path: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the prepared copy (with fl2o/l2o.py): ``path`` if given; else $L2O_THEIRS_CFGD if it is
    set (and nothing else: set it to a folder without a copy to run without their code); else .theirs-cfgd/ in the
    working directory, else in the repository root; None when the chosen place holds no copy."""
    repository = Path(__file__).resolve().parents[2]
    if path is not None:
        candidates = [path]
    elif os.environ.get(ENVIRONMENT):
        candidates = [os.environ[ENVIRONMENT]]
    else:
        candidates = [Path.cwd() / ".theirs-cfgd", repository / ".theirs-cfgd"]
    for candidate in candidates:
        if (Path(candidate) / "fl2o" / "l2o.py").is_file():
            return Path(candidate).resolve()
    return None


def load(path: str | os.PathLike) -> SimpleNamespace:
    """Import the authors' fl2o modules from the copy at ``path`` (put on sys.path): the namespace of their
    l2o, optimizer, optimizee, data and training modules."""
    root = find_copy(path)
    if root is None:
        raise ValueError(f"path {os.fspath(path)!r} holds no prepared copy of fl2o (run {PREPARE})")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    loaded = sys.modules.get("fl2o")
    if loaded is not None and Path(loaded.__path__[0]).resolve() != root / "fl2o":
        raise ValueError(f"another fl2o is already imported from {loaded.__path__[0]}")
    names = ("l2o", "optimizer", "optimizee", "data", "training")
    return SimpleNamespace(**{name: importlib.import_module(f"fl2o.{name}") for name in names}, root=root)


def commit(fl2o: SimpleNamespace) -> str:
    """The commit the copy was made from (written by prepare_theirs_cfgd.sh), or "unknown"."""
    marker = fl2o.root / "COMMIT"
    return marker.read_text().strip() if marker.is_file() else "unknown"


# ---- configurations (their notebooks' values; sizes as arguments) -------------------------------------------

def _l2o_opter(fl2o, base_cls, base_config: dict) -> dict:
    """Their L2O-CFGD: L2O(in_dim 3, out_dim 3, hidden 40, features grad + iteration encoding) emitting α =
    sigmoid, β = identity, c = identity of its three outputs (both notebooks)."""
    return {"opter_cls": fl2o.l2o.L2O, "opter_config": {
        "in_dim": 3, "out_dim": 3, "hidden_sz": 40, "in_features": ("grad", "iter_num_enc"),
        "base_opter_cls": base_cls, "base_opter_config": base_config, "device": "cpu",
        "params_to_optimize": {"alpha": {"idx": 0, "act_fns": ("sigmoid",)},
                               "beta": {"idx": 1, "act_fns": ("identity",)},
                               "c": {"idx": 2, "act_fns": ("identity",)}}}}


def least_squares_config(fl2o, d: int, m: int, iterations: int, runs: int, unroll: int, lr: float) -> dict:
    """scripts/least_squares.ipynb: tasks from their generate_least_squares_task(d, m) (W ~ N(0,1)/m, y ~ N(0,1)),
    x⁰ ~ N(0, I) (CustomParams init "randn"), base optimizer CFGD_ClosedForm_v2 (NA) with their get_optimal_lr,
    Adam meta-optimizer; no checkpoint files."""
    data = {"data_cls": fl2o.data.CustomTask, "data_config": {
        "task": fl2o.data.generate_least_squares_task, "task_config": {"d": d, "m": m, "verbose": False,
                                                                       "device": "cpu"}}}
    optee = {"optee_cls": fl2o.optimizee.CustomParams,
             "optee_config": {"dim": (1, d), "init_params": "randn", "device": "cpu"}}
    base = {"lr": fl2o.training.get_optimal_lr, "alpha": None, "beta": None, "c": None, "version": "NA",
            "init_points": [torch.randn(1, d, dtype=torch.float32)], "device": "cpu"}
    return _config(fl2o, data, optee, _l2o_opter(fl2o, fl2o.optimizer.CFGD_ClosedForm_v2, base), iterations, runs,
                   unroll, lr)


def hfunction_config(fl2o, name: str, iterations: int, runs: int, unroll: int, lr: float, seed: int) -> dict:
    """scripts/h_funcs.ipynb: their H1/H2/H3 data with 100 preloaded points (seed: their HFunc's seed argument,
    default 0, set here to the run's seed), MLPOptee 1–50–1 tanh without output bias, base optimizer their
    general CFGD (s = 1, NA, detach_gauss_jacobi, their default 3 Hutchinson steps) with their
    parallel_n_step_lookahead_lr_search_hfunc_tanh_twolayer_optee."""
    check_choice("name", name, ("h1", "h2", "h3"))
    data_cls = getattr(fl2o.data, name.upper())
    data = {"data_cls": data_cls, "data_config": {"preload_n_samples": 100, "device": "cpu", "seed": seed}}
    optee = {"optee_cls": fl2o.optimizee.MLPOptee, "optee_config": _mlp_config()}
    base = {"lr": fl2o.training.parallel_n_step_lookahead_lr_search_hfunc_tanh_twolayer_optee, "alpha": None,
            "beta": None, "c": None, "s": 1, "version": "NA", "init_points": None, "detach_gauss_jacobi": True,
            "device": "cpu"}
    return _config(fl2o, data, optee, _l2o_opter(fl2o, fl2o.optimizer.CFGD, base), iterations, runs, unroll, lr)


def _mlp_config() -> dict:
    return {"layer_sizes": [50], "inp_size": 1, "out_size": 1, "act_fn": torch.nn.Tanh(), "output_bias": False,
            "device": "cpu"}


def _config(fl2o, data, optee, opter, iterations, runs, unroll, lr) -> dict:
    check_positive_int("iterations", iterations)
    check_positive_int("runs", runs)
    check_positive_int("unroll", unroll)
    check_positive("lr", lr)
    return {"data": data, "optee": optee, "opter": opter, "n_iters": iterations, "l2o_dict": None,
            "additional_metrics": {}, "ckpt_config": None, "device": "cpu", "seed": 0,
            "meta_training_config": {"meta_opter_cls": torch.optim.Adam, "meta_opter_config": {"lr": lr},
                                     "n_runs": runs, "unroll": unroll, "loggers": None}}


@dataclass
class TheirTraining:
    """What their meta_train returned: the final l2o_dict, the early-stopping best (their l2o_dict_best: the
    state after the run with the lowest training summed loss), the per-run summed losses, the wall time."""

    final: dict
    best: dict
    best_run: int
    summed_losses: list[float]
    seconds: float


def meta_train(fl2o, config: dict, seed: int) -> TheirTraining:
    """Their meta_train(config), seeded as their notebooks do (torch.manual_seed, np.random.seed); their
    per-run printing is swallowed. Runs in float32 and restores torch's default dtype and RNG state after."""
    import time

    default = torch.get_default_dtype()
    state = torch.get_rng_state()
    try:
        torch.set_default_dtype(torch.float32)
        torch.manual_seed(seed)
        np.random.seed(seed)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            final, best, log = fl2o.training.meta_train(config=config, device="cpu")
        seconds = time.perf_counter() - started
    finally:
        torch.set_default_dtype(default)
        torch.set_rng_state(state)
    return TheirTraining(final, best["best_l2o_dict"], int(best["run_num"]),
                         [float(v) for v in log["loss_sum"]], seconds)


# ---- our instances in their formats ----------------------------------------------------------------------

def least_squares_task(W: torch.Tensor, y: torch.Tensor) -> dict:
    """Our f = ½‖Wᵀx − y‖² (W (d, m), y (m,)) as the dict their generate_least_squares_task returns (the keys
    their optimizers and do_fit read: W, y, loss_fn, A = WWᵀ, b = −Wyᵀ), in float32."""
    W = W.detach().to(torch.float32).cpu()
    y = y.detach().to(torch.float32).cpu().reshape(1, -1)
    return {"W": W, "y": y, "loss_fn": lambda y_hat: (y_hat @ W - y).pow(2).sum().mul(0.5), "A": W @ W.T,
            "b": -W @ y.T}


class _Sample:
    """A data class for their do_fit that always returns one fixed sample dict (their CustomTask/HFunc role)."""

    def __init__(self, sample: dict):
        self._sample = sample

    def sample(self) -> dict:
        return self._sample


def hfunction_sample(fl2o, z: torch.Tensor, targets: torch.Tensor) -> dict:
    """Our H-function regression data (z (n, 1), h(z) (n, 1)) as the dict their HFunc.sample returns, float32."""
    z = z.detach().to(torch.float32).cpu()
    targets = targets.detach().to(torch.float32).cpu()
    loss = fl2o.data.HFunc.LossFn(reduction="sum")
    return {"x": z, "y": targets, "loss_fn": lambda y_hat: loss(y_hat=y_hat, y=targets),
            "loss_fn_cls": fl2o.data.HFunc.LossFn}


def _mlp_optee(fl2o, x0: torch.Tensor):
    """A factory for their do_fit: their MLPOptee (1–50–1) with its parameters set to our flat x⁰ (layout of
    FlatMLPObjective: W1, b1, W2), the way their get_deepcopy sets parameters (p.data = …)."""
    def build(**config):
        optee = fl2o.optimizee.MLPOptee(**config)
        start = 0
        for _, p in optee.all_named_parameters():
            p.data = x0[start:start + p.numel()].detach().to(torch.float32).reshape(p.shape).clone()
            start += p.numel()
        return optee
    return build


@dataclass
class TheirRun:
    """losses[t] = f(x^(t)), t = 0..T (their log plus the final loss); c[t]: the terminal their optimizer used at
    step t (per coordinate, a NumPy array; None for static runs); diverged: their do_fit stopped early or a loss
    was not finite."""

    losses: list[float]
    c: list[np.ndarray] | None
    diverged: bool

    @property
    def summed_loss(self) -> float:
        return float(np.sum(self.losses)) if not self.diverged else float("inf")


def _fit(fl2o, iterations: int, optee_cls, optee_config, data, opter_cls=None, opter_config=None, l2o=None,
         metrics=None) -> tuple[dict, object]:
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        with contextlib.redirect_stdout(io.StringIO()):
            log, optee, _ = fl2o.training.do_fit(
                opter_cls=opter_cls, opter_config=opter_config, optee_cls=optee_cls, optee_config=optee_config,
                data_cls=lambda: data, data_config={}, n_iters=iterations,
                l2o_dict=None if l2o is None else {**l2o, "unroll": 1}, in_meta_training=False,
                additional_metrics=metrics, device="cpu")
    finally:
        torch.set_default_dtype(default)
    return log, optee


def _their_run(log: dict, final: float, iterations: int, with_c: bool) -> TheirRun:
    losses = [float(v) for v in log["loss"]] + [final]
    diverged = len(log["loss"]) < iterations or not np.all(np.isfinite(losses))
    return TheirRun(losses, log.get("c") if with_c else None, diverged)


def least_squares_run(fl2o, W: torch.Tensor, y: torch.Tensor, x0: torch.Tensor, iterations: int,
                      l2o: dict | None = None, static: dict | None = None) -> TheirRun:
    """One of their runs on our instance (W, y) from our x⁰: their meta-trained L2O-CFGD (``l2o``: an
    l2o_dict of TheirTraining) or one of their static optimizers (``static``: {"cls": "CFGD_ClosedForm_v2" or
    "CFGD_ClosedForm", and its keyword arguments, e.g. alpha, beta, c, version, L for AT}) with their
    get_optimal_lr, for ``iterations`` steps of their do_fit."""
    check_real_tensor("x0", x0, dim=1)
    check_positive_int("iterations", iterations)
    if (l2o is None) == (static is None):
        raise ValueError("give exactly one of l2o and static")
    task = least_squares_task(W, y)
    data = _Sample(task)
    optee_config = {"dim": (1, x0.shape[0]), "init_params": x0.detach().to(torch.float32).reshape(1, -1).clone(),
                    "device": "cpu"}
    metrics = None
    opter_cls = opter_config = None
    if l2o is not None:
        metrics = {"c": lambda opter, **_: opter.base_opter.param_groups[0]["c"].detach().clone().numpy().ravel()}
    else:
        settings = dict(static)
        opter_cls = getattr(fl2o.optimizer, settings.pop("cls"))
        history = settings.pop("L", 1)
        if settings.get("version", "NA") == "AT":
            settings["init_points"] = [torch.randn(1, x0.shape[0], dtype=torch.float32) for _ in range(history)]
        opter_config = {"lr": fl2o.training.get_optimal_lr, "init_points": None, "device": "cpu", **settings}
    log, optee = _fit(fl2o, iterations, fl2o.optimizee.CustomParams, optee_config, data, opter_cls, opter_config,
                      l2o, metrics)
    final = float(task["loss_fn"](optee.params.detach()))
    return _their_run(log, final, iterations, l2o is not None)


def hfunction_run(fl2o, z: torch.Tensor, targets: torch.Tensor, x0: torch.Tensor, iterations: int,
                  l2o: dict | None = None, static: dict | None = None) -> TheirRun:
    """One of their runs on our H-function instance (inputs z, targets h(z)) from our flat x⁰: their L2O-CFGD
    (``l2o``) or their general CFGD with fixed hyperparameters (``static``: alpha, beta, c, version, L; their
    notebook's s = 1 and 5 Hutchinson steps), step sizes by their parallel look-ahead rule."""
    check_real_tensor("x0", x0, dim=1)
    check_positive_int("iterations", iterations)
    if (l2o is None) == (static is None):
        raise ValueError("give exactly one of l2o and static")
    sample = hfunction_sample(fl2o, z, targets)
    build = _mlp_optee(fl2o, x0)
    opter_cls = opter_config = None
    metrics = None
    if l2o is not None:
        metrics = {"c": lambda opter, **_: np.concatenate([g["c"].detach().numpy().ravel()
                                                           for g in opter.base_opter.param_groups])}
    else:
        settings = dict(static)
        history = settings.pop("L", 1)
        template = build(**_mlp_config())
        if settings.get("version", "NA") == "AT":
            settings["init_points"] = [[torch.randn_like(p) for _ in range(history)]
                                       for _, p in template.all_named_parameters()]
        else:
            settings["c"] = torch.tensor([float(settings["c"])], dtype=torch.float32)
        opter_cls = fl2o.optimizer.CFGD
        opter_config = {"lr": fl2o.training.parallel_n_step_lookahead_lr_search_hfunc_tanh_twolayer_optee,
                        "s": 1, "n_hutchinson_steps": 5, "init_points": settings.pop("init_points", None),
                        "device": "cpu", **settings}
    log, optee = _fit(fl2o, iterations, build, _mlp_config(), _Sample(sample), opter_cls, opter_config, l2o,
                      metrics)
    with torch.no_grad():
        final = float(sample["loss_fn"](optee(task=sample)))
    return _their_run(log, final, iterations, l2o is not None)
