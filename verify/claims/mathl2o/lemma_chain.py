"""mathl2o.lemma.chain: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import torch

from implementations.mathl2o import MathL2O, jacobian, train
from implementations.mathl2o.constants import flat_parameters
from theory import mathl2o as theory
from verify.claims.mathl2o._shared import SMALL, _constants, _small_qp
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.lemma.chain",
                 "each inequality of the reconstructed proof (gradient bound, semi-smoothness, PL-type bound) holds "
                 "at the iterates of real training runs",
                 "reconstructed", "property", "holds", "paper Lemmas 4.1/4.2",
                 scales={"iters": (25, 100)},
                 unbatched="its instances are the iterates of one SGD training per depth, each link needing the "
                           "network's full Jacobian (torch.func) at that iterate; every iterate is already checked")


@check(SPEC.id)
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
    iters = ctx.scale("iters")
    seed = ctx.instance_seed(1)
    tol = 1e-9
    rows, worst = [], {}
    for depth in (2, 3):
        c = _constants(ctx, depth, 10.0, seed)
        eta = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
        qp = _small_qp(seed, ctx.like)
        model = MathL2O(SMALL["width"], 10.0, depth, seed=seed, **ctx.like)
        theta0 = flat_parameters(model)
        J0 = jacobian(model, qp, SMALL["T"])
        records = []

        def inspect(k, m, loss, grads, qp=qp, records=records, theta0=theta0, J0=J0):
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
                "L4.2": (next_loss - (F - eta * g2 + 0.5 * eta ** 2
                                      * theory.smoothness_constant(c.gamma, c.lipschitz, F) * g2)) / max(F, 1e-300),
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
                     "diverged_at": history.diverged_at,
                     "max_dist_over_sampled_R": max(r["dist"] for r in records) / c.sampled_radius})
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
