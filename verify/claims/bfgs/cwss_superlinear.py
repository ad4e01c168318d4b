"""bfgs.cwss.superlinear: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch

from implementations.bfgs import inverse_bfgs_update
from implementations.problems.quadratic import random_spd
from verify.margins.bfgs import EPS
from verify.ratefit import fit_rate
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("bfgs.cwss.superlinear",
                 "P_k → I gives ‖e_{k+1}‖/‖e_k‖ → 0; P_k → cI gives a linear rate ≈ |1−c| (D6)",
                 "paper+derived", "rate-fit", "holds", "THEORY.md §2.1 D6; paper Thm 3",
                 scales={"iterations": (250, 400)})


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


@check(SPEC.id)
def superlinear(ctx: Context) -> Evidence:
    """D6 (paper Thm 3 + derived): P_k → I with BFGS's H_k gives ‖e_{k+1}‖/‖e_k‖ → 0 (fit_rate regime
    'superlinear'); P_k = cI gives a linear rate ≈ |1 − c|. On a quadratic, e⁺ = ((1−c)I − c(H_kA − I))e,
    so in the A-norm each ratio lies in |1 − c| ± c‖S_k − I‖₂ (S_k = A^{1/2}H_kA^{1/2}): the fitted ρ must
    lie within max_window c‖S_k − I‖ + the 95% CI half-width of |1 − c| (derived tolerance), fitted on the
    last 15 errors above the round-off floor 1e3·eps·‖e_0‖, and the last ratio must stay ≥ |1 − c|/2 (not
    superlinear). Runs on
    d = 8, κ(A) = 100 quadratics; the P_k → I schedule is P_k = I + D·0.5^k, D ∈ [−0.5, 0.5]^d."""
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
    return Evidence(holds=bool(ok), tables={"rate_fits": rows},
                    counterexample=None if ok else dict(rows=rows, margin=1.0),
                    numbers=dict(identity_regime=fit_identity.regime, identity_last_ratio=fit_identity.last_ratio,
                                 **{f"rho_c_{r['schedule']}": r["rho"] for r in rows[1:]}),
                    notes="the derived tolerance is c·max‖S_k − I‖ over the fit window: it is small when BFGS has "
                          "learned A⁻¹ on the error's subspace")
