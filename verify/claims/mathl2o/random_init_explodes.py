"""mathl2o.random-init-explodes: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import torch

from implementations.mathl2o import QP, train
from implementations.mathl2o.experiments import FIG2_MODELS, FIG2_NDIM, loss_growth
from implementations.mathl2o.unroll import TrainHistory, loss_and_gradients
from verify.cache import cache_file
from verify.claims.mathl2o._shared import _power_exponent
from verify.cluster import spread
from verify.figures import figure_path, pyplot, save
from verify.intervals import interval_verdict, seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.random-init-explodes",
                 "trained by SGD from a random initialisation, the paper's Fig. 2 models (LSTM Math-L2O, LISTA-CPSS) "
                 "explode as T grows; the deterministic-init model does not",
                 "paper", "empirical", "holds", "paper Fig. 2",
                 scales={"shape_N_d_b": ((10, 64, 50), (10, 512, 400)),
                         "Ts": ([5, 10, 20, 40], [5, 10, 20, 40, 60, 80, 100]), "iters": (12, 400),
                         "lrs": ([0.0001], [1e-05, 0.0001])},
                 unbatched="each instance is an SGD training of an LSTM Math-L2O, LISTA-CPSS or MLP unrolled over T "
                           "steps (seconds to minutes), judged over seeds by a bootstrap interval, not a batchable "
                           "formula")


#: "explodes": max_k 𝓕(W^k)/𝓕(W⁰) ≥ 10^EXPLOSION_DECADES over the K SGD steps, or a non-finite loss/gradient.
EXPLOSION_DECADES = 6.0


@check(SPEC.id)
def random_init_explodes(ctx: Context) -> Evidence:
    """Paper Fig. 2: trained from a random initialisation with SGD at the paper's rates, the LSTM Math-L2O (Liu
    et al. 2023) and LISTA-CPSS (Chen et al. 2018) explode as the unroll length T grows (the figure's curves
    end: non-finite losses); the paper's deterministic-init model does not (its Fig. 4b: robust over T and η).
    Models: implementations.mathl2o.LSTMMathL2O (random init, with the B heads the authors' runs have),
    LISTACPSS (random init, one W_t per step) and MathL2O (deterministic init, e = 100, width N·d), on the same
    QP instances; float64. Per model, seed and T: ‖∇𝓕(W⁰)‖ and K SGD steps at η, F(X_T) = 𝓕(W^k) recorded.
    Scales: full = the paper's (N = 10, d = 512, b = 400, T ∈ {5, 10, 20, 40, 60, 80, 100}, K = 400, η ∈ {1e-5,
    1e-4}); quick (reduced: the paper's scale needs ≈ 3.5 s per SGD step of the LSTM at T = 100 on one core) =
    N = 10, d = 64, b = 50, T ∈ {5, 10, 20, 40}, K = 12, η = the paper's 1e-4 × FIG2_NDIM/(N·d) = 8e-4 (η·N·d as
    in the paper; the MLP is trained at the largest T only, its gradient norm is recorded at every T). The reduced
    d = 64 was chosen because its outcomes match our paper-scale runs at seed 0 (LSTM: T = 5 trains, T = 10
    diverges at SGD step 6; LISTA: T = 20 trains, T = 40 diverges at step 8; benchmarks/mathl2o_fig2_paper_scale.md),
    where d = 32 moves LISTA's first exploding T down to 20. Defined before any run: a training "explodes" when
    max_k 𝓕(W^k)/𝓕(W⁰) ≥ 10⁶ or a loss or gradient is non-finite (experiments.loss_growth ≥ EXPLOSION_DECADES);
    the decision uses the largest T and the largest rate (the paper's 1e-4, where its curves end first), the
    per-seed loss_growth as a median with a bootstrap 95% interval over seeds_for(budget, seed) seeds (instances
    and weights from Context.instance_seeds(2, ·), model seed + 1). Every training checkpoints in the run's cache
    folder (at the full budget the claim takes hours: benchmarks/mathl2o_fig2_step_cost.md), so an interrupted
    run resumes it and loses at most 50 SGD steps; under --jobs or --scheduler the trainings run as tasks of
    their own on every worker (verify.cluster.spread), with the same numbers. Verdict (interval_verdict): holds
    when the LSTM's and LISTA's intervals lie above 6 and the MLP's below 6; refuted when one of the three lies on
    the wrong side; otherwise inconclusive. The authors' code gives the same numbers on the same weights
    (benchmarks/mathl2o_fig2_side_by_side.md)."""
    N, d, b = ctx.scale("shape_N_d_b")
    Ts = ctx.scale("Ts")
    iters = ctx.scale("iters")
    lrs = [lr * FIG2_NDIM / (N * d) for lr in ctx.scale("lrs")]
    seeds = seeds_for(ctx.budget, ctx.seed)
    names = tuple(FIG2_MODELS)
    instances = ctx.instance_seeds(2, seeds)
    # the quick budget trains the MLP at the largest T only (its gradient norm is recorded at every T)
    trained = [(inst, T, lr, name) for inst in instances for T in Ts for lr in lrs for name in names
               if not (ctx.quick and name == "mlp_deterministic" and T != Ts[-1])]
    histories = dict(zip(trained, spread(_training, [(ctx, (N, d, b), iters, job) for job in trained],
                                         "Fig. 2 models: trainings (seeds × T × η × model)")))
    grad0 = {(m, T): [] for m in names for T in Ts}
    growth = {(m, T, lr): [] for m in names for T in Ts for lr in lrs}
    curves = {}
    for s, inst in zip(seeds, instances):
        qp = QP.random(N, d, b, seed=inst, **ctx.like)
        for T in Ts:
            for lr in lrs:
                for name in names:
                    if (inst, T, lr, name) not in histories:
                        if lr == lrs[0]:
                            loss, grads = loss_and_gradients(FIG2_MODELS[name](qp, T, inst + 1), qp, T)
                            grad0[(name, T)].append(float(torch.sqrt(sum((g * g).sum() for g in grads))))
                        continue
                    history = histories[(inst, T, lr, name)]
                    growth[(name, T, lr)].append(loss_growth(history))
                    if lr == lrs[0]:
                        grad0[(name, T)].append(history.grad_norms[0] if history.grad_norms else math.nan)
                    if s == seeds[0] and T == Ts[-1]:
                        curves[(name, lr)] = history.losses
    decision = {name: seed_interval(growth[(name, Ts[-1], lrs[-1])]) for name in names}
    expected = {"lstm_math_l2o": "above", "lista_cpss": "above", "mlp_deterministic": "below"}
    outcome = {name: interval_verdict(decision[name], EXPLOSION_DECADES, expected[name]) for name in names}
    holds = True if all(v is True for v in outcome.values()) else False if any(v is False for v in outcome.values()) \
        else None
    rows = []
    for name in names:
        for T in Ts:
            row = {"model": name, "T": T, **{f"grad_norm_W0_{k}": v for k, v in seed_interval(grad0[(name, T)]).items()
                                            if k in ("median", "low", "high")},
                   "grad_norm_W0_first_seed": grad0[(name, T)][0]}
            for lr in lrs:
                if not growth[(name, T, lr)]:
                    continue
                interval = seed_interval(growth[(name, T, lr)])
                row |= {f"log10_growth_lr{lr:g}_{k}": interval[k] for k in ("median", "low", "high")}
                row[f"exploded_seeds_lr{lr:g}"] = sum(g >= EXPLOSION_DECADES for g in growth[(name, T, lr)])
            rows.append(row)
    exponent = {name: seed_interval([_power_exponent(Ts, [grad0[(name, T)][i] for T in Ts])
                                     for i in range(len(seeds))]) for name in names}
    figures = _fig2_figure(ctx, names, Ts, lrs, grad0, growth)
    numbers = {"seeds": seeds, "T": Ts, "lrs": lrs, "sgd_steps": iters, "scale": {"N": N, "d": d, "b": b},
               "explosion_decades": EXPLOSION_DECADES,
               **{f"{name}_log10_growth_Tmax_lrmax": decision[name] for name in names},
               **{f"{name}_grad_norm_W0_power_of_T": exponent[name] for name in names},
               **{f"{name}_verdict": outcome[name] for name in names}}
    wrong = [name for name in names if outcome[name] is False]
    return Evidence(
        holds=holds, inconclusive=holds is None, numbers=numbers,
        counterexample=None if holds is not False else {
            "models": wrong, "T": Ts[-1], "lr": lrs[-1], "sgd_steps": iters, "seeds": seeds,
            "log10_growth": {name: decision[name] for name in wrong},
            "losses_seed0": {name: curves.get((name, lrs[-1])) for name in wrong},
            "margin": max(abs(decision[name]["median"] - EXPLOSION_DECADES) for name in wrong)},
        tables={"fig2": rows}, figures=figures,
        notes=f"scale N={N}, d={d}, b={b}, K={iters} SGD steps, η = {', '.join(f'{lr:g}' for lr in lrs)} "
              + ("(reduced: the paper's 1e-4 × 8, η·N·d as in the paper). " if ctx.quick else "(the paper's). ")
              + "log10_growth = log10 max_k 𝓕(W^k)/𝓕(W⁰) (inf: non-finite); explodes ≥ 6. ‖∇𝓕(W⁰)‖ grows like T^p "
              "over the T range with median p = " + ", ".join(f"{exponent[n]['median']:.2f} ({n})" for n in names)
              + (" (polynomial, so an explosion comes from the SGD steps, not from the gradient at initialisation)"
                 if all(exponent[n]["high"] < 3 for n in names) else "")
              + ". Side by side with the authors' CoordMathLSTM and LISTACPSSWOnly on the first seed's instances and "
              "weights (grad_norm_W0_first_seed): benchmarks/mathl2o_fig2_side_by_side.md.")


def _training(task) -> TrainHistory:
    """One Fig. 2 training (a task of verify.cluster.spread): the model ``name`` of FIG2_MODELS on the instances of
    instance seed ``inst``, K SGD steps at η, checkpointed in the run's cache folder."""
    ctx, (N, d, b), iters, (inst, T, lr, name) = task
    qp = QP.random(N, d, b, seed=inst, **ctx.like)
    key = repr((N, d, b, inst, T, lr, name, iters, ctx.dtype_name, str(ctx.device)))
    return train(FIG2_MODELS[name](qp, T, inst + 1), qp, T, lr, iters,
                 checkpoint_path=cache_file(ctx, "mathl2o-fig2-train", key))


def _fig2_figure(ctx: Context, names, Ts, lrs, grad0, growth) -> list[str]:
    path = figure_path(ctx, "mathl2o_fig2_models.png")
    if not path:
        return []
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for name in names:
        med = [seed_interval(grad0[(name, T)]) for T in Ts]
        axes[0].errorbar(Ts, [m["median"] for m in med], yerr=[[m["median"] - m["low"] for m in med],
                                                              [m["high"] - m["median"] for m in med]],
                         fmt="o-", label=name, capsize=3)
        for lr, style in zip(lrs, ("-", ":")):
            points = [(T, min(seed_interval(growth[(name, T, lr)])["median"], 20.0)) for T in Ts
                      if growth[(name, T, lr)]]
            axes[1].plot([t for t, _ in points], [v for _, v in points], "o" + style, label=f"{name}, η={lr:g}")
    axes[0].set_xscale("log"), axes[0].set_yscale("log"), axes[0].set_xlabel("T")
    axes[0].set_ylabel("gradient norm at W0 (median, 95% interval)"), axes[0].legend(fontsize=6)
    axes[1].axhline(EXPLOSION_DECADES, color="k", ls="--", lw=0.8)
    axes[1].set_xlabel("T"), axes[1].set_ylabel("log10 of the largest loss / initial loss (20: non-finite)")
    axes[1].legend(fontsize=5)
    return [save(fig, path, dpi=120)]
