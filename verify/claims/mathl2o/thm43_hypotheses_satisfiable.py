"""mathl2o.thm43.hypotheses-satisfiable: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import itertools
import math

from implementations.mathl2o import QP, MathL2O
from implementations.mathl2o.constants import ntk_constants
from implementations.progress import tracked
from theory import mathl2o as theory
from verify.claims.mathl2o._shared import THM43_WIDTH, certified_search
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.thm43.hypotheses-satisfiable",
                 "some instance and architecture of the theorem's class satisfies the reconstructed Eq. 13 and Eq. 14",
                 "paper+reconstructed", "property+tightness", "holds", "paper Thm 4.3, Eqs. 13–14",
                 scales={"certified_instances": (3, 10),
                         "shapes": (((1, 1, 1), (1, 2, 2)), ((1, 1, 1), (1, 2, 1), (1, 2, 2), (2, 2, 2))),
                         "seeds_per_config": (1, 3), "ntk_directions": (1, 2)},
                 unbatched="an existence claim decided by one certified witness: each instance needs certified "
                           "suprema Γ̄, Λ̄ (rigorous upper bounds) or Γ, Λ sampled along Jacobian rays, and an instance "
                           "that fails Eq. 13 refutes nothing, so violations counted over random instances are no "
                           "evidence")



@check(SPEC.id)
def thm43_hypotheses_satisfiable(ctx: Context) -> Evidence:
    """Is the reconstructed Theorem 4.3 ever applicable? Eq. 13 ((1 − 1/√2)√μ₀ ≥ ΛR, R = 4Γ√(2𝓕₀)/μ₀) and Eq. 14
    (η ≤ 1/(Γ² + Λ√(2𝓕₀)), met by choosing η) on some instance and architecture of the theorem's class
    (derivation §4, §7). Searched where they are most likely to hold: tiny N·d·T, a wide penultimate layer
    (depth 2: 2 → 64 → 1; depth 3 with a 64-unit first layer: 2 → 64 → 64 → 1, so the penultimate features
    can have full row rank), large e (the margin's sign does not change with e, derivation §6).
    (a) Certified: T = 1, depth 2, the shapes CERTIFIED_SHAPES, e ∈ {100, 10⁴}, 3 (quick) / 10 (full) instances
    each, with rigorous upper bounds Γ̄ ≥ sup_B‖J‖, Λ̄ ≥ Lip_B(J) (implementations.mathl2o.certified): margin ≥ 0
    proves Eq. 13, and η = 1/(Γ̄² + Λ̄√(2𝓕₀)) meets Eq. 14.
    (b) Sampled: T ∈ {1, 2, 3}, both architectures, e = 100, the shapes (1, 1, 1), (1, 2, 2) and 1 instance
    (quick) / also (1, 2, 1), (2, 2, 2) and 3 instances (full) (scales: shapes, seeds_per_config), Γ and Λ
    sampled on the ball along 3 (quick) / 5 (full) directions (lower estimates: a negative margin proves Eq. 13
    fails there).
    (c) The T = 1 necessary condition of derivation §7 (for step-1 features of full row rank, N·d ≤ 2):
    Eq. 13 ⟹ 𝓕₀/(½‖Y‖²) ≤ (q/(1 − q))², q = x*/8 (theory.eq13_t1_relative_loss_limit): checked on every
    certified instance that satisfies Eq. 13.
    Verdict: holds when (a) certifies at least one instance (Eq. 13 and Eq. 14 then both hold); a search
    cannot refute existence, so no instance found is inconclusive (the derivation then says why)."""
    certified = certified_search(ctx)
    sampled = []
    shapes = ctx.scale("shapes")
    configs = list(itertools.product((1, 2, 3), shapes, (2, 3), range(ctx.scale("seeds_per_config"))))
    for T, (N, d, b), depth, i in tracked(configs, "Eq. 13 search: configurations"):
        seed = ctx.instance_seed(13) + i
        qp = QP.random(N, d, b, seed=seed, **ctx.like)
        model = MathL2O(THM43_WIDTH, 100.0, depth, seed=seed, first_width=THM43_WIDTH, **ctx.like)
        c = ntk_constants(model, qp, T, directions=ctx.scale("ntk_directions"), rounds=1, seed=seed)
        margin = theory.eq13_margin(c.mu0, c.gamma, c.lipschitz, c.loss0)
        sampled.append({"N": N, "d": d, "b": b, "T": T, "depth": depth,
                        "first_width": THM43_WIDTH if depth > 2 else None, "width": THM43_WIDTH, "e": 100.0,
                        "seed": seed, "mu0": c.mu0, "gamma": c.gamma,
                        "lipschitz": c.lipschitz, "loss0": c.loss0,
                        "relative_loss0": c.loss0 / (0.5 * float((qp.Y * qp.Y).sum())),
                        "margin_over_sqrt_mu0": margin / math.sqrt(c.mu0) if c.mu0 > 0 else -math.inf,
                        "eq13_fails_conclusively": margin < 0})
    satisfied = [r for r in certified if r["eq13_holds"]]
    limit = theory.eq13_t1_relative_loss_limit()
    full_rank = [r for r in satisfied if r["N"] * r["d"] <= 2]
    necessary_ok = all(r["relative_loss0"] <= limit for r in full_rank)
    not_refuted = [r for r in sampled if not r["eq13_fails_conclusively"]]
    holds = True if satisfied else None
    numbers = {
        "certified_instances": len(certified), "certified_eq13_holds": len(satisfied),
        "satisfied_shapes": sorted({(r["N"], r["d"], r["b"]) for r in satisfied}),
        "largest_relative_loss0_where_eq13_holds": max((r["relative_loss0"] for r in satisfied), default=math.nan),
        "smallest_relative_loss0_where_eq13_fails_certified": min(
            (r["relative_loss0"] for r in certified if not r["eq13_holds"]), default=math.nan),
        "t1_necessary_relative_loss_limit": limit, "t1_necessary_condition_met_by_every_satisfied_full_rank_instance":
            necessary_ok,
        "sampled_configurations": len(sampled), "sampled_fail_conclusively": len(sampled) - len(not_refuted),
        "sampled_not_refuted": [(r["N"], r["d"], r["b"], r["T"], r["depth"]) for r in not_refuted],
        "sampled_not_refuted_with_T_above_1": sum(r["T"] > 1 for r in not_refuted)}
    if not necessary_ok:
        holds = False  # the derivation's necessary condition is contradicted: a defect to investigate
    return Evidence(
        holds=holds, inconclusive=holds is None, numbers=numbers,
        counterexample=None if holds is not False else {
            "instances": [r for r in full_rank if r["relative_loss0"] > limit], "margin": 0.0,
            "note": "an instance satisfies Eq. 13 but violates the derived necessary condition"},
        tables={"certified": certified, "sampled": sampled},
        notes=(f"Eq. 13 is certified on {len(satisfied)} of {len(certified)} T = 1 instances, shapes (N, d, b) "
               f"{numbers['satisfied_shapes']}, all with 𝓕₀/(½‖Y‖²) ≤ "
               f"{numbers['largest_relative_loss0_where_eq13_holds']:.3g} (one GD step of 0.9999/β nearly solves "
               f"them); {numbers['sampled_fail_conclusively']} of {len(sampled)} sampled configurations fail it "
               "conclusively. derivation §7: at T = 1 it needs 𝓕₀/(½‖Y‖²) ≤ the necessary limit.")
        if satisfied else "no instance of the search satisfies Eq. 13; derivation §7.")
