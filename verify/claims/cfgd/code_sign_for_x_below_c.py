"""cfgd.code.sign-for-x-below-c: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math
from functools import partial

import mpmath as mp
import torch

from implementations.cfgd.caputo import authors_caputo_direction, caputo_gradient
from theory.cfgd import scaled_caputo_mp
from verify.claims.cfgd._l2o import EPS
from verify.margins.cfgd import caputo_form_margin, caputo_form_terms
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.code.sign-for-x-below-c",
                 "the authors' general CFGD (nodes placed with |x−c|, β term times |x−c| and a non-negative "
                 "curvature estimate) differs from §1.2 for x_j < c_j",
                 "code+derived", "oracle+sweep", "measure", "THEORY.md §1.3; authors' code",
                 scales={"sweep_instances": (10000, 1000000)})

#: The authors' direction with the exact curvature |∂²_jj f| (deterministic; their probes estimate it)
AUTHORS = partial(authors_caputo_direction, hessian="exact")


def _draw_quadratics(like: dict):
    """One-dimensional quadratics f(τ) = a₀ + a₁(τ−c) + a₂(τ−c)² with a_k ~ U[−2, 2] (convex and concave), α ~
    U[0.02, 0.98], β ~ U[−2, 2], c ~ U[−2, 2], x = c ± h (each side with probability ½), h ~ U[0.1, 3]."""
    def draw(n: int, generator) -> dict:
        def uniform(low: float, high: float, *shape: int):
            return low + (high - low) * torch.rand(n, *shape, generator=generator, **like)
        c, side = uniform(-2, 2), torch.where(torch.rand(n, generator=generator, **like) < 0.5, -1.0, 1.0)
        return {"coefficients": uniform(-2, 2, 3), "alpha": uniform(0.02, 0.98), "beta": uniform(-2, 2), "c": c,
                "x": c + side * uniform(0.1, 3)}
    return draw


def _authors_must_agree(x, c, curvature):
    """Where the authors' direction must equal §1.2: x > c and f'' = 2a₂ ≥ 0 (their |x−c| and |∂²f| are then
    x − c and ∂²f); numbers or tensors."""
    return (x > c) & (curvature >= 0)


def _sign_margins(batch: dict, tally: dict) -> torch.Tensor:
    """Per instance: ours (caputo_gradient, 1 node) off the closed form over the bound of caputo_form_terms, and
    where :func:`_authors_must_agree` the authors' too; the larger ratio − 1. ``tally`` counts the x < c instances
    and those where the authors' direction is off by more than the bound (the measured discrepancy)."""
    ours, closed, tol = caputo_form_terms(batch, 1)
    authors, _, _ = caputo_form_terms(batch, 1, AUTHORS)
    authors_ratio = (authors - closed).abs() / tol
    below = batch["x"] < batch["c"]
    tally["x<c"] = tally.get("x<c", 0) + int(below.sum())
    tally["authors off"] = tally.get("authors off", 0) + int((below & (authors_ratio > 1)).sum())
    agree = _authors_must_agree(batch["x"], batch["c"], batch["coefficients"][:, 2])
    required = torch.where(agree, authors_ratio, torch.zeros_like(authors_ratio))
    return torch.maximum((ours - closed).abs() / tol, required) - 1


def _sign_recheck(instance: dict) -> float:
    """The worst instance against the mpmath definition in float64 on the CPU (caputo_form_margin): ours, and the
    authors' where they must agree."""
    margin = caputo_form_margin(instance, 1)
    if _authors_must_agree(instance["x"], instance["c"], instance["coefficients"][2]):
        margin = max(margin, caputo_form_margin(instance, 1, AUTHORS))
    return margin


def _sign_sweep(ctx: Context, tally: dict) -> dict:
    """:func:`_sign_margins` on ctx.scale("sweep_instances") random one-dimensional quadratics (the instances as the
    coordinates of one separable objective)."""
    return {"both sides": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_quadratics(DRAW_LIKE),
                                        partial(_sign_margins, tally=tally), recheck=_sign_recheck,
                                        stream="sign-sweep")}


@check(SPEC.id)
def sign_for_x_below_c(ctx: Context) -> Evidence:
    """Code vs derived, on f(x) = ½ a x² + b x (1-D): §1.2 (s = 1) gives a(c + (x−c)/(2−α)) + b + β(x−c)a;
    the code's direction places the node at c + |x−c|/(2−α) and uses β|x−c||a|:
      authors = a(c + |x−c|/(2−α)) + b + β|x−c||a|.
    For x > c (and a > 0) both agree; for x < c they differ by a(2c−2τ) + 2β|x−c|a. Both are compared with the
    mpmath oracle (D^α f + β|x−c| D^(1+α) f)/D^α I (theory.cfgd.scaled_caputo_mp, 30 digits). Our value must
    match the oracle to 1e3·eps·scale (quadrature exact for the degree-1 integrand; scale = the sum of the
    terms' magnitudes), else the check is refuted; the authors' discrepancy is measured. A non-polynomial
    case (f = e^x, s = 12 nodes) checks ours for x < c against the oracle too (tolerance 1e-12·scale: the
    12-node rule's error for e^(τ(u)) with |x−c| ≤ 2 is below (|x−c|/2)^24 e^x/24! ≈ 1e-23·e^x).
    Sweep: on 10⁴ (quick) / 10⁶ (full) random one-dimensional quadratics (coefficients in [−2, 2], α ∈ [0.02,
    0.98], β ∈ [−2, 2], c ∈ [−2, 2], x = c ± h, h ∈ [0.1, 3]) ours (caputo_gradient, 1 node) must match the
    definition's closed value on both sides of c, and the authors' direction (exact |∂²f|) must match it for
    x > c with f'' ≥ 0, within the derived bound of verify.margins.cfgd.caputo_form_terms (else refuted); the
    fraction of x < c instances where the authors' direction is off by more than the bound is measured. The
    worst instance is re-checked against the mpmath definition."""
    cases = [dict(a=2.0, b=-1.0, x=-1.0, c=1.0, alpha=0.5, beta=0.3),
             dict(a=2.0, b=-1.0, x=0.2, c=1.5, alpha=0.8, beta=-1.0),
             dict(a=2.0, b=-1.0, x=2.0, c=1.0, alpha=0.5, beta=0.3)]
    rows, ours_tol_violation = [], None
    with mp.workdps(30):
        for case in cases:
            a, b, x, c, al, be = (case[k] for k in ("a", "b", "x", "c", "alpha", "beta"))
            def f(v, a=a, b=b):
                return 0.5 * a * v * v + b * v

            xt = ctx.tensor([x])
            ours = caputo_gradient(f, xt, al, be, c).item()
            authors = authors_caputo_direction(f, xt, al, be, c, probes=3, generator=ctx.torch_generator()).item()
            oracle = float(scaled_caputo_mp(lambda t, a=a, b=b: a * t + b, lambda t, a=a: mp.mpf(a), x, c, al, be))
            scale = abs(a) * (abs(x) + abs(c)) + abs(b) + abs(be * a * (x - c))
            tol = 1e3 * EPS * scale
            rows.append({**case, "ours": ours, "authors": authors, "oracle": oracle, "ours_error": abs(ours - oracle),
                         "authors_minus_oracle": authors - oracle, "tolerance": tol})
            if abs(ours - oracle) > tol and ours_tol_violation is None:
                ours_tol_violation = rows[-1]
        x, c, al, be = -0.8, 1.0, 0.6, 0.5
        ours_exp = caputo_gradient(torch.exp, ctx.tensor([x]), al, be, c, nodes=12).item()
        oracle_exp = float(scaled_caputo_mp(mp.exp, mp.exp, x, c, al, be))
        authors_exp = authors_caputo_direction(torch.exp, ctx.tensor([x]), al, be, c,
                                               nodes=12, hessian="exact").item()
    exp_tol = 1e-12 * (math.exp(c) * (1 + abs(be) * abs(x - c)))
    rows.append({"f": "exp", "x": x, "c": c, "alpha": al, "beta": be, "nodes": 12, "ours": ours_exp,
                 "authors": authors_exp, "oracle": oracle_exp, "ours_error": abs(ours_exp - oracle_exp),
                 "authors_minus_oracle": authors_exp - oracle_exp, "tolerance": exp_tol})
    if abs(ours_exp - oracle_exp) > exp_tol and ours_tol_violation is None:
        ours_tol_violation = rows[-1]
    tally = {}
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_sign_sweep(ctx, tally))
    first = rows[0]
    numbers = {"x<c: ours": first["ours"], "x<c: authors": first["authors"], "x<c: oracle": first["oracle"],
               "x>c: ours": rows[2]["ours"], "x>c: authors": rows[2]["authors"], "x>c: oracle": rows[2]["oracle"],
               "exp x<c: ours": ours_exp, "exp x<c: authors": authors_exp, "exp x<c: oracle": oracle_exp,
               "sweep: x<c instances": tally["x<c"],
               "sweep: x<c instances where the authors' direction is off": tally["authors off"],
               **sweep_numbers}
    if sweep_violations:
        return Evidence(holds=False, numbers=numbers, tables={"cases": rows, "sweep": sweep_table},
                        counterexample=sweep_counterexample,
                        notes="our quadrature form (or the authors' for x > c) disagrees with the definition on a "
                              "swept instance")
    if ours_tol_violation is not None:
        return Evidence(holds=False, numbers=numbers, tables={"cases": rows, "sweep": sweep_table},
                        counterexample={**ours_tol_violation,
                                        "margin": ours_tol_violation["ours_error"] - ours_tol_violation["tolerance"]},
                        notes="our quadrature form disagrees with the mpmath oracle")
    return Evidence(holds=None, numbers=numbers, tables={"cases": rows, "sweep": sweep_table},
                    notes="ours matches the oracle on both sides of c; the authors' direction matches it only for "
                          "x > c: for x < c their node is reflected to the far side of c and the β-term sign is "
                          "flipped (|x−c| instead of x−c).")
