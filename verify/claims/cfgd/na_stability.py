"""cfgd.na.stability: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import torch

from implementations.cfgd.quadratic import na_cfgd, shift_matrix_diagonal, stability_threshold, tikhonov_point
from verify.claims.cfgd._theory import draw_na_instances, na_distance_bound, random_na_instances
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize
from verify.tightness import Tightness

SPEC = ClaimSpec("cfgd.na.stability",
                 "NA-CFGD on a quadratic converges from every start iff A+G ≻ 0 and 0 < η < 2/λ_max(A+G)",
                 "derived", "property+tightness+sweep", "holds", "THEORY.md §1.3", dtypes=("float32", "float64"),
                 scales={"batch": (500, 5000), "count": (8, 64), "sweep_instances": (10000, 1000000)},
                 tightness={"largest η with ‖e_T‖ < ‖e_0‖ (NA-CFGD)": ("tight", 0.01)})


def _error_norm_after(A, b, x0, alpha, beta, c, lr, steps):
    run = na_cfgd(A, b, x0, alpha, beta, c, lr, steps, keep_trajectory=False)
    star = tikhonov_point(A, b, alpha, beta, c)
    return run, (run.final - star).norm(dim=-1) / (x0 - star).norm(dim=-1)


#: The sweep's dimension and horizon, and its step-size fractions of η_c = 2/λ_max(A + G) on each side: below,
#: ‖x_T − x*‖ must stay within na_distance_bound (at every T); above, |1 − ηλ_max| ≥ 1.2 and 1.2^300 ≈ 6e23 must
#: blow the run up (past 1e10·(1 + ‖x0‖)) unless x0 − x* has less than ~1e-13 of its norm along the top eigenvector
SWEEP_DIM, SWEEP_STEPS = 4, 300
BELOW, ABOVE = (0.05, 0.98), (1.1, 2.0)


def _sweep_margins(batch: dict) -> torch.Tensor:
    """Per instance (A + G ≻ 0), with η_c = implementations.cfgd.stability_threshold and fractions ρ_below, ρ_above
    of the batch: max(‖x_T − x*‖/na_distance_bound − 1 at η = ρ_below η_c (+inf if it diverged), +1 if the run at
    η = ρ_above η_c did not diverge else −1, +1 if η_c = 0 (the implementation calls A + G not definite))."""
    A, b, c, x0, alpha, beta = (batch[k] for k in ("A", "b", "c", "x0", "alpha", "beta"))
    threshold = stability_threshold(A, alpha, beta)
    definite = threshold > 0
    safe = torch.where(definite, threshold, torch.ones_like(threshold))
    below_lr = batch["below"] * safe
    run_below, ratio_below = _error_norm_after(A, b, x0, alpha, beta, c, below_lr, SWEEP_STEPS)
    star = tikhonov_point(A, b, alpha, beta, c)
    g = shift_matrix_diagonal(A, alpha, beta)
    bound = na_distance_bound(A, b, x0, g, c, star, below_lr, SWEEP_STEPS) / (x0 - star).norm(dim=-1)
    below = torch.where(run_below.diverged, torch.full_like(bound, torch.inf), ratio_below / bound - 1)
    above = na_cfgd(A, b, x0, alpha, beta, c, batch["above"] * safe, SWEEP_STEPS, keep_trajectory=False).diverged
    flags = torch.where(above & definite, -torch.ones_like(bound), torch.ones_like(bound))
    return torch.maximum(below, flags)


def _draw_stability(like: dict):
    """draw_na_instances (d = SWEEP_DIM, A's eigenvalues in [0.5, 20], β ∈ [−0.2, 0.8] raised where needed so that
    A + G ≻ 0) with step-size fractions ρ_below ~ U(BELOW) and ρ_above ~ U(ABOVE)."""
    instances = draw_na_instances(SWEEP_DIM, (0.5, 20.0), (-0.2, 0.8), like)

    def draw(n: int, generator) -> dict:
        batch = instances(n, generator)
        batch["below"] = BELOW[0] + (BELOW[1] - BELOW[0]) * torch.rand(n, generator=generator, **like)
        batch["above"] = ABOVE[0] + (ABOVE[1] - ABOVE[0]) * torch.rand(n, generator=generator, **like)
        return batch
    return draw


def _stability_sweep(ctx: Context) -> dict:
    """:func:`_sweep_margins` on ctx.scale("sweep_instances") random instances in ctx.dtype on ctx.device; the worst
    re-checked on its own in float64 on the CPU."""
    host = {"dtype": torch.float64, "device": "cpu"}
    return {"both sides": batched_sweep(
        ctx, ctx.scale("sweep_instances"), _draw_stability(DRAW_LIKE), _sweep_margins, stream="stability-sweep",
        recheck=lambda i: float(_sweep_margins({k: torch.tensor([v], **host) for k, v in i.items()})))}


def empirical_threshold(A, b, x0, alpha, beta, c, steps: int, low: torch.Tensor, high: torch.Tensor,
                        iterations: int = 24) -> torch.Tensor:
    """Per instance (batched), the largest η with ‖x_T − x*‖ < ‖x0 − x*‖ after T steps and no blow-up, by
    bisection in [low, high] (low must converge, high must not); resolution (high − low)·2^-iterations."""
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        run, ratio = _error_norm_after(A, b, x0, alpha, beta, c, middle, steps)
        fails = run.diverged | (ratio >= 1)
        high = torch.where(fails, middle, high)
        low = torch.where(fails, low, middle)
    return low


@check(SPEC.id)
def na_stability(ctx: Context) -> Evidence:
    """NA-CFGD on a quadratic converges from every start iff A + G ≻ 0 and 0 < η < 2/λ_max(A+G) (derived:
    the error map is e ← (I − η(A+G)) e with A + G symmetric).

    Both sides, batched over random instances (d = 4, A eigenvalues in [0.5, 20]) with random starts:
    η = 0.98·η_c converges (‖x_T − x*‖ within :func:`na_distance_bound`, T = 1500);
    η = 1.02·η_c diverges (flag set: |1 − ηλ_max| = 1.04, 1.04^T ≫ blow-up 1e10 for T = 1500);
    A + G with a negative eigenvalue (β pushed below the generalised eigenvalue of (A, diag r)) diverges at
    η = 1/λ_max(A+G) with T = ⌈ln(1e14)/ln(1 + η|λ_min|)⌉.
    Tightness: η_c = 2/λ_max vs the bisection threshold of "‖e_T‖ < ‖e_0‖" (T = 3000, 24 halvings); rtol
    = 2 ln(‖e0‖/|⟨e0, v_max⟩|)/T + 2^-24, the overshoot a finite horizon allows (derived: the v_max component
    grows as (1+ε)^T with ε = η λ_max − 2).
    Sweep: both sides of the iff on 10⁴ (quick) / 10⁶ (full) further random instances with A + G ≻ 0 (d = 4, A's
    eigenvalues in [0.5, 20], β raised where needed so that A + G ⪰ 0.1 λ_min(A)), each run at η = ρη_c with
    ρ ∈ [0.05, 0.98] (converges: within na_distance_bound after T = 300 steps) and at ρ ∈ [1.1, 2] (diverges within
    300 steps); margin of :func:`_sweep_margins`, the worst re-checked in float64 on the CPU.
    """
    gen = ctx.torch_generator()
    batch, d, steps = ctx.scale("batch"), 4, 1500
    A, b, c, x0, alpha, beta = random_na_instances(batch, d, (0.5, 20.0), (-0.2, 0.8), gen, ctx.like)
    threshold = stability_threshold(A, alpha, beta)
    keep = threshold > 0
    A, b, c, x0, alpha, beta, threshold = (t[keep] for t in (A, b, c, x0, alpha, beta, threshold))
    shifted = A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta))
    below_lr = 0.98 * threshold
    run_below, ratio_below = _error_norm_after(A, b, x0, alpha, beta, c, below_lr, steps)
    star = tikhonov_point(A, b, alpha, beta, c)
    g = shift_matrix_diagonal(A, alpha, beta)
    below_bound = na_distance_bound(A, b, x0, g, c, star, below_lr, steps) / (x0 - star).norm(dim=-1)
    below_margin = ratio_below - below_bound
    run_above = na_cfgd(A, b, x0, alpha, beta, c, 1.02 * threshold, steps, keep_trajectory=False)
    # indefinite A + G
    r = torch.diagonal(A, dim1=-2, dim2=-1)
    scaled = A / torch.sqrt(r.unsqueeze(-1) * r.unsqueeze(-2))
    m = 1.2 * torch.linalg.eigvalsh(scaled)[..., 0]
    beta_neg = ((1 - alpha) / (2 - alpha) - m.unsqueeze(-1)).expand_as(alpha).contiguous()
    indefinite_eigs = torch.linalg.eigvalsh(A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta_neg)))
    lr_neg = 1 / indefinite_eigs[..., -1].abs()
    growth = torch.log1p(lr_neg * indefinite_eigs[..., 0].abs())
    steps_neg = int(torch.ceil(math.log(1e14) / growth).max().clamp(max=200000))
    run_neg = na_cfgd(A, b, x0, alpha, beta_neg, c, lr_neg, steps_neg, keep_trajectory=False)
    # tightness on a few instances
    tight_rows, all_tight = [], True
    horizon, count, iterations = 3000, ctx.scale("count"), 24
    chosen = slice(0, count)
    eta_c = threshold[chosen]
    found = empirical_threshold(A[chosen], b[chosen], x0[chosen], alpha[chosen], beta[chosen], c[chosen],
                                horizon, 0.5 * eta_c, 1.5 * eta_c, iterations)
    _, eigenvectors = torch.linalg.eigh(shifted[chosen])
    e0 = x0[chosen] - star[chosen]
    overlaps = ((e0.unsqueeze(-1) * eigenvectors[..., -1:]).sum(-2).squeeze(-1).abs() / e0.norm(dim=-1))
    for index in range(count):
        # rtol: finite-horizon overshoot 2 ln(1/overlap)/T plus the bisection resolution 2^-iterations
        rtol = 2 * math.log(1 / max(float(overlaps[index]), 1e-300)) / horizon + 2.0 ** -iterations
        record = Tightness(quantity="largest η with ‖e_T‖ < ‖e_0‖ (NA-CFGD)", bound=float(eta_c[index]),
                           worst=float(found[index]), kind="upper", rtol=rtol,
                           method=f"bisection, T={horizon}", evaluations=iterations)
        all_tight &= record.label == "tight"
        tight_rows.append(record.as_row())
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_stability_sweep(ctx))
    holds = (float(below_margin.max()) <= 0 and not bool(run_below.diverged.any())
             and bool(run_above.diverged.all()) and bool(run_neg.diverged.all()) and all_tight
             and sweep_violations == 0)
    numbers = {"instances": int(keep.sum()), "worst_below_margin": float(below_margin.max()),
               "below_diverged": int(run_below.diverged.sum()),
               "above_diverged_fraction": float(run_above.diverged.double().mean()),
               "indefinite_diverged_fraction": float(run_neg.diverged.double().mean()),
               "indefinite_steps": steps_neg,
               "max_relative_threshold_gap": max(abs(r_["ratio"] - 1) for r_ in tight_rows), **sweep_numbers}
    counterexample = sweep_counterexample
    if counterexample is None and not holds:
        # the instance violating the first failing part: below side, above side, indefinite side
        failing = torch.cat([(below_margin > 0).nonzero().flatten(), (~run_above.diverged).nonzero().flatten(),
                             (~run_neg.diverged).nonzero().flatten(),
                             torch.zeros(1, dtype=torch.long, device=A.device)])
        bad = int(failing[0])
        counterexample = {"A": A[bad].tolist(), "b": b[bad].tolist(), "c": c[bad].tolist(), "x0": x0[bad].tolist(),
                          "alpha": alpha[bad].tolist(), "beta": beta[bad].tolist(),
                          "beta_indefinite": beta_neg[bad].tolist(),
                          "eta_threshold": float(threshold[bad]), "margin": float(below_margin[bad])}
    return Evidence(holds=holds, numbers=numbers, counterexample=counterexample,
                    tables={"tightness": tight_rows, "sweep": sweep_table})
