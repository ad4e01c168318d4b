"""mathl2o.random-init.mlp-gradients: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch

from implementations.mathl2o import QP, MathL2O, unroll
from verify.claims.mathl2o._shared import _power_exponent
from verify.figures import figure_path, pyplot, save
from verify.intervals import seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.random-init.mlp-gradients",
                 "for the coordinate-wise MLP of THEORY.md §3.1, the training-gradient norm at initialisation vs T "
                 "for deterministic, random-W_L and fully random initialisations",
                 "paper", "empirical", "measure", "paper Fig. 2; THEORY.md §3.1",
                 scales={"Ts": ([5, 20, 80, 160], [5, 10, 20, 40, 80, 160, 320])},
                 unbatched="a measurement with no condition to violate: the gradient norm at initialisation (one "
                           "autograd pass of the unrolled network) at each T of an enumerated grid, per "
                           "initialisation and seed")


def _interval_row(name: str, values: list[float]) -> dict:
    """{"quantity", "median", "low", "high", "n", "values"}: seed_interval of ``values`` as one table row."""
    interval = seed_interval(values)
    return {"quantity": name, **{k: interval[k] for k in ("median", "low", "high", "n", "values")}}


def _gradient_norms(init: str, e: float, Ts: list[int], qp: QP, width: int, seed: int,
                    detach: bool = True) -> list[float]:
    norms = []
    for T in Ts:
        model = MathL2O(width, e, 3, init=init, seed=seed, dtype=qp.M.dtype, device=qp.M.device)
        loss = unroll(model, qp, T, detach_inputs=detach)[-1]
        grads = torch.autograd.grad(loss, list(model.parameters()))
        norms.append(float(torch.sqrt(sum((g * g).sum() for g in grads))))
    return norms


@check(SPEC.id)
def mlp_random_init_gradients(ctx: Context) -> Evidence:
    """The coordinate-wise MLP of THEORY.md §3.1 (not the paper's Fig. 2 models, see
    mathl2o.random-init-explodes): ‖∇𝓕(W⁰)‖ for T ∈ {5, 20, 80, 160} (quick) / {5, 10, …, 320} (full) on N = 4,
    d = 16, b = 12, width 64, for
    init = deterministic (e = 100), random_last (same inner layers, Kaiming-uniform W_L ≠ 0, e = 100), random
    (PyTorch default on every layer), and random_last with the inputs NOT detached (gradients then also flow
    through the model's inputs across steps). Measured at seeds_for(budget, seed) seeds (instances and weights
    from Context.instance_seeds(1, ·) and Context.instance_seeds(3, ·)): per init the fold change g(T_max)/g(T_min)
    and the power of T it amounts to, each as a median with a bootstrap 95% interval over seeds (verify.intervals)."""
    Ts = ctx.scale("Ts")
    seeds = seeds_for(ctx.budget, ctx.seed)
    inits = {"deterministic": ("deterministic", 100.0, True), "random_last": ("random_last", 100.0, True),
             "random": ("random", 1.0, True), "random_last_not_detached": ("random_last", 100.0, False)}
    norms = {name: [] for name in inits}
    for qp_seed, model_seed in zip(ctx.instance_seeds(1, seeds), ctx.instance_seeds(3, seeds)):
        qp = QP.random(4, 16, 12, seed=qp_seed, **ctx.like)
        for name, (init, e, detach) in inits.items():
            norms[name].append(_gradient_norms(init, e, Ts, qp, 64, model_seed, detach))
    rows, numbers = [], {"T": Ts, "seeds": seeds}
    for name, runs in norms.items():
        fold = [r[-1] / r[0] for r in runs]
        rows.append(_interval_row(f"{name}: fold change g(T_max)/g(T_min)", fold))
        rows.append(_interval_row(f"{name}: power of T", [_power_exponent(Ts, r) for r in runs]))
        numbers[f"grad_norm_{name}_median"] = [float(np.median([r[i] for r in runs])) for i in range(len(Ts))]
        numbers[f"fold_change_{name}"] = seed_interval(fold)
    figures = []
    path = figure_path(ctx, "mathl2o_mlp_random_init_gradients.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for name, runs in norms.items():
            ax.loglog(Ts, np.median(np.array(runs), axis=0), "o-", label=name)
        ax.set_xlabel("T"), ax.set_ylabel("gradient norm at W0 (median over seeds)"), ax.legend(fontsize=7)
        figures.append(save(fig, path, dpi=120))
    largest = max(numbers[f"fold_change_{name}"]["median"] for name in inits)
    return Evidence(holds=None, numbers=numbers, tables={"growth": rows}, figures=figures,
                    notes=f"the largest median fold change of ‖∇𝓕(W⁰)‖ from T = {Ts[0]} to {Ts[-1]} over these "
                          f"initialisations is {largest:.3g} (P stays in (0, 2) for every one of them).")
