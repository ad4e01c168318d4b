"""cfgd.gj.nodes-weights: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.cfgd.gauss_jacobi import gauss_jacobi
from theory import cfgd as theory
from verify.claims.cfgd._theory import _symbolic_table
from verify.margins.cfgd import oracle_rule_row, rule_identity_margins_by_count
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.gj.nodes-weights",
                 "Gauss–Jacobi nodes/weights (weight (1-u)^(-α)) match an mpmath computation for s = 1..16; "
                 "s = 1: u₁ = α/(2-α), w₁ = 2^(1-α)/(1-α)",
                 "derived", "oracle+sweep", "holds", "THEORY.md §1.2",
                 scales={"alphas": ((0.1, 0.5, 0.9), (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)),
                         "sweep_instances": (10000, 1000000)})

#: The node counts of the claim (and of the sweep, uniformly)
MAX_NODES = 16


def _draw_rules(like: dict):
    """Rules to check: α ~ U[0.01, 0.99] (the full budget's α range) and s uniform in 1..MAX_NODES."""
    def draw(n: int, generator) -> dict:
        alpha = 0.01 + 0.98 * torch.rand(n, generator=generator, **like)
        s = torch.randint(1, MAX_NODES + 1, (n,), generator=generator, device=like["device"]).to(like["dtype"])
        return {"alpha": alpha, "s": s}
    return draw


def _rule_sweep(ctx: Context) -> dict:
    """implementations.cfgd.gauss_jacobi on ctx.scale("sweep_instances") random (α, s) against the defining
    identities (rule_identity_margins: roots of P_s^(−α,0), the closed weight formula, by the textbook
    recurrence); the worst re-checked against the mpmath rule (oracle_rule_row) in float64 on the CPU."""
    host = {"dtype": torch.float64, "device": "cpu"}
    return {"s=1..16": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_rules(DRAW_LIKE),
                                     lambda batch: rule_identity_margins_by_count(batch["alpha"], batch["s"]),
                                     recheck=lambda i: oracle_rule_row(i["alpha"], int(round(i["s"])), host)["margin"],
                                     stream="nodes-weights-sweep")}


@check(SPEC.id)
def nodes_weights(ctx: Context) -> Evidence:
    """Gauss–Jacobi nodes/weights for (1−u)^(−α) match an independent mpmath computation for s = 1..16, and
    s = 1 is u₁ = α/(2−α), w₁ = 2^(1−α)/(1−α) with C_α w₁ = 1 (derived).

    Oracle: roots of P_s^(−α,0) by mpmath polyroots and weights from the closed formula
    (theory.cfgd.gauss_jacobi_mp, 40 digits) vs implementations.cfgd.gauss_jacobi (Golub–Welsch, float64).
    Tolerances from :func:`gauss_jacobi_error_bounds`. Symbolic: the s = 1 identities reduce to 0.
    Sweep: 10⁴ (quick) / 10⁶ (full) random rules (α ∈ [0.01, 0.99], s uniform in 1..16) against the identities
    that define them, evaluated in float64 at the rule's own nodes by the textbook three-term recurrence of
    P_s^(−α,0) with running error bounds (verify.margins.cfgd.rule_identity_margins): each node within the node
    bound of a root, nodes increasing, each weight within its bound of 2^(1−α)/((1−u²)P_s'(u)²); the worst rule
    re-checked against the mpmath rule.
    """
    symbolic_ok, table = _symbolic_table(theory.single_node_residuals())
    alphas_checked = ctx.scale("alphas")
    oracle = [oracle_rule_row(alpha, s, ctx.like) for alpha in alphas_checked for s in range(1, MAX_NODES + 1)]
    rows = [{key: row[key] for key in ("alpha", "s", "max_node_error", "max_weight_relative_error", "within_bounds")}
            for row in oracle]
    worst_node_ratio = max(row["node_error_over_bound"] for row in oracle)
    worst_weight_ratio = max(row["weight_error_over_bound"] for row in oracle)
    closed_form_error = max(abs(float(gauss_jacobi(1, ctx.tensor(a))[0][0]) - a / (2 - a)) for a in alphas_checked)
    failures = [row for row in rows if not row["within_bounds"]]
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_rule_sweep(ctx))
    counterexample = sweep_counterexample
    if failures:
        counterexample = {"rows": failures, "margin": max(worst_node_ratio, worst_weight_ratio) - 1}
    return Evidence(holds=symbolic_ok and not failures and sweep_violations == 0,
                    numbers={"worst_node_error_over_bound": worst_node_ratio,
                             "worst_weight_error_over_bound": worst_weight_ratio,
                             "max_node_error": max(r["max_node_error"] for r in rows),
                             "max_weight_relative_error": max(r["max_weight_relative_error"] for r in rows),
                             "s1_closed_form_node_error": closed_form_error, **sweep_numbers},
                    counterexample=counterexample,
                    tables={"symbolic": table, "comparison": rows, "sweep": sweep_table})
