"""bfgs.cwss.descent-condition: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.bfgs.stability import descent_failure_threshold, descent_threshold_bounds
from implementations.problems.quadratic import random_spd
from verify.margins.bfgs import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import spd_matrices, vectors
from verify.sweep import DRAW_LIKE, host_tensor, log_uniform_spd, summarize, sweep_dimensions
from verify.tightness import Tightness

SPEC = ClaimSpec("bfgs.cwss.descent-condition",
                 "δ = max|p_i − 1| < 1/κ(H) ⇒ gᵀPHg ≥ (λ_min(H) − δλ_max(H))‖g‖² > 0 (D1), with tightness of 1/κ(H)",
                 "derived", "property+tightness+sweep", "holds", "THEORY.md §2.1 D1",
                 scales={"sizes": (((2, 10.0), (2, 100.0), (3, 100.0), (4, 1000.0)),
                                   ((2, 10.0), (2, 100.0), (3, 100.0), (4, 1000.0), (6, 10000.0), (8, 1000.0))),
                         "per_case": (20, 100), "sweep_instances": (10000, 1000000)},
                 tightness={"κ(H)·δ*(H)": ("lower", 1e-06), "√κ(H)·δ*(H)": ("lower", 1e-06),
                            "δ*(H)·(κ+1)/(2√κ)": ("tight", 1e-06)})


def _d1_margin(instance) -> float:
    """(λ_min − δλ_max)‖g‖² − gᵀPHg − tol, tol = 4d·eps·max|p|·‖H‖‖g‖² + 8d·tiny (the second term: products
    of tiny g underflow, with absolute error up to the smallest normal number), δ = t/κ(H), t ∈ [0, 1);
    divided by λ_max‖g‖² so the reported worst margin is relative."""
    H, t, signs, g = instance
    lam = np.linalg.eigvalsh(H)
    delta = t * lam[0] / lam[-1]
    p = 1 + delta * signs[: len(g)]
    gg = float(g @ g)
    tol = 4 * len(g) * EPS * float(np.abs(p).max()) * lam[-1] * gg + 8 * len(g) * float(np.finfo(np.float64).tiny)
    scale = lam[-1] * gg + float(np.finfo(np.float64).tiny)
    return ((lam[0] - delta * lam[-1]) * gg - float(g @ (p * (H @ g))) - tol) / scale


@st.composite
def _d1_instance(draw):
    dim = draw(st.integers(2, 5))
    H = draw(spd_matrices(dim, cond_max=1e3))
    t = draw(st.floats(0.0, 1.0, exclude_max=True))
    signs = draw(vectors(dim, 1.0))
    g = draw(vectors(dim, 10.0))
    return H, t, signs, g


def _draw_d1(dim: int, like: dict):
    """Batched D1 instances of dimension ``dim``: H = Q diag(λ) Qᵀ (Q Haar-orthogonal, λ log-uniform on
    [1, 10³]), t ∈ [0, 1) (δ = t/κ(H)), signs ∈ [−1, 1]^d (p = 1 + δ·signs), g ~ 10·N(0, I)."""
    def draw(n: int, generator) -> dict:
        H, _, _ = log_uniform_spd(n, dim, 1e3, generator, like)
        return {"H": H, "t": torch.rand(n, generator=generator, **like),
                "signs": 2 * torch.rand(n, dim, generator=generator, **like) - 1,
                "g": 10 * torch.randn(n, dim, generator=generator, **like)}
    return draw


def _d1_margins(batch: dict) -> torch.Tensor:
    """:func:`_d1_margin` on a batch, in the batch's dtype (its eps and smallest normal number)."""
    H, t, signs, g = batch["H"], batch["t"], batch["signs"], batch["g"]
    info = torch.finfo(H.dtype)
    lam = torch.linalg.eigvalsh(H)
    low, high = lam[:, 0], lam[:, -1]
    delta = t * low / high
    p = 1 + delta.unsqueeze(-1) * signs
    gg = (g * g).sum(-1)
    dim = g.shape[-1]
    tol = 4 * dim * info.eps * p.abs().amax(-1) * high * gg + 8 * dim * info.tiny
    value = (g * p * (H @ g.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return ((low - delta * high) * gg - value - tol) / (high * gg + info.tiny)


def _d1_sweep(ctx: Context) -> dict:
    """D1 on ctx.scale("sweep_instances") random instances, a third each at d = 2, 4, 8 (verify.sweep), the worst
    instance of each re-checked by :func:`_d1_margin` in float64 on the CPU."""
    return sweep_dimensions(
        ctx, "d1", (2, 4, 8), lambda dim: _draw_d1(dim, DRAW_LIKE), _d1_margins,
        recheck=lambda i: float(_d1_margin((np.array(i["H"]), i["t"], np.array(i["signs"]), np.array(i["g"])))))


@check(SPEC.id)
def descent_condition(ctx: Context) -> Evidence:
    """D1 (derived): δ = max|p_i − 1| < 1/κ(H) ⇒ gᵀPHg ≥ (λ_min(H) − δλ_max(H))‖g‖² > 0. Property:
    hypothesis over SPD H (d ≤ 5, κ ≤ 10³), δ < 1/κ, any such P, g (tolerance 4d·eps·max|p|·‖H‖‖g‖²).
    Tightness: for each H, the exact smallest δ*(H) at which descent can fail, by optimisation: λ_min(PH+HP)
    is concave in P, so its minimum over the box is at a vertex (2^d enumerated), bisected to 1e-12 in δ.
    Records κδ* ≥ 1 (D1's 1/κ), √κδ* ≥ 1 (1/√κ) and δ*(κ + 1)/(2√κ) ≥ 1 (the sharp Kantorovich-angle
    threshold 2√κ/(κ + 1), both derived in implementations.bfgs.stability; the last is also searched for a
    counterexample with hypothesis). rtol 1e-6 (bisection accuracy 1e-12 relative to δ* ≥ 1e-3).
    Sweep: D1's margin on 10⁴ (quick) / 10⁶ (full) random instances in batches (d = 2, 4, 8, κ ≤ 10³, any
    δ < 1/κ and P with max|p_i − 1| ≤ δ), the worst of each dimension re-checked in float64 on the CPU."""
    result = ctx.search(_d1_instance(), _d1_margin, max_examples=300)
    sweeps = _d1_sweep(ctx)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(sweeps)
    gen = ctx.torch_generator()
    sizes = ctx.scale("sizes")
    per_case = ctx.scale("per_case")
    kappa_products, sqrt_products, kantorovich_ratios, table, instances = [], [], [], [], []
    for dim, cond in sizes:
        for _ in range(per_case):
            H = random_spd(dim, cond, gen, **ctx.like)
            delta_star, _ = descent_failure_threshold(H)
            bounds = descent_threshold_bounds(H)
            kappa_products.append(delta_star * bounds["kappa"])
            sqrt_products.append(delta_star * bounds["kappa"] ** 0.5)
            kantorovich_ratios.append(delta_star / bounds["kantorovich"])
            instances.append((H.tolist(), delta_star, bounds))
        table.append(dict(dim=dim, kappa=cond, min_kappa_delta_star=min(kappa_products[-per_case:]),
                          min_sqrt_kappa_delta_star=min(sqrt_products[-per_case:]),
                          min_delta_star_over_kantorovich=min(kantorovich_ratios[-per_case:])))
    for cond in (1.2, 4.0, 50.0, 1000.0):  # the 45°-rotated 2-D family, where δ* = 2√κ/(κ + 1)
        c = math.cos(math.pi / 4)
        Q = ctx.tensor([[c, -c], [c, c]])
        H = Q @ torch.diag(ctx.tensor([1.0, cond])) @ Q.T
        delta_star, witness = descent_failure_threshold(H)
        kappa_products.append(delta_star * cond)
        sqrt_products.append(delta_star * cond ** 0.5)
        kantorovich_ratios.append(delta_star / (2 * cond ** 0.5 / (cond + 1)))
        instances.append((H.tolist(), delta_star, descent_threshold_bounds(H)))
        table.append(dict(dim=2, kappa=cond, rotated_45=True, delta_star=delta_star,
                          closed_form=2 * cond ** 0.5 / (cond + 1), witness_P=witness.tolist()))
    sqrt_search = ctx.search(
        spd_matrices(st.integers(2, 4), cond_max=1e4),
        lambda H: 1 - descent_failure_threshold(host_tensor(H, ctx.like), tol=1e-12)[0]
        / descent_threshold_bounds(host_tensor(H, ctx.like))["kantorovich"] - 1e-6,
        max_examples=100)
    evaluations = len(kappa_products) + sqrt_search.examples_tried
    t_kappa = Tightness("κ(H)·δ*(H)", bound=1.0, worst=float(min(kappa_products)), kind="lower", rtol=1e-6,
                        method="vertex enumeration + bisection over random and rotated H", evaluations=evaluations)
    t_sqrt = Tightness("√κ(H)·δ*(H)", bound=1.0, worst=float(min(sqrt_products)), kind="lower", rtol=1e-6,
                       method="vertex enumeration + bisection over random and rotated H", evaluations=evaluations)
    t_kantorovich = Tightness("δ*(H)·(κ+1)/(2√κ)", bound=1.0, worst=float(min(kantorovich_ratios)), kind="lower",
                              rtol=1e-6, method="vertex enumeration + bisection over random and rotated H",
                              evaluations=evaluations)
    holds = (not result.found and t_kappa.holds and t_sqrt.holds and t_kantorovich.holds and not sqrt_search.found
             and sweep_violations == 0)
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif result.found:
        H, t, signs, g = result.counterexample
        counterexample = dict(H=H.tolist(), t=t, signs=signs.tolist(), g=g.tolist(), margin=result.margin)
    elif sqrt_search.found:
        counterexample = dict(H=sqrt_search.counterexample.tolist(), margin=sqrt_search.margin)
    elif not holds:
        worst = min(range(len(instances)),
                    key=lambda i: min(kappa_products[i], sqrt_products[i], kantorovich_ratios[i]))
        H, delta_star, bounds = instances[worst]
        counterexample = dict(H=H, delta_star=delta_star, bounds=bounds,
                              margin=1 - min(kappa_products[worst], sqrt_products[worst], kantorovich_ratios[worst]))
    return Evidence(holds=holds, counterexample=counterexample,
                    numbers=dict(property_examples=result.examples_tried,
                                 property_worst_margin=result.worst_margin_seen,
                                 kantorovich_search_examples=sqrt_search.examples_tried,
                                 kantorovich_search_worst_margin=sqrt_search.worst_margin_seen,
                                 min_kappa_delta_star=t_kappa.worst, min_sqrt_kappa_delta_star=t_sqrt.worst,
                                 min_delta_star_over_kantorovich=t_kantorovich.worst,
                                 **sweep_numbers),
                    tables={"tightness": [t_kappa.as_row(), t_sqrt.as_row(), t_kantorovich.as_row()],
                            "thresholds": table,
                            "sweep": sweep_table},
                    notes="D1 holds but 1/κ is conservative by a factor up to 2κ/(κ+1)·√κ ≈ 2√κ; the sharp "
                          "threshold is 2√κ/(κ+1) (Kantorovich angles), attained by the 45°-rotated 2-D H")
