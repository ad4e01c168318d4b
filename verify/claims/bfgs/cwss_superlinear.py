"""bfgs.cwss.superlinear: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch

from implementations.bfgs import inverse_bfgs_update
from implementations.problems.quadratic import random_spd
from verify.margins.bfgs import EPS, draw_rate_band, rate_band_margin, rate_band_margins
from verify.ratefit import fit_rate
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, summarize, sweep_dimensions

SPEC = ClaimSpec("bfgs.cwss.superlinear",
                 "P_k → I gives ‖e_{k+1}‖/‖e_k‖ → 0; P_k → cI gives a linear rate ≈ |1−c| (D6)",
                 "paper+derived", "rate-fit+sweep", "holds", "THEORY.md §2.1 D6; paper Thm 3",
                 scales={"iterations": (250, 400), "sweep_instances": (10000, 1000000)})


def _quadratic_rate_run(A, b, x0, P_of_k, iterations):
    """Errors ‖e_k‖_A and ‖S_k − I‖₂ (S = A^{1/2}H A^{1/2}) along CWSS-BFGS on f = ½xᵀAx + bᵀx."""
    lam, Q = torch.linalg.eigh(A)
    root = (Q * lam.sqrt()) @ Q.T
    x_star = -torch.linalg.solve(A, b)
    x, H = x0.clone(), torch.eye(len(x0), dtype=x0.dtype, device=x0.device) / float((A @ x0 + b).norm())
    errors, s_dev = [float((root @ (x - x_star)).norm())], []
    g = A @ x + b
    for k in range(iterations):
        S = root @ H @ root
        s_dev.append(float(torch.linalg.matrix_norm(S - torch.eye(len(x0), dtype=x0.dtype, device=x0.device), 2)))
        x_next = x - P_of_k(k) * (H @ g)
        g_next = A @ x_next + b
        s, y = x_next - x, g_next - g
        if k == 0 and float(y @ s) > 0:
            H = float(y @ s) / float(y @ y) * torch.eye(len(x0), dtype=x0.dtype, device=x0.device)
        H, _ = inverse_bfgs_update(H, s, y)
        x, g = x_next, g_next
        errors.append(float((root @ (x - x_star)).norm()))
    return np.array(errors), np.array(s_dev)


def _band_sweep(ctx: Context) -> dict:
    """rate_band_margins on ctx.scale("sweep_instances") instances, a third each at d = 2, 4, 8, the worst of each
    re-checked in float64 on the CPU."""
    return sweep_dimensions(ctx, "band", (2, 4, 8), lambda dim: draw_rate_band(dim, DRAW_LIKE),
                            lambda b: rate_band_margins(b["A"], b["H"], b["x"], b["x_star"], b["c"]),
                            recheck=lambda i: rate_band_margin(tuple(i[k] for k in ("A", "H", "x", "x_star", "c"))))


@check(SPEC.id)
def superlinear(ctx: Context) -> Evidence:
    """D6 (paper Thm 3 + derived): P_k → I with BFGS's H_k gives ‖e_{k+1}‖/‖e_k‖ → 0 (fit_rate regime
    'superlinear'); P_k = cI gives a linear rate ≈ |1 − c|. On a quadratic, e⁺ = ((1−c)I − c(H_kA − I))e,
    so in the A-norm each ratio lies in |1 − c| ± c‖S_k − I‖₂ (S_k = A^{1/2}H_kA^{1/2}): the fitted ρ must
    lie within max_window c‖S_k − I‖ + the 95% CI half-width of |1 − c| (derived tolerance), fitted on the
    last 15 errors above the round-off floor 1e3·eps·‖e_0‖, and the last ratio must stay ≥ |1 − c|/2 (not
    superlinear). Runs on
    d = 8, κ(A) = 100 quadratics; the P_k → I schedule is P_k = I + D·0.5^k, D ∈ [−0.5, 0.5]^d.
    Sweep: the band that tolerance rests on, one cwss_step with P = cI (rate_band_margins: |r − |1 − c|| ≤
    c‖S − I‖₂ for r = ‖e⁺‖_A/‖e‖_A, tolerance 16d·eps·κ(A)(1 + c‖S‖₂)(1 + (‖x‖ + ‖x*‖)/‖e‖)) on 10⁴ (quick) / 10⁶
    (full) random instances in batches (d = 2, 4, 8; κ(A) ≤ 10³; S = I + εE, ε ∈ [10⁻⁸, 0.9]; c ∈ (0, 2)), the
    worst of each dimension re-checked in float64 on the CPU."""
    gen = ctx.torch_generator()
    dim, cond = 8, 100.0
    A = random_spd(dim, cond, gen, **ctx.like)
    b = ctx.randn(dim, generator=gen)
    x0 = ctx.randn(dim, generator=gen) * 5
    D = ctx.uniform(dim, low=-0.5, high=0.5, generator=gen)
    errors, _ = _quadratic_rate_run(A, b, x0, lambda k: 1 + D * 0.5 ** k, 60)
    floor = 1e3 * EPS * errors[0]
    usable = errors[errors > floor]
    fit_identity = fit_rate(usable, start=max(len(usable) - 12, 0), floor=floor)
    rows = [dict(schedule="P_k = I + D/2^k", **fit_identity.as_dict())]
    ok = fit_identity.regime == "superlinear"
    iterations = ctx.scale("iterations")
    for c in (0.25, 0.5, 1.5):
        errors, s_dev = _quadratic_rate_run(A, b, x0, lambda k, c=c: ctx.tensor(c), iterations)
        floor = 1e3 * EPS * errors[0]
        stop = int(np.argmax(errors <= floor)) if (errors <= floor).any() else len(errors)
        start = max(stop - 15, 0)
        fit = fit_rate(errors, start=start, stop=stop, floor=floor)
        allowed = c * float(s_dev[start:stop].max()) + (fit.rho_high - fit.rho_low) / 2
        within = abs(fit.rho - abs(1 - c)) <= allowed
        ok &= within and fit.last_ratio >= abs(1 - c) / 2
        rows.append(dict(schedule=f"P_k = {c}·I", expected=abs(1 - c), allowed_deviation=allowed,
                         within=within, **fit.as_dict()))
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_band_sweep(ctx))
    counterexample = sweep_counterexample if sweep_violations else None if ok else dict(rows=rows, margin=1.0)
    return Evidence(holds=bool(ok) and sweep_violations == 0, tables={"rate_fits": rows, "sweep": sweep_table},
                    counterexample=counterexample,
                    numbers=dict(identity_regime=fit_identity.regime, identity_last_ratio=fit_identity.last_ratio,
                                 **{f"rho_c_{r['schedule']}": r["rho"] for r in rows[1:]}, **sweep_numbers),
                    notes="the derived tolerance is c·max‖S_k − I‖ over the fit window: it is small when BFGS has "
                          "learned A⁻¹ on the error's subspace")
