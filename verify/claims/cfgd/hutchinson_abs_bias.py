"""cfgd.hutchinson.abs-bias: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import itertools
import math

import torch

from implementations.cfgd.caputo import coordinate_derivatives
from verify.claims.cfgd._l2o import EPS
from verify.margins.cfgd import abs_hutchinson_generic_estimate, abs_hutchinson_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.hutchinson.abs-bias",
                 "the code's |v⊙Hv| variant estimates E|·| ≥ |H_jj|, biased when H has off-diagonal mass",
                 "code", "sweep", "measure", "THEORY.md §1.3; authors' code",
                 scales={"count": (2000, 50000), "sweep_instances": (10000, 1000000)})

#: The dimension of the measurement and of the sweep
DIM = 6


def sign_patterns(dim: int, dtype: torch.dtype = torch.float64,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """All 2^dim Rademacher vectors (rows), in ``dtype`` on ``device`` (default float64 on the CPU)."""
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=dim)), dtype=dtype, device=device)


def _draw_symmetric(like: dict):
    """Symmetric DIM×DIM matrices (G + Gᵀ)/2, G with N(0, 1) entries (the measurement's distribution)."""
    def draw(n: int, generator) -> dict:
        G = torch.randn(n, DIM, DIM, generator=generator, **like)
        return {"H": (G + G.mT) / 2}
    return draw


def _abs_sweep(ctx: Context) -> dict:
    """abs_hutchinson_margins (the implementation's |v⊙Hv| estimate over all 2^d patterns on a block objective,
    against the enumeration and Jensen's inequality) on ctx.scale("sweep_instances") random matrices; the worst
    re-checked with the implementation's generic (jvp) route on that matrix alone, in float64 on the CPU."""
    host = {"dtype": torch.float64, "device": "cpu"}
    return {f"d={DIM}": batched_sweep(
        ctx, ctx.scale("sweep_instances"), _draw_symmetric(DRAW_LIKE), lambda batch: abs_hutchinson_margins(batch["H"]),
        recheck=lambda i: float(abs_hutchinson_margins(torch.tensor([i["H"]], **host),
                                                   abs_hutchinson_generic_estimate)),
        stream="abs-bias-sweep")}


@check(SPEC.id)
def hutchinson_abs_bias(ctx: Context) -> Evidence:
    """Code: Ĥ_jj = (1/K) Σ_k |v_kj (H v_k)_j| (fl2o/optimizer.py). Since (v⊙Hv)_j = H_jj + Σ_{k≠j} H_jk v_j v_k,
    E|·| ≥ |E(·)| = |H_jj| (Jensen), with equality iff the off-diagonal sum never flips the sign; the bias is
    E|·| − |H_jj|, independent of K. Measured exactly (expectation by enumerating all 2^d sign patterns,
    no sampling error) on random symmetric H (d = 6) whose off-diagonal mass ρ_j = ‖H_j,−j‖/|H_jj| is swept;
    the implementation's "hutchinson-abs" path with all 2^d patterns as probes must reproduce the enumerated
    expectation (tolerance 1e3·eps·Σ|H|: a sum of 2^d products of magnitude ≤ Σ|H|).
    Sweep: on 10⁴ (quick) / 10⁶ (full) random symmetric H (d = 6, (G + Gᵀ)/2 with Gaussian G) the implementation's
    estimate with all 2^d patterns (its closed-form route on a block objective of the batch) must equal the
    enumerated E|v⊙Hv| and satisfy Jensen's E|·| ≥ |H_jj| (verify.margins.cfgd.abs_hutchinson_margins, the
    tolerances above); the worst re-checked with the generic route on that matrix alone. A violation refutes the
    measurement (the estimate or Jensen's inequality failed)."""
    dim = DIM
    count = ctx.scale("count")
    gen = ctx.torch_generator()
    patterns = sign_patterns(dim, **ctx.like)
    sym = ctx.randn(count, dim, dim, generator=gen)
    sym = (sym + sym.transpose(-1, -2)) / 2
    diag = torch.diagonal(sym, dim1=-2, dim2=-1)
    products = patterns[None, :, :] * torch.einsum("nij,pj->npi", sym, patterns)  # (count, 2^d, d)
    expected_abs = products.abs().mean(1)
    expected = products.mean(1)
    off_mass = torch.sqrt((sym ** 2).sum(-1) - diag ** 2) / diag.abs()
    ratio = expected_abs / diag.abs()
    unbiased_error = (expected - diag).abs().max().item()
    jensen_margin = (diag.abs() - expected_abs).max().item()
    # the implementation on one instance, all patterns as probes
    H = sym[0]
    impl = coordinate_derivatives(lambda x: 0.5 * x @ H @ x, torch.zeros(dim, **ctx.like),
                                  torch.arange(dim, device=ctx.torch_device), torch.zeros(dim, **ctx.like),
                                  "hutchinson-abs", patterns)[1]
    impl_error = (impl - expected_abs[0]).abs().max().item()
    impl_tol = 1e3 * EPS * H.abs().sum().item()
    bins = [0, 0.25, 0.5, 1, 2, 4, math.inf]
    table = []
    for low, high in zip(bins[:-1], bins[1:]):
        mask = (off_mass >= low) & (off_mass < high)
        if mask.any():
            table.append({"off_mass_low": low, "off_mass_high": high, "count": int(mask.sum()),
                          "median_ratio": float(ratio[mask].median()), "max_ratio": float(ratio[mask].max())})
    numbers = {"instances": count, "dim": dim, "max_unsigned_estimator_error": unbiased_error,
               "jensen_margin_max(|H_jj| - E|.|)": jensen_margin,
               "median_ratio_E_abs_over_abs_Hjj": float(ratio.median()),
               "implementation_vs_enumeration_error": impl_error, "implementation_tolerance": impl_tol,
               "ratio_at_off_mass_below_0.25": table[0]["median_ratio"] if table else None}
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_abs_sweep(ctx))
    numbers.update(sweep_numbers)
    if sweep_violations:
        return Evidence(holds=False, numbers=numbers, counterexample=sweep_counterexample,
                        tables={"sweep": sweep_table},
                        notes="the implementation's |v⊙Hv| estimate or Jensen's inequality failed on a swept matrix")
    if impl_error > impl_tol or jensen_margin > 1e3 * EPS * sym.abs().amax().item():
        return Evidence(holds=False, numbers=numbers, tables={"sweep": sweep_table},
                        counterexample={"H": H.tolist(), "implementation": impl.tolist(),
                                        "enumerated": expected_abs[0].tolist(), "margin": impl_error - impl_tol},
                        notes="the implementation's |v⊙Hv| estimate or Jensen's inequality failed")
    return Evidence(holds=None, numbers=numbers, tables={"bias_by_off_diagonal_mass": table, "sweep": sweep_table},
                    notes="E|v⊙Hv|_j / |H_jj| grows with the off-diagonal mass ρ_j; ≈1 only for ρ_j ≲ 1 "
                          "(the sign never flips when Σ|H_jk| < |H_jj|).")
