"""cfgd.gj.nodes-weights: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import mpmath as mp
import numpy as np

from implementations.cfgd.gauss_jacobi import gauss_jacobi
from theory import cfgd as theory
from verify.claims.cfgd._theory import _symbolic_table
from verify.margins.cfgd import ORACLE_DPS, gauss_jacobi_error_bounds
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.gj.nodes-weights",
                 "Gauss–Jacobi nodes/weights (weight (1-u)^(-α)) match an mpmath computation for s = 1..16; "
                 "s = 1: u₁ = α/(2-α), w₁ = 2^(1-α)/(1-α)",
                 "derived", "oracle", "holds", "THEORY.md §1.2",
                 scales={"alphas": ((0.1, 0.5, 0.9), (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99))})


@check(SPEC.id)
def nodes_weights(ctx: Context) -> Evidence:
    """Gauss–Jacobi nodes/weights for (1−u)^(−α) match an independent mpmath computation for s = 1..16, and
    s = 1 is u₁ = α/(2−α), w₁ = 2^(1−α)/(1−α) with C_α w₁ = 1 (derived).

    Oracle: roots of P_s^(−α,0) by mpmath polyroots and weights from the closed formula
    (theory.cfgd.gauss_jacobi_mp, 40 digits) vs implementations.cfgd.gauss_jacobi (Golub–Welsch, float64).
    Tolerances from :func:`gauss_jacobi_error_bounds`. Symbolic: the s = 1 identities reduce to 0.
    """
    symbolic_ok, table = _symbolic_table(theory.single_node_residuals())
    alphas_checked = ctx.scale("alphas")
    rows, holds_numeric = [], True
    worst_node_ratio = worst_weight_ratio = 0.0
    with mp.workdps(ORACLE_DPS):
        for alpha in alphas_checked:
            for s in range(1, 17):
                nodes, weights = gauss_jacobi(s, ctx.tensor(alpha))
                ref_nodes, ref_weights = theory.gauss_jacobi_mp(s, mp.mpf(alpha))
                node_err = np.abs(nodes.cpu().numpy() - np.array([float(v) for v in ref_nodes]))
                ref_w = np.array([float(v) for v in ref_weights])
                weight_err = np.abs(weights.cpu().numpy() / ref_w - 1)
                node_bound, weight_bound = gauss_jacobi_error_bounds(nodes, weights, alpha)
                node_ratio = float(np.max(node_err) / node_bound)
                weight_ratio = float(np.max(weight_err / weight_bound))
                worst_node_ratio = max(worst_node_ratio, node_ratio)
                worst_weight_ratio = max(worst_weight_ratio, weight_ratio)
                ok = node_ratio <= 1 and weight_ratio <= 1
                holds_numeric &= ok
                rows.append({"alpha": alpha, "s": s, "max_node_error": float(np.max(node_err)),
                             "max_weight_relative_error": float(np.max(weight_err)), "within_bounds": ok})
    closed_form_error = max(abs(float(gauss_jacobi(1, ctx.tensor(a))[0][0]) - a / (2 - a)) for a in alphas_checked)
    failures = [row for row in rows if not row["within_bounds"]]
    return Evidence(holds=symbolic_ok and holds_numeric,
                    numbers={"worst_node_error_over_bound": worst_node_ratio,
                             "worst_weight_error_over_bound": worst_weight_ratio,
                             "max_node_error": max(r["max_node_error"] for r in rows),
                             "max_weight_relative_error": max(r["max_weight_relative_error"] for r in rows),
                             "s1_closed_form_node_error": closed_form_error},
                    counterexample={"rows": failures, "margin": max(worst_node_ratio, worst_weight_ratio) - 1}
                    if failures else None,
                    tables={"symbolic": table, "comparison": rows})
