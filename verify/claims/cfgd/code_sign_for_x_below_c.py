"""cfgd.code.sign-for-x-below-c: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import mpmath as mp
import torch

from implementations.cfgd.caputo import authors_caputo_direction, caputo_gradient
from theory.cfgd import scaled_caputo_mp
from verify.claims.cfgd._l2o import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.code.sign-for-x-below-c",
                 "the authors' general CFGD (nodes placed with |x−c|, β term times |x−c| and a non-negative "
                 "curvature estimate) differs from §1.2 for x_j < c_j",
                 "code+derived", "oracle", "measure", "THEORY.md §1.3; authors' code")


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
    12-node rule's error for e^(τ(u)) with |x−c| ≤ 2 is below (|x−c|/2)^24 e^x/24! ≈ 1e-23·e^x)."""
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
    first = rows[0]
    numbers = {"x<c: ours": first["ours"], "x<c: authors": first["authors"], "x<c: oracle": first["oracle"],
               "x>c: ours": rows[2]["ours"], "x>c: authors": rows[2]["authors"], "x>c: oracle": rows[2]["oracle"],
               "exp x<c: ours": ours_exp, "exp x<c: authors": authors_exp, "exp x<c: oracle": oracle_exp}
    if ours_tol_violation is not None:
        return Evidence(holds=False, numbers=numbers, tables={"cases": rows},
                        counterexample={**ours_tol_violation,
                                        "margin": ours_tol_violation["ours_error"] - ours_tol_violation["tolerance"]},
                        notes="our quadrature form disagrees with the mpmath oracle")
    return Evidence(holds=None, numbers=numbers, tables={"cases": rows},
                    notes="ours matches the oracle on both sides of c; the authors' direction matches it only for "
                          "x > c: for x < c their node is reflected to the far side of c and the β-term sign is "
                          "flipped (|x−c| instead of x−c).")
