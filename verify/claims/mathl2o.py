"""Checks for THEORY.md §3: Math-L2O (Song, Lin, Xu, arXiv 2501.18092).

The paper's Eqs. 13–14, Theorem 4.3 and Lemmas 4.1/4.2 are RECONSTRUCTED (theory/mathl2o.py,
theory/mathl2o_derivation.md); their constants come from implementations.mathl2o.constants. Round-off
tolerances use |fl(xᵀy) − xᵀy| ≤ γ_n|x|ᵀ|y| with γ_n ≈ n·eps (float64 throughout).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.mathl2o import QP, MathL2O, alpha0, jacobian, rollout, step_features, train, unroll
from implementations.mathl2o.constants import flat_parameters, ntk_constants
from implementations.mathl2o.experiments import ModelSpec, loss_rtol, lr_edges, smallest_training_e, step_size_criteria
from implementations.mathl2o.unroll import STEP_SCALE
from theory import mathl2o as theory
from verify.cache import cache_file
from verify.ratefit import fit_rate
from verify.registry import Context, Evidence, check
from verify.strategies import full_row_rank_gaussian, vectors
from verify.tightness import Tightness

EPS = float(np.finfo(np.float64).eps)

#: The small instance set of the reconstructed-analysis claims (Jacobians by torch.func stay cheap):
#: N = 2 instances, d = 4, b = 3, unroll T = 3, width 16 = 2·N·d.
SMALL = dict(N=2, d=4, b=3, T=3, width=16)


def _small_qp(seed: int) -> QP:
    return QP.random(SMALL["N"], SMALL["d"], SMALL["b"], seed=seed)


def _figure_path(ctx: Context, name: str) -> str | None:
    if not ctx.figure_dir:
        return None
    os.makedirs(ctx.figure_dir, exist_ok=True)
    return os.path.join(ctx.figure_dir, name)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@st.composite
def _configs(draw, max_d: int = 6, max_T: int = 8):
    """Small (N, d, b, width, T, e, depth, nonnegative, seed) configurations."""
    d = draw(st.integers(1, max_d))
    return dict(N=draw(st.integers(1, 3)), d=d, b=draw(st.integers(1, d)), width=draw(st.integers(1, 12)),
                T=draw(st.integers(1, max_T)), e=draw(st.floats(1.0, 100.0)), depth=draw(st.integers(2, 4)),
                nonnegative=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def _build(cfg) -> tuple[MathL2O, QP]:
    qp = QP.random(cfg["N"], cfg["d"], cfg["b"], seed=cfg["seed"])
    model = MathL2O(cfg["width"], cfg["e"], cfg["depth"], nonnegative=cfg["nonnegative"], seed=cfg["seed"])
    return model, qp


def _numpy_gd_values(qp: QP, T: int, step_scale: float = STEP_SCALE) -> np.ndarray:
    """F(X_t), t = 0..T, of GD x ← x − (c/β_i)M_iᵀ(M_i x − y_i) in numpy (independent of the torch code)."""
    M, Y = qp.M.cpu().numpy(), qp.Y.cpu().numpy()
    beta = np.array([np.linalg.norm(m, 2) ** 2 for m in M])
    X = np.zeros((M.shape[0], M.shape[2]))
    values = []
    for t in range(T + 1):
        r = np.einsum("nbd,nd->nb", M, X) - Y
        values.append(0.5 * float((r * r).sum()))
        X = X - (step_scale / beta)[:, None] * np.einsum("nbd,nb->nd", M, r)
    return np.array(values)


# --------------------------------------------------------------------------------------------------------
@check("mathl2o.init.equals-gd")
def init_equals_gd(ctx: Context) -> Evidence:
    """With W_L = 0, P ≡ 2σ(0) = 1, so the unrolled model IS gradient descent with step 0.9999/β_i (paper §5).

    Property (hypothesis over N ≤ 3, d ≤ 6, b ≤ d, width ≤ 12, T ≤ 8, e ∈ [1, 100], depth 2–4, signed or
    non-negative inner layers): |F_model(X_t) − F_GD(X_t)| ≤ tol·F(X₀) for every t, against an independent
    numpy GD. Tolerance: both compute the same T steps of d- and b-term dot products, so the relative gap is
    ≤ γ_{b+d} per step, compounded over T steps: tol = 4·T·(b+d)·eps (β from two SVD codes adds ≤ 10·eps).
    Plus one instance at the Fig. 5 scale (N = d = 32, b = 25, T = 20, width 1024, e = 100)."""

    def margin(cfg) -> float:
        model, qp = _build(cfg)
        with torch.no_grad():
            ours = unroll(model, qp, cfg["T"]).numpy()
        reference = _numpy_gd_values(qp, cfg["T"])
        tol = (4 * cfg["T"] * (cfg["b"] + cfg["d"]) + 10) * EPS
        return float(np.max(np.abs(ours - reference)) / max(reference[0], 1e-300) - tol)

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    holds = not result.found and fig5_margin <= 0
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_minus_tol": result.worst_margin_seen,
                 "fig5_scale_margin_minus_tol": fig5_margin},
        counterexample=None if holds else {"config": result.counterexample or fig5,
                                           "margin": result.margin if result.found else fig5_margin},
        notes="margins are (max_t |F_model − F_GD|/F₀) − tol; ≤ 0 means equal to round-off.")


@check("mathl2o.init.inner-grad-zero")
def init_inner_grad_zero(ctx: Context) -> Evidence:
    """At the deterministic initialisation ∂𝓕/∂W_l = 0 for every inner layer l < L (derived): every path from
    W_l to the output passes through W_L = 0, so the chain rule multiplies by an exact floating-point 0.
    Property over the same small configurations as init.equals-gd plus the Fig. 5 scale; tolerance 0
    (exact). Non-vacuity: the last layer's gradient must be non-zero on at least half of the examples (it
    vanishes legitimately when every step-t feature row is 0, e.g. width 1)."""
    last_layer = {"nonzero": 0, "examples": 0}

    def margin(cfg) -> float:
        model, qp = _build(cfg)
        loss = unroll(model, qp, cfg["T"])[-1]
        grads = torch.autograd.grad(loss, list(model.parameters()))
        last_layer["examples"] += 1
        last_layer["nonzero"] += int(bool((grads[-1] != 0).any()))
        return max(float(g.abs().max()) for g in grads[:-1])

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    nonvacuous = last_layer["nonzero"] >= last_layer["examples"] // 2
    holds = not result.found and fig5_margin <= 0 and nonvacuous
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "max_inner_gradient_seen": result.worst_margin_seen,
                 "fig5_max_inner_gradient": fig5_margin,
                 "examples_with_nonzero_last_layer_gradient": last_layer["nonzero"],
                 "examples_evaluated": last_layer["examples"]},
        counterexample=None if holds else {"config": result.counterexample or fig5,
                                           "margin": result.margin if result.found else fig5_margin},
        notes="the last-layer gradient is non-zero (so the check is not vacuous) while every inner gradient "
              "is exactly 0.")


@check("mathl2o.init.alpha0-homogeneity")
def alpha0_homogeneity(ctx: Context) -> Evidence:
    """Scaling the L−1 inner layers by e scales every singular value of G_{L−1,T} (hence α₀) by e^{L−1}
    (paper §5): ReLU is positively homogeneous and, with W_L = 0, the trajectory (GD) does not depend on e.
    Property: the same orthogonal Q at e = 1 and at e ∈ [1, 100]; |s_i(e) − e^{L−1}s_i(1)| ≤ tol with
    tol = 8·(L−1)·√(N·d·H)·eps·s_max(e) (rounding of L−1 products, entrywise ≤ (L−1)·γ_H, and the SVD's
    backward error ≤ √(N·d·H)·eps·‖G‖). α₀ itself is recorded: for the code's 2→2→H layers it is 0."""

    def singular(cfg, e):
        model = MathL2O(cfg["width"], e, cfg["depth"], nonnegative=cfg["nonnegative"], seed=cfg["seed"])
        qp = QP.random(cfg["N"], cfg["d"], cfg["b"], seed=cfg["seed"])
        return torch.linalg.svdvals(step_features(model, qp, cfg["T"])), alpha0(model, qp, cfg["T"])

    def margin(cfg) -> float:
        s1, _ = singular(cfg, 1.0)
        se, _ = singular(cfg, cfg["e"])
        scale = cfg["e"] ** (cfg["depth"] - 1)
        n_rows = cfg["N"] * cfg["d"]
        tol = 8 * (cfg["depth"] - 1) * math.sqrt(n_rows * cfg["width"]) * EPS * float(se.max().clamp_min(1e-300))
        return float((se - scale * s1).abs().max()) - tol

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    code_alpha = {e: singular(fig5, e)[1] for e in (1.0, 100.0)}
    depth2 = dict(N=2, d=4, b=3, width=64, T=3, depth=2, nonnegative=False, seed=ctx.instance_seed(1))
    a1, a10 = singular(depth2, 1.0)[1], singular(depth2, 10.0)[1]
    return Evidence(
        holds=not result.found,
        numbers={"examples": result.examples_tried, "worst_margin_minus_tol": result.worst_margin_seen,
                 "alpha0_fig5_code_architecture_e1": code_alpha[1.0],
                 "alpha0_fig5_code_architecture_e100": code_alpha[100.0],
                 "alpha0_depth2_e1": a1, "alpha0_depth2_e10": a10,
                 "alpha0_depth2_ratio_over_e": a10 / a1 / 10.0 if a1 > 0 else math.nan},
        counterexample=None if not result.found else {"config": result.counterexample, "margin": result.margin},
        notes="α₀ = 0 for the code's 2→2→H→1 layers at the Fig. 5 scale (the 2-unit first ReLU layer sends a "
              "quarter of the coordinates to 0 and most others onto two rays), so 'α₀ ∝ e^{L−1}' holds "
              "trivially there; it is checked on the whole singular spectrum instead.")


# --------------------------------------------------------------------------------------------------------
def _gd_ratio_worst_direction(M: np.ndarray, T: int, step_scale: float = STEP_SCALE) -> tuple[float, np.ndarray]:
    """max over x₀ − x* ∈ range(Mᵀ) of (f(x_T) − f*)/(β‖x₀ − x*‖²/(2cT)) for GD from x₀ = 0: along the
    eigenvector v_k of MᵀM (λ_k > 0) the ratio is cT·(λ_k/β)(1 − cλ_k/β)^{2T}; returns it and x_gt = v_k."""
    lam, vec = np.linalg.eigh(M.T @ M)
    beta = lam[-1]
    keep = lam > 1e-12 * beta
    u = lam[keep] / beta
    ratios = step_scale * T * u * (1 - step_scale * u) ** (2 * T)
    k = int(np.argmax(ratios))
    return float(ratios[k]), vec[:, keep][:, k]


def _gd_ratio(M: np.ndarray, x_gt: np.ndarray, T: int) -> float:
    """(F(X_T) − F*)/(β‖X₀ − X*‖²/(2cT)) for the instance (M, y = M x_gt), X* = M⁺y, measured by unrolling."""
    qp = QP.create(torch.as_tensor(M)[None], torch.as_tensor(M @ x_gt)[None])
    with torch.no_grad():
        value = float(unroll(None, qp, T)[-1])
    dist_sq = float((qp.minimum_norm_solution() ** 2).sum())
    if dist_sq == 0:
        return 0.0
    return value / theory.gd_sublinear_bound(float(qp.beta[0]), dist_sq, T, STEP_SCALE)


@check("mathl2o.gd.sublinear-bound")
def gd_sublinear_bound(ctx: Context) -> Evidence:
    """GD with step c/β (c = 0.9999): F(X_T) − F* ≤ β‖X₀ − X*‖²/(2cT) (standard; Nesterov Thm 2.1.14; paper
    Eqs. 9–10), X* = 𝐌⁺Y the minimiser GD converges to from X₀ = 0. Search: hypothesis over M (b ≤ d ≤ 6,
    unit-norm columns), x_gt and T ≤ 60, each instance evaluated at its own x_gt and at its worst eigen-
    direction; margin = ratio − 1 − 100·T·eps (round-off of the unrolled value). Sweep: 2000 (quick) random
    M. Tightness: the worst ratio vs 1 (kind upper) and vs the exact sup over quadratics
    T(2T)^{2T}/(2T+1)^{2T+1} (derived with sympy in theory.mathl2o), which shows the bound is loose by ≈ 2e."""
    T_sweep = 20

    @st.composite
    def instances(draw):
        d = draw(st.integers(1, 6))
        b = draw(st.integers(1, d))
        return draw(full_row_rank_gaussian(b, d)), draw(vectors(d, 3.0)), draw(st.integers(1, 60))

    def margin(inst) -> float:
        M, x_gt, T = inst
        worst, _ = _gd_ratio_worst_direction(M, T)
        return max(_gd_ratio(M, x_gt, T), worst) - 1 - 100 * T * EPS

    result = ctx.search(instances(), margin, max_examples=60)
    n_sweep = ctx.pick(2000, 20000)
    worst_sweep, worst_instance = 0.0, None
    for _ in range(n_sweep):
        d = int(ctx.rng.integers(2, 9))
        b = int(ctx.rng.integers(1, d + 1))
        M = ctx.rng.standard_normal((b, d))
        M /= np.linalg.norm(M, axis=0)
        ratio, direction = _gd_ratio_worst_direction(M, T_sweep)
        if ratio > worst_sweep:
            worst_sweep, worst_instance = ratio, (M, direction)
    measured = _gd_ratio(worst_instance[0], worst_instance[1], T_sweep)
    exact = theory.gd_quadratic_worst_ratio(T_sweep)
    rows = [Tightness("F(X_T)/(β‖X₀−X*‖²/(2cT)), T=20", 1.0, measured, "upper", 1e-3, "sweep+eigen-direction",
                      n_sweep).as_row(),
            Tightness("worst ratio vs exact quadratic sup, T=20", exact, measured, "upper", 1e-2,
                      "sweep+eigen-direction", n_sweep).as_row()]
    holds = not result.found and measured <= 1 + 100 * T_sweep * EPS
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_search": result.worst_margin_seen,
                 "worst_ratio_sweep_T20": measured, "exact_quadratic_sup_T20": exact,
                 "limit_1_over_2e": 1 / (2 * math.e)},
        counterexample=None if holds else {"instance": [a.tolist() if hasattr(a, "tolist") else a
                                                        for a in (result.counterexample or worst_instance)],
                                           "margin": result.margin if result.found else measured - 1},
        tables={"tightness": rows},
        notes="the bound holds with ratio ≤ T(2T)^{2T}/(2T+1)^{2T+1} ≈ 1/(2e) on quadratics: loose by ≈ 5.4×.")


# --------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _constants(depth: int, e: float, seed: int):
    qp = _small_qp(seed)
    model = MathL2O(SMALL["width"], e, depth, seed=seed)
    return ntk_constants(model, qp, SMALL["T"], seed=seed)


@functools.lru_cache(maxsize=8)
def _empirical_e(depth: int, lr: float, iters: int, seed: int):
    grid = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0]
    return smallest_training_e(ModelSpec(SMALL["width"], 1.0, depth, seed=seed), _small_qp(seed), SMALL["T"],
                               lr, iters, grid, min_gain=0.1)


E_GRID = (1.0, 10.0, 100.0)
E_TRAIN_LR, E_TRAIN_ITERS = 1e-3, 40


@check("mathl2o.eq13.alpha0-condition")
def eq13_alpha0_condition(ctx: Context) -> Evidence:
    """Reconstructed Eq. 13 (derivation §4): μ₀^{3/2} ≥ 4ΛΓ√(2𝓕₀)/(1 − 1/√2), μ₀ = λ_min(J_L J_Lᵀ) at θ₀,
    and its α₀ form α₀ ≥ (√μ_req + Σ_{t<T}‖K_t‖‖G_t‖)/σ_min(K_T). Evaluated on a real instance set (N = 2,
    d = 4, b = 3, T = 3, width 16) for depth 3 (the code's layers) and depth 2, e ∈ {1, 10, 100}; Γ, Λ
    sampled on the ball (lower estimates of the suprema, so a negative margin is conclusive). Compared with
    the smallest e of the grid {1, …, 250} that trains (gain ≥ 0.1 after 40 SGD steps at η = 10⁻³)."""
    rows, table, figures = [], [], []
    numbers = {}
    for depth in (3, 2):
        margins = {}
        for e in E_GRID:
            c = _constants(depth, e, ctx.instance_seed(1))
            margin = theory.eq13_margin(c.mu0, c.gamma, c.lipschitz, c.loss0)
            required = theory.eq13_required_mu0(c.gamma, c.lipschitz, c.loss0)
            alpha_required = theory.eq13_alpha0_required(required, c.sigma_last, c.tail)
            margins[e] = margin
            rows.append(Tightness(f"μ₀ vs Eq. 13's required μ₀ (depth {depth}, e={e:g})", required, c.mu0, "lower",
                                  1e-2, "ntk at θ₀ + sampled Γ, Λ", 1).as_row())
            if math.isfinite(alpha_required):
                rows.append(Tightness(f"α₀ vs Eq. 13's required α₀ (depth {depth}, e={e:g})", alpha_required,
                                      c.alpha0, "lower", 1e-2, "svd of G_{L−1,T}", 1).as_row())
            table.append({"depth": depth, "e": e, **c.as_dict(), "eq13_margin": margin, "mu0_required": required,
                          "alpha0_required": alpha_required})
        satisfied = [e for e in E_GRID if margins[e] >= 0]
        e_eq13 = min(satisfied) if satisfied else math.inf
        empirical = _empirical_e(depth, E_TRAIN_LR, E_TRAIN_ITERS, ctx.instance_seed(1))
        e_train = empirical["e"]
        numbers[f"depth{depth}_smallest_e_eq13"] = e_eq13
        numbers[f"depth{depth}_smallest_e_trains"] = e_train
        numbers[f"depth{depth}_margin_over_e^(L-1)"] = [margins[e] / e ** (depth - 1) for e in E_GRID]
        numbers[f"depth{depth}_gains"] = {str(k): v for k, v in empirical["gains"].items()}
        if math.isfinite(e_train) and math.isfinite(e_eq13):  # Tightness labels need a finite bound
            rows.append(Tightness(f"smallest e that trains (depth {depth})", e_eq13, e_train, "upper", 1e-2,
                                  "grid scan", len(empirical["gains"])).as_row())
    path = _figure_path(ctx, "mathl2o_eq13_margin.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for depth in (3, 2):
            sub = [r for r in table if r["depth"] == depth]
            ax.plot([r["e"] for r in sub], [-r["eq13_margin"] if math.isfinite(r["eq13_margin"]) else np.nan
                                            for r in sub], "o-", label=f"depth {depth}: −margin")
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("e"), ax.legend()
        ax.set_title("reconstructed Eq. 13: negative margin (fails) vs e")
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    return Evidence(holds=None, numbers=numbers, tables={"tightness": rows, "constants": table}, figures=figures,
                    notes="scaling suggests the margin is ∝ e^{L−1} at fixed sign (Γ ∝ e^{L−1}, Λ ∝ e^{2(L−1)}, "
                          "μ₀ ∝ e^{2(L−1)} along W_L), so e cannot make the reconstructed Eq. 13 hold; measured "
                          "margins are negative at every e, μ₀ is tiny and α₀ ≈ 0 with the code's layers. "
                          "Training nevertheless works from a moderate e.")


def edge_tightness(quantity: str, bound: float, found: dict) -> Tightness:
    """A step-size bound (sufficient: every η below it passes the criterion) as a lower bound of the edge
    ``found`` (one entry of :func:`lr_edges`). rtol is the width of the edge's bracket, at least 1 %; an edge
    of nan (even the lowest η tried failed) is recorded as 0, so the bound is labelled violated."""
    edge = found["edge"] if math.isfinite(found["edge"]) else 0.0
    ok, fail = found["bracket"]
    rtol = max(1e-2, fail / ok - 1) if 0 < ok and math.isfinite(fail) else 1e-2
    return Tightness(quantity, bound, edge, "lower", rtol, "log-grid scan + bisection", found["evaluations"])


@check("mathl2o.eq14.lr-bound")
def eq14_lr_bound(ctx: Context) -> Evidence:
    """Reconstructed Eq. 14 (derivation §4): η ≤ 1/C₀, C₀ = Γ² + Λ√(2𝓕₀), makes every SGD step descend by
    (η/2)‖∇𝓕‖² (Lemma 4.2, while the iterates stay in B). Measured against two edges in η, each the largest
    η found such that 40 (quick) SGD steps pass the criterion at every tried η up to it
    (implementations.mathl2o.experiments):
    "sufficient decrease" (𝓕_{k+1} ≤ 𝓕_k − (η/2)‖∇𝓕_k‖² at every step, up to the round-off 100·T·(b+d)·eps
    relative: what Eq. 14 guarantees) and "convergence" (no non-finite loss, 𝓕_K < 𝓕₀: weaker).
    Searched on [10⁻³, 10⁶] × the Eq. 14 value: a scan of 4 (quick) or 8 (full) η per decade, then bisection
    in log η between the last passing grid η of the leading run and the first failing one (4 halvings
    quick, 8 full: resolved to a factor 10^{1/64} or 10^{1/2048}); each η is trained once for both criteria.
    Convergence is not monotone in η (a run fails at η and converges again above it), so the scans, the
    largest passing grid η and the configurations with such a gap are recorded too; a failing pocket
    between grid points is missed, so each edge is an upper estimate of the η below which every η passes.
    Depth 3 and 2, e ∈ {1, 10, 100}; the Eq. 14 value is recorded as a lower bound of each edge
    (Corollary C.1: both shrink as e grows; Eq. 14 like e^{−2(L−1)})."""
    iters = ctx.pick(40, 200)
    seed = ctx.instance_seed(1)
    qp = _small_qp(seed)
    criteria = step_size_criteria(qp, SMALL["T"])
    rows, table, figures = [], [], []
    for depth in (3, 2):
        for e in E_GRID:
            c = _constants(depth, e, seed)
            bound = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
            edges = lr_edges(ModelSpec(SMALL["width"], e, depth, seed=seed), qp, SMALL["T"], iters, low=bound * 1e-3,
                             high=bound * 1e6, criteria=criteria, steps=ctx.pick(4, 8), per_decade=ctx.pick(4, 8))
            for criterion, found in edges.items():
                record = edge_tightness(f"η edge, {criterion} (depth {depth}, e={e:g})", bound, found)
                rows.append(record.as_row())
                table.append({"depth": depth, "e": e, "criterion": criterion, "eq14_bound": bound,
                              "edge_lr": found["edge"], "edge_over_bound": record.ratio, "bracket": found["bracket"],
                              "evaluations": found["evaluations"], "largest_passing_grid_lr": found["largest_passing"],
                              "monotone_on_grid": found["monotone"], "scan": found["scan"]})
    path = _figure_path(ctx, "mathl2o_eq14_lr.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for depth, marker in ((3, "o"), (2, "s")):
            sub = [r for r in table if r["depth"] == depth and r["criterion"] == "convergence"]
            ax.plot([r["e"] for r in sub], [r["eq14_bound"] for r in sub], marker + "--", label=f"Eq. 14, depth {depth}")
            for criterion, style in (("sufficient decrease", "-"), ("convergence", ":")):
                sub = [r for r in table if r["depth"] == depth and r["criterion"] == criterion]
                ax.plot([r["e"] for r in sub], [r["edge_lr"] for r in sub], marker + style,
                        label=f"η edge, {criterion}, depth {depth}")
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("e"), ax.set_ylabel("η"), ax.legend(fontsize=6)
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    numbers = {}
    for criterion in criteria:
        key, sub = criterion.replace(" ", "_"), [r for r in table if r["criterion"] == criterion]
        numbers[f"{key}_edge_over_bound_min"] = min(r["edge_over_bound"] for r in sub)
        numbers[f"{key}_edge_over_bound_max"] = max(r["edge_over_bound"] for r in sub)
        numbers[f"{key}_not_monotone_on_grid"] = sum(not r["monotone_on_grid"] for r in sub)
    return Evidence(holds=None, numbers=numbers, tables={"tightness": rows, "lr": table}, figures=figures,
                    notes="ratio = edge / Eq. 14 value (> 1: the bound is conservative, < 1: violated); a ratio of "
                          "10⁶ means every grid η up to the top of the searched range passed. "
                          "'monotone_on_grid' false: some grid η above the first failure passes again.")


# --------------------------------------------------------------------------------------------------------
def _thm43_run(depth: int, e: float, iters: int, seed: int) -> dict:
    c = _constants(depth, e, seed)
    eta = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
    qp = _small_qp(seed)
    history = train(MathL2O(SMALL["width"], e, depth, seed=seed), qp, SMALL["T"], eta, iters)
    rho_bound = theory.thm43_rate(eta, c.mu0)
    losses = np.array(history.losses)
    envelope = losses[0] * rho_bound ** np.arange(losses.size)
    excess = losses / envelope - 1 - loss_rtol(qp, SMALL["T"])
    fit = fit_rate(losses) if history.diverged_at is None else None
    return {"depth": depth, "e": e, "eta": eta, "mu0": c.mu0, "rho_bound": rho_bound,
            "hypotheses_hold": theory.eq13_margin(c.mu0, c.gamma, c.lipschitz, c.loss0) >= 0,
            "max_excess": float(excess.max()), "worst_k": int(excess.argmax()), "fit": fit.as_dict() if fit else None,
            "diverged_at": history.diverged_at, "losses": history.losses}


@check("mathl2o.thm43.linear-rate")
def thm43_linear_rate(ctx: Context) -> Evidence:
    """Reconstructed Theorem 4.3 (derivation §4): under Eqs. 13–14, 𝓕(W^k) ≤ (1 − ημ₀/2)^k 𝓕(W⁰). Runs at
    η = the Eq. 14 value on the small instance set, depth 3 and 2, e ∈ {10, 100}, K = 150 (quick) SGD
    steps; each 𝓕_k is compared with the envelope (tolerance 100·T·(b+d)·eps relative, the round-off of
    𝓕_k) and the contraction factor is fitted (verify.ratefit, 95% CI). Verdict: refuted only by a run whose
    hypotheses hold and whose losses leave the envelope; verified only if some run meets the hypotheses and
    none leaves the envelope; inconclusive when no run meets them (the envelope is then only an observation)."""
    iters = ctx.pick(150, 1000)
    runs = [_thm43_run(depth, e, iters, ctx.instance_seed(1)) for depth in (3, 2) for e in (10.0, 100.0)]
    violations = [r for r in runs if r["hypotheses_hold"] and r["max_excess"] > 0]
    table = [{k: v for k, v in r.items() if k not in ("losses", "fit")} | (
        {"rho_fit": r["fit"]["rho"], "rho_fit_low": r["fit"]["rho_low"], "rho_fit_high": r["fit"]["rho_high"],
         "regime": r["fit"]["regime"]} if r["fit"] else {}) for r in runs]
    figures = []
    path = _figure_path(ctx, "mathl2o_thm43_training_loss.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in runs:
            ax.semilogy(r["losses"], label=f"depth {r['depth']}, e={r['e']:g}")
        ax.set_xlabel("SGD step k"), ax.set_ylabel("training loss F(X_T) at W^k"), ax.legend(fontsize=7)
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    outside = [r for r in runs if r["max_excess"] > 0]
    tested = sum(r["hypotheses_hold"] for r in runs)
    return Evidence(
        holds=not violations,
        inconclusive=tested == 0,
        numbers={"runs": len(runs), "runs_with_hypotheses": sum(r["hypotheses_hold"] for r in runs),
                 "runs_leaving_envelope": len(outside),
                 "rho_bounds": [r["rho_bound"] for r in runs],
                 "rho_fits": [r["fit"]["rho"] if r["fit"] else math.nan for r in runs]},
        counterexample=None if not violations else {
            "run": {k: violations[0][k] for k in ("depth", "e", "eta", "mu0", "rho_bound", "worst_k")},
            "losses": violations[0]["losses"][: violations[0]["worst_k"] + 1], "margin": violations[0]["max_excess"]},
        tables={"runs": table}, figures=figures,
        notes=("No run meets the hypotheses (Eq. 13 fails on every instance tried), so the theorem is vacuous "
               "here and the verdict is inconclusive. " if tested == 0 else "")
        + "ρ_bound = 1 − ημ₀/2 is within 1e-6 of 1 on real instances (μ₀ tiny or 0), so the envelope is "
          "nearly flat; the fitted training contraction is far faster at first and then stalls at 𝓕* > 0.")


# --------------------------------------------------------------------------------------------------------
@check("mathl2o.lemma.chain")
def lemma_chain(ctx: Context) -> Evidence:
    """The links of the reconstructed proof (derivation §3) at the iterates θ_k of a real SGD run (small
    instance set, depth 2 and 3, e = 10, η = the Eq. 14 value; Γ̂, Λ̂ sampled at θ₀):
    (L4.1) ‖∇𝓕(θ_k)‖ ≤ Γ̂·√(2𝓕_k) while θ_k is in the ball Γ̂, Λ̂ were sampled on (B(θ₀, R), or SAMPLING_REACH
           SGD step lengths when μ₀ = 0 makes R infinite; implementations.mathl2o.constants);
    (L4.2) 𝓕_{k+1} ≤ 𝓕_k − η‖∇𝓕_k‖² + ½η²(Γ̂² + Λ̂√(2𝓕_k))‖∇𝓕_k‖²;
    (PL)   ‖∇𝓕_k‖² ≥ 2λ_min(J_L J_Lᵀ)(θ_k)·𝓕_k (J_L by torch.func, the gradient by autograd);
    (J-Lip) ‖J(θ_k) − J(θ₀)‖ ≤ Λ̂‖θ_k − θ₀‖ in the same ball.
    Tolerance of each link: 1e-9 relative (𝓕 and gradients are float64 sums of ≤ 10³ terms over T ≤ 3
    steps, ≤ 10⁻¹² relative round-off; 1e-9 leaves room for the eigen-solver). Conditional links (need Eq.
    13): λ_min(J_L J_Lᵀ)(θ_k) ≥ μ₀/2, recorded only."""
    iters = ctx.pick(25, 100)
    seed = ctx.instance_seed(1)
    tol = 1e-9
    rows, worst = [], {}
    for depth in (2, 3):
        c = _constants(depth, 10.0, seed)
        eta = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
        qp = _small_qp(seed)
        model = MathL2O(SMALL["width"], 10.0, depth, seed=seed)
        theta0 = flat_parameters(model)
        J0 = jacobian(model, qp, SMALL["T"])
        records = []

        def inspect(k, m, loss, grads):
            theta = flat_parameters(m)
            grad_sq = float(sum((g * g).sum() for g in grads))
            J = jacobian(m, qp, SMALL["T"])
            JL = jacobian(m, qp, SMALL["T"], "last")
            records.append({"k": k, "loss": float(loss), "grad_sq": grad_sq,
                            "dist": float((theta - theta0).norm()),
                            "lam_L": float(torch.linalg.eigvalsh(JL @ JL.T)[0].clamp_min(0)),
                            "jac_shift": float(torch.linalg.matrix_norm(J - J0, ord=2))})

        history = train(model, qp, SMALL["T"], eta, iters, callback=inspect)
        for rec, next_loss in zip(records, history.losses[1:]):
            F, g2 = rec["loss"], rec["grad_sq"]
            in_ball = rec["dist"] <= c.sampled_radius
            links = {
                "L4.1": (math.sqrt(g2) - c.gamma * math.sqrt(2 * F)) / max(c.gamma * math.sqrt(2 * F), 1e-300)
                if in_ball else -math.inf,
                "L4.2": (next_loss - (F - eta * g2 + 0.5 * eta ** 2 * theory.smoothness_constant(c.gamma, c.lipschitz, F) * g2))
                / max(F, 1e-300),
                "PL": (2 * rec["lam_L"] * F - g2) / max(g2, 1e-300) if g2 > 0 else -math.inf,
                "J-Lip": (rec["jac_shift"] - c.lipschitz * rec["dist"]) / max(c.lipschitz * rec["dist"], 1e-300)
                if rec["dist"] > 0 and in_ball else -math.inf,
                "cond:lam_L>=mu0/2": (c.mu0 / 2 - rec["lam_L"]) / max(c.mu0, 1e-300),
            }
            for name, value in links.items():
                key = f"depth{depth}:{name}"
                if key not in worst or value > worst[key][0]:
                    worst[key] = (value, rec["k"])
        rows.append({"depth": depth, "eta": eta, **c.as_dict(), "iterations": len(records),
                     "diverged_at": history.diverged_at, "max_dist_over_sampled_R": max(r["dist"] for r in records) / c.sampled_radius})
    unconditional = {k: v for k, v in worst.items() if not k.split(":")[1].startswith("cond")}
    broken = {k: v for k, v in unconditional.items() if v[0] > tol}
    return Evidence(
        holds=not broken,
        numbers={f"worst_{k}": v[0] for k, v in worst.items()},
        counterexample=None if not broken else {"links": {k: {"margin": v[0], "k": v[1]} for k, v in broken.items()},
                                                "margin": max(v[0] for v in broken.values())},
        tables={"runs": rows},
        notes="margins are relative (≤ 0: the link holds); 'cond:' links need Eq. 13, which these instances do "
              "not satisfy, and are recorded only.")


@check("mathl2o.lemma5.e-requirements")
def lemma5_e_requirements(ctx: Context) -> Evidence:
    """Lemmas 5.1–5.4 (paper; orders only, constants unknown): minimum e of order T^{1/(L−1)},
    T^{(3T+6)/(TL−T−4L+6)}, T^{4/(L−1)}, T^{5/(L−1)}L^{1/(L−1)}. Evaluated at the small instance set
    (T = 3, L = 3 and 2) and at the Fig. 5 setting (T = 20, L = 3), vs the empirical smallest e that
    trains on the small set (grid scan, as in mathl2o.eq13.alpha0-condition) and the paper's Fig. 5
    observation (e = 25 already gives ≈ 0.36 of the 0.41 gain)."""
    rows, numbers = [], {}
    for depth in (3, 2):
        orders = theory.lemma5_orders(SMALL["T"], depth)
        e_train = _empirical_e(depth, E_TRAIN_LR, E_TRAIN_ITERS, ctx.instance_seed(1))["e"]
        numbers[f"T{SMALL['T']}_L{depth}_empirical_e"] = e_train
        rows += [{"T": SMALL["T"], "L": depth, "lemma": name, "order": value, "empirical_e": e_train,
                  "empirical_over_order": e_train / value if value == value else math.nan}
                 for name, value in orders.items()]
    rows += [{"T": 20, "L": 3, "lemma": name, "order": value, "empirical_e": 25.0,
              "empirical_over_order": 25.0 / value} for name, value in theory.lemma5_orders(20, 3).items()]
    return Evidence(holds=None, numbers=numbers, tables={"orders": rows},
                    notes="orders without constants, so no tightness label: the ratios only compare growth. "
                          "5.2's exponent is undefined for TL − T − 4L + 6 ≤ 0 (T = 3, L = 3); the T = 20 rows use "
                          "the paper's Fig. 5 (e = 25 already gives ≈ 0.36 of the 0.41 gain).")


@check("mathl2o.ntk.width")
def ntk_width(ctx: Context) -> Evidence:
    """λ_min of the empirical NTK J Jᵀ (all weights, at θ₀; torch.func) and α₀ as the width H grows through
    N·d (paper §4: width O(N·d) suffices), on N = 2, d = 4, b = 3, T = 3 (N·d = 8, N·b = 6), depth 3 and 2,
    e = 1; H ∈ {2, 4, 8, 16, 32, 64} (quick). The rank of the step-T and all-steps feature matrices is
    recorded: with the code's 2-unit first layer the features have low rank whatever the width."""
    widths = ctx.pick([2, 4, 8, 16, 32, 64], [2, 4, 8, 16, 32, 64, 128, 256])
    seed = ctx.instance_seed(1)
    qp = _small_qp(seed)
    T = SMALL["T"]
    table = []
    for depth in (3, 2):
        for width in widths:
            model = MathL2O(width, 1.0, depth, seed=seed)
            K = jacobian(model, qp, T)
            lam = torch.linalg.eigvalsh(K @ K.T)
            G_all = torch.cat([step_features(model, qp, T, step=t) for t in range(1, T + 1)])
            table.append({"depth": depth, "width": width, "lambda_min_ntk": float(lam[0]),
                          "lambda_max_ntk": float(lam[-1]), "alpha0": alpha0(model, qp, T),
                          "feature_rank_all_steps": int(torch.linalg.matrix_rank(G_all)),
                          "ntk_rank": int(torch.linalg.matrix_rank(K @ K.T))})
    figures = []
    path = _figure_path(ctx, "mathl2o_ntk_width.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for depth in (3, 2):
            sub = [r for r in table if r["depth"] == depth]
            ax.plot([r["width"] for r in sub], [max(r["lambda_min_ntk"], 1e-30) for r in sub], "o-",
                    label=f"λ_min NTK, depth {depth}")
        ax.axvline(SMALL["N"] * SMALL["d"], color="gray", ls=":", label="N·d")
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("width H"), ax.legend(fontsize=7)
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    return Evidence(holds=None, numbers={"N*d": SMALL["N"] * SMALL["d"], "N*b": SMALL["N"] * SMALL["b"]},
                    tables={"sweep": table}, figures=figures,
                    notes="λ_min is at round-off level (≈ 0) when the NTK rank is below N·b.")


# --------------------------------------------------------------------------------------------------------
def beats_gd_study(ctx: Context, N: int, d: int, b: int, T: int, width: int, runs: list[tuple[float, float]],
                   iters: int, checkpoint_steps: bool = False, base_seed: int = 7) -> dict:
    """Train the deterministic-init model for each (e, η) in ``runs`` on one instance set; gain over GD.
    The instances and the model's orthogonal layers use ``ctx.instance_seed(base_seed)``. Each training is
    checkpointed in the run's cache folder (train's checkpoint_path), so an interrupted run resumes it.

    Runs on ctx.torch_device in float64. Returns {"runs": [{e, lr, gd_loss, final_loss, gain, diverged_at,
    losses}]}."""
    seed = ctx.instance_seed(base_seed)
    qp = QP.random(N, d, b, seed=seed, device=ctx.torch_device)
    out = []
    for e, lr in runs:
        model = MathL2O(width, e, 3, seed=seed, device=ctx.torch_device)
        key = repr((N, d, b, T, width, e, lr, seed))
        history = train(model, qp, T, lr, iters, checkpoint_steps=checkpoint_steps,
                        checkpoint_path=cache_file(ctx, "mathl2o-train", key))
        out.append({"e": e, "lr": lr, "gd_loss": history.gd_loss, "final_loss": history.final_loss,
                    "gain": history.gain(), "diverged_at": history.diverged_at, "losses": history.losses,
                    "saturated_fraction": saturated_fraction(model, qp, T)})
    return {"runs": out, "tuned_gd": tuned_constant_step(qp, T)}


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


def _beats_gd_evidence(ctx: Context, study: dict, reference: tuple[float, float], threshold: float,
                       name: str, paper: str) -> Evidence:
    runs = study["runs"]
    main = next(r for r in runs if (r["e"], r["lr"]) == reference)
    figures = []
    path = _figure_path(ctx, f"mathl2o_{name}_loss_curves.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in runs:
            ax.semilogy(r["losses"], label=f"e={r['e']:g}, η={r['lr']:g}")
        ax.axhline(main["gd_loss"], color="k", ls=":", label="GD")
        ax.set_xlabel("SGD step"), ax.set_ylabel("F(X_T)"), ax.legend(fontsize=7)
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    holds = main["diverged_at"] is None and main["gain"] >= threshold
    table = [{k: v for k, v in r.items() if k != "losses"} for r in runs]
    return Evidence(
        holds=holds,
        numbers={"gain_reference": main["gain"], "gd_loss": main["gd_loss"], "final_loss": main["final_loss"],
                 "threshold": threshold, "iterations": len(main["losses"]) - 1,
                 "tuned_constant_step_gd": study["tuned_gd"],
                 "gains": {f"e={r['e']:g},lr={r['lr']:g}": r["gain"] for r in runs}},
        counterexample=None if holds else {"e": reference[0], "lr": reference[1], "gain": main["gain"],
                                           "losses": main["losses"], "margin": threshold - main["gain"]},
        tables={"runs": table}, figures=figures, notes=paper)


@check("mathl2o.beats-gd.fig5")
def beats_gd_fig5(ctx: Context) -> Evidence:
    """Paper Fig. 5 (d = 32, b = 25, N = 32, T = 20, width 1024 = N·d): gain (F_GD − F_L2O)/F_GD ≈ 0.41 for
    η ≤ 10⁻⁴, e ≥ 50; η = 10⁻³ fails; e = 1 gives ≈ 0. Float64 on CPU. Quick budget (reduced, ~2 min on 1
    core): 150 SGD steps for (e, η) ∈ {(100, 1e-4), (25, 1e-4), (1, 1e-4), (100, 1e-3), (100, 1e-5)}; full:
    e ∈ {1, 5, 25, 50, 100} × η ∈ {1e-3, 1e-4, 1e-5}, 1000 steps (the paper trains 5000). Verdict: the
    (e = 100, η = 10⁻⁴) gain is ≥ 0.30 (the paper's ≈ 0.40 less a quarter, for the shorter training).
    Also recorded: the gain of plain GD with the best uniform step c·0.9999/β, c ∈ [1, 2) (not in the paper)."""
    if ctx.quick:
        runs, iters = [(100.0, 1e-4), (25.0, 1e-4), (1.0, 1e-4), (100.0, 1e-3), (100.0, 1e-5)], 150
    else:
        runs, iters = [(e, lr) for e in (1.0, 5.0, 25.0, 50.0, 100.0) for lr in (1e-3, 1e-4, 1e-5)], 1000
    study = beats_gd_study(ctx, 32, 32, 25, 20, 1024, runs, iters)
    return _beats_gd_evidence(ctx, study, (100.0, 1e-4), 0.30, "fig5",
                              f"paper Fig. 5: ≈0.41 at e=100, η≤1e-4; {iters} SGD steps here vs 5000 in the paper. "
                              "With e ≥ 25 the first SGD step saturates most P at ≈ 2 (see saturated_fraction) and "
                              "the loss then stalls; compare with tuned_constant_step_gd.")


@check("mathl2o.beats-gd.fig4a")
def beats_gd_fig4a(ctx: Context) -> Evidence:
    """Paper Fig. 4a (d = 512, b = 400, N = 10, T = 100, width 5120, e = 100, η = 10⁻⁷): F(X_100) falls from
    ≈ 0.95 (GD) to ≈ 0.45, i.e. a gain ≥ 0.5. GPU-marked, float64; the planar kernel (the default for the
    code's depth-3 layers) keeps memory at O(T·(N·d + H)) instead of T·N·d·H, so it also runs on a CPU
    (``--gpu-claims-on-cpu``; 5000 steps took 6915 s on 2 cores, ≈ 1.2 s per step when otherwise idle).
    Quick: 300 SGD steps; full: 5000 (as the authors' script), checkpointed in the run's cache. Verdict:
    gain ≥ 0.5. Also records the tuned constant-step GD baseline."""
    iters = ctx.pick(300, 5000)
    study = beats_gd_study(ctx, 10, 512, 400, 100, 5120, [(100.0, 1e-7)], iters)
    return _beats_gd_evidence(ctx, study, (100.0, 1e-7), 0.5, "fig4a",
                              f"paper Fig. 4a: 0.95 → 0.45; {iters} SGD steps here.")


# --------------------------------------------------------------------------------------------------------
def _gradient_norms(init: str, e: float, Ts: list[int], qp: QP, width: int, seed: int,
                    detach: bool = True) -> list[float]:
    norms = []
    for T in Ts:
        model = MathL2O(width, e, 3, init=init, seed=seed)
        loss = unroll(model, qp, T, detach_inputs=detach)[-1]
        grads = torch.autograd.grad(loss, list(model.parameters()))
        norms.append(float(torch.sqrt(sum((g * g).sum() for g in grads))))
    return norms


@check("mathl2o.random-init-explodes")
def random_init_explodes(ctx: Context) -> Evidence:
    """Paper Fig. 2: random initialisation makes the training gradient explode as T grows; the deterministic
    one (W_L = 0, P ≡ 1) does not. Measured: ‖∇𝓕(W⁰)‖ for T ∈ {5, …, 160} on N = 4, d = 16, b = 12, width 64,
    for init = deterministic (e = 100), random_last (same inner layers, Kaiming-uniform W_L ≠ 0, e = 100) and
    random (PyTorch default on every layer), and random_last with the inputs NOT detached (gradients then
    also flow through the model's inputs across steps, the classical L2O explosion path). "Explodes": the fitted exponential growth rate of ‖∇𝓕‖ in T
    has a 95% CI above 0 AND ‖∇𝓕‖ grows ≥ 10³× over the T range. "Stable": ‖∇𝓕‖ at the largest T ≤ at the
    smallest. Verdict: holds iff some random init explodes and the deterministic one is stable."""
    Ts = ctx.pick([5, 10, 20, 40, 80, 160], [5, 10, 20, 40, 80, 160, 320])
    qp = QP.random(4, 16, 12, seed=ctx.instance_seed(1))
    inits = {"deterministic": ("deterministic", 100.0, True), "random_last": ("random_last", 100.0, True),
             "random": ("random", 1.0, True), "random_last_not_detached": ("random_last", 100.0, False)}
    norms = {name: _gradient_norms(init, e, Ts, qp, 64, ctx.instance_seed(3), detach)
             for name, (init, e, detach) in inits.items()}

    def growth(values):
        fit = fit_rate(values)  # log g_T ≈ a + k log ρ over the T grid index
        return fit.rho, fit.rho_low

    verdicts = {}
    for name, values in norms.items():
        rho, rho_low = growth(values)
        verdicts[name] = {"growth_per_grid_step": rho, "growth_low": rho_low,
                          "fold_change": values[-1] / values[0],
                          "explodes": rho_low > 1 and values[-1] >= 1e3 * values[0],
                          "stable": values[-1] <= values[0]}
    random_explodes = any(v["explodes"] for k, v in verdicts.items() if k.startswith("random"))
    holds = random_explodes and verdicts["deterministic"]["stable"]
    figures = []
    path = _figure_path(ctx, "mathl2o_random_init_gradients.png")
    if path:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for name, values in norms.items():
            ax.loglog(Ts, values, "o-", label=name)
        ax.set_xlabel("T"), ax.set_ylabel("gradient norm at W0"), ax.legend(fontsize=7)
        fig.tight_layout(), fig.savefig(path, dpi=120), plt.close(fig)
        figures.append(path)
    return Evidence(
        holds=holds,
        numbers={"T": Ts, **{f"grad_norm_{k}": v for k, v in norms.items()}},
        counterexample=None if holds else {"T": Ts, "grad_norms": norms, "verdicts": verdicts,
                                           "margin": 1e3 - max(v["fold_change"] for k, v in verdicts.items()
                                                               if k.startswith("random"))},
        tables={"growth": [{"init": k, **v} for k, v in verdicts.items()]}, figures=figures,
        notes="for the coordinate-wise DNN model the random initialisations do not make the gradient explode "
              "with T (P stays in (0, 2), so every step is non-expansive on average); the paper's Fig. 2 "
              "concerns the LSTM Math-L2O and LISTA-CPSS, which are not implemented here."
        if not holds else "random initialisation explodes, the deterministic one is stable.")
