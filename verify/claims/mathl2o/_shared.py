"""Checks for THEORY.md §3: Math-L2O (Song, Lin, Xu, arXiv 2501.18092).

The paper's Eqs. 13–14, Theorem 4.3 and Lemmas 4.1/4.2 are RECONSTRUCTED (theory/mathl2o.py,
theory/mathl2o_derivation.md); their constants come from implementations.mathl2o.constants. Round-off
tolerances use |fl(xᵀy) − xᵀy| ≤ γ_n|x|ᵀ|y| with γ_n ≈ n·eps (float64 throughout: these claims declare float64
only, and compute on ctx.torch_device).

Helpers shared by several of the claims of this package."""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

from implementations.mathl2o import QP, MathL2O
from implementations.mathl2o.certified import certified_constants_t1
from implementations.mathl2o.constants import ntk_constants
from implementations.mathl2o.experiments import ModelSpec, gain_studies, smallest_training_e
from verify.cache import cache_file, remembered
from verify.figures import figure_path, pyplot, save
from verify.intervals import interval_verdict, seed_interval
from verify.margins.mathl2o import draw_init
from verify.registry import Context, Evidence
from verify.sweep import DRAW_LIKE, batched_sweep, shares

#: The small instance set of the reconstructed-analysis claims (Jacobians by torch.func stay cheap):
#: N = 2 instances, d = 4, b = 3, unroll T = 3, width 16 = 2·N·d.
SMALL = dict(N=2, d=4, b=3, T=3, width=16)


def _small_qp(seed: int, like: dict) -> QP:
    """The SMALL instance set of ``seed`` with the ``dtype=`` and ``device=`` of ``like`` (a Context.like)."""
    return QP.random(SMALL["N"], SMALL["d"], SMALL["b"], seed=seed, **like)


#: The shapes (d, b, width, depth, T) of the initialisation claims' sweeps (instances drawn by
#: verify.margins.mathl2o.draw_init), a third of the instances each: depth 2, 3 (the code's 2→2→H→1 layers) and 4,
#: T up to 12 (b ≥ 2: with b = 1 GD solves the instance to an exact 0 residual within a few steps, so every gradient
#: vanishes and the inner-gradient check would be vacuous there).
INIT_SHAPES = ((3, 2, 4, 2, 5), (6, 4, 12, 3, 8), (8, 6, 16, 4, 12))


def init_sweeps(ctx: Context, name: str, cases) -> dict:
    """An initialisation claim's sweeps: ctx.scale("sweep_instances") random instances (verify.sweep) in near-equal
    shares over INIT_SHAPES (d, b, width, depth, T), drawn by verify.margins.mathl2o.draw_init (every instance its
    own model), label "d=…,b=…,width=…,depth=…,T=…" → SweepResult. ``cases(label, width, depth, T)`` gives that
    shape's (batched margin, one-instance float64 re-check); stream ``<name>-sweep-<d>-<depth>``."""
    results = {}
    for count, (d, b, width, depth, T) in zip(shares(ctx.scale("sweep_instances"), len(INIT_SHAPES)), INIT_SHAPES):
        label = f"d={d},b={b},width={width},depth={depth},T={T}"
        margin, recheck = cases(label, width, depth, T)
        results[label] = batched_sweep(ctx, count, draw_init(d, b, width, depth, DRAW_LIKE), margin, recheck=recheck,
                                       stream=f"{name}-sweep-{d}-{depth}")
    return results


def init_counterexample(holds: bool, sweep_counterexample: dict | None, result, fig5: dict,
                        fig5_margin: float) -> dict | None:
    """The counterexample of an initialisation claim: the sweep's worst violating instance when the sweep found
    one (summarize gives it), else the search's or the Fig. 5-scale instance's when the claim does not hold."""
    if sweep_counterexample is not None:
        return sweep_counterexample
    if holds:
        return None
    return {"config": result.counterexample or fig5, "margin": result.margin if result.found else fig5_margin}


@st.composite
def _configs(draw, max_d: int = 6, max_T: int = 8):
    """Small (N, d, b, width, T, e, depth, nonnegative, seed) configurations."""
    d = draw(st.integers(1, max_d))
    return dict(N=draw(st.integers(1, 3)), d=d, b=draw(st.integers(1, d)), width=draw(st.integers(1, 12)),
                T=draw(st.integers(1, max_T)), e=draw(st.floats(1.0, 100.0)), depth=draw(st.integers(2, 4)),
                nonnegative=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def _build(cfg, like: dict) -> tuple[MathL2O, QP]:
    qp = QP.random(cfg["N"], cfg["d"], cfg["b"], seed=cfg["seed"], **like)
    model = MathL2O(cfg["width"], cfg["e"], cfg["depth"], nonnegative=cfg["nonnegative"], seed=cfg["seed"], **like)
    return model, qp


def _constants(ctx: Context, depth: int, e: float, seed: int):
    """ntk_constants of the SMALL model (depth, e, weights and instances from ``seed``) on ctx's device and dtype,
    computed once per run and process (verify.cache.remembered): several claims read them."""
    def compute():
        qp = _small_qp(seed, ctx.like)
        model = MathL2O(SMALL["width"], e, depth, seed=seed, **ctx.like)
        return ntk_constants(model, qp, SMALL["T"], seed=seed)

    return remembered(ctx, f"mathl2o-ntk-constants-{depth}-{e!r}-{seed}-{ctx.device}-{ctx.dtype_name}", compute)


def _empirical_e(ctx: Context, depth: int, lr: float, iters: int, seed: int):
    """smallest_training_e of the SMALL model on the grid 1 … 250 (min gain 0.1), once per run and process."""
    def compute():
        grid = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0]
        qp = _small_qp(seed, ctx.like)
        return smallest_training_e(ModelSpec(SMALL["width"], 1.0, depth, seed=seed), qp, SMALL["T"],
                                   lr, iters, grid, min_gain=0.1)

    return remembered(ctx, f"mathl2o-smallest-e-{depth}-{lr!r}-{iters}-{seed}-{ctx.device}-{ctx.dtype_name}", compute)


E_GRID = (1.0, 10.0, 100.0)


E_TRAIN_LR, E_TRAIN_ITERS = 1e-3, 40


#: The theorem's class where Eq. 13 is most likely to hold: tiny N·d·T, wide layers, large e.
#: CERTIFIED_SHAPES: (N, d, b) for T = 1, depth 2 (rigorous bounds, implementations.mathl2o.certified);
#: the sampled shapes for T ≥ 1 (mathl2o.thm43.hypotheses-satisfiable's scales) give lower estimates of Γ and Λ:
#: a negative margin is conclusive there.
CERTIFIED_SHAPES = ((1, 1, 1), (1, 2, 1), (1, 3, 1), (2, 1, 1), (2, 2, 1), (1, 2, 2), (1, 4, 2), (2, 2, 2), (1, 16, 2))


THM43_WIDTH = 64


def certified_search(ctx: Context) -> list[dict]:
    """Certified constants (T = 1, depth 2, width 64) for every CERTIFIED_SHAPES × e ∈ {100, 10⁴} and
    ctx.scale("certified_instances") instance seeds from ctx.instance_seed(11): one row per instance."""
    rows = []
    for (N, d, b), e, i in itertools.product(CERTIFIED_SHAPES, (100.0, 1e4), range(ctx.scale("certified_instances"))):
        seed = ctx.instance_seed(11) + i
        qp = QP.random(N, d, b, seed=seed, **ctx.like)
        c = certified_constants_t1(MathL2O(THM43_WIDTH, e, 2, seed=seed, **ctx.like), qp)
        rows.append({"N": N, "d": d, "b": b, "T": 1, "depth": 2, "width": THM43_WIDTH, "e": e, "seed": seed,
                     **c.as_dict(), "eq13_holds": c.certified and c.margin >= 0,
                     "margin_over_sqrt_mu0": c.margin / math.sqrt(c.mu0) if c.mu0 > 0 else -math.inf})
    return rows


def beats_gd_seeds(ctx: Context, N: int, d: int, b: int, T: int, width: int, reference: tuple[float, float],
                   others: list[tuple[float, float]], iters: int, seeds: list[int], base_seed: int = 7,
                   checkpoint_steps: bool = False) -> list[dict]:
    """implementations.mathl2o.experiments.gain_studies on ctx.torch_device in ctx.dtype at the instance seeds
    Context.instance_seeds(base_seed, seeds): the reference (e, η) at every seed, the ``others`` at the first seed
    only (the budget's sweep, shown beside it), all trained as one stacked program; each training checkpointed in
    the run's cache folder, so that an interrupted run resumes it and another claim of the run loads it."""
    instances = ctx.instance_seeds(base_seed, seeds)
    runs = [[reference] + (others if i == 0 else []) for i in range(len(instances))]
    return gain_studies(N, d, b, T, width, runs, iters, instances, checkpoint_steps=checkpoint_steps,
                        checkpoint_path=lambda key: cache_file(ctx, "mathl2o-train", key), **ctx.like)


def _beats_gd_evidence(ctx: Context, studies: list[dict], reference: tuple[float, float], threshold: float,
                       name: str, paper: str, seeds: list[int]) -> Evidence:
    """Verdict from the reference run's gain over seeds: seed_interval, then interval_verdict(·, threshold,
    "above"); a diverged seed counts as gain −inf (worse than any threshold)."""
    mains = [next(r for r in st["runs"] if (r["e"], r["lr"]) == reference) for st in studies]
    gains = [m["gain"] if m["diverged_at"] is None else -math.inf for m in mains]
    # seed_interval counts a non-finite value as +inf; a diverged seed must count as the worst gain instead
    gain = seed_interval([g if math.isfinite(g) else -1e300 for g in gains])
    tuned = seed_interval([st["tuned_gd"]["gain_over_gd"] for st in studies])
    holds = interval_verdict(gain, threshold, "above")
    runs = studies[0]["runs"]
    figures = []
    path = figure_path(ctx, f"mathl2o_{name}_loss_curves.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in runs:
            ax.semilogy(r["losses"], label=f"seed {seeds[0]}: e={r['e']:g}, η={r['lr']:g}")
        for s, m in zip(seeds[1:], mains[1:]):
            ax.semilogy(m["losses"], lw=0.8, alpha=0.6, label=f"seed {s}: reference")
        ax.axhline(mains[0]["gd_loss"], color="k", ls=":", label=f"GD, seed {seeds[0]}")
        ax.set_xlabel("SGD step"), ax.set_ylabel("F(X_T)"), ax.legend(fontsize=6)
        figures.append(save(fig, path, dpi=120))
    table = [{"seed": s, "instance_seed": st["seed"], **{k: v for k, v in r.items() if k != "losses"}}
             for s, st in zip(seeds, studies) for r in st["runs"]]
    return Evidence(
        holds=holds, inconclusive=holds is None,
        numbers={"seeds": seeds, "gain_reference": gain, "threshold": threshold,
                 "iterations": len(mains[0]["losses"]) - 1, "gd_loss": [m["gd_loss"] for m in mains],
                 "final_loss": [m["final_loss"] for m in mains], "tuned_constant_step_gain": tuned,
                 "tuned_constant_step_c": [st["tuned_gd"]["c"] for st in studies],
                 "gains_first_seed": {f"e={r['e']:g},lr={r['lr']:g}": r["gain"] for r in runs}},
        counterexample=None if holds is not False else {
            "e": reference[0], "lr": reference[1], "seeds": seeds, "gain": gain,
            "losses_first_seed": mains[0]["losses"], "margin": threshold - gain["high"]},
        tables={"runs": table}, figures=figures,
        notes=paper + " Verdict from the median gain's bootstrap 95% interval over seeds (verify.intervals).")


def _power_exponent(Ts: list[int], values: list[float]) -> float:
    """log(g(T_max)/g(T_min)) / log(T_max/T_min): the power of T that g grows like over the range (nan when an
    end is 0 or non-finite)."""
    first, last = values[0], values[-1]
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return math.nan
    return math.log(last / first) / math.log(Ts[-1] / Ts[0])
