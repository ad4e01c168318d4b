"""mathl2o.ntk.width: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.mathl2o import MathL2O, alpha0, jacobian, step_features
from verify.claims.mathl2o._shared import SMALL, _small_qp
from verify.figures import figure_path, pyplot, save
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.ntk.width",
                 "λ_min of the empirical NTK and α₀ as the width grows through N·d",
                 "paper", "sweep", "measure", "paper §4",
                 scales={"widths": ([2, 4, 8, 16, 32, 64], [2, 4, 8, 16, 32, 64, 128, 256])},
                 unbatched="a measurement with no condition to violate: the NTK spectrum and α₀ at each width of an "
                           "enumerated grid (one full Jacobian of the unrolled network per width)")


@check(SPEC.id)
def ntk_width(ctx: Context) -> Evidence:
    """λ_min of the empirical NTK J Jᵀ (all weights, at θ₀; torch.func) and α₀ as the width H grows through
    N·d (paper §4: width O(N·d) suffices), on N = 2, d = 4, b = 3, T = 3 (N·d = 8, N·b = 6), depth 3 and 2,
    e = 1; H ∈ {2, 4, 8, 16, 32, 64} (quick). The rank of the step-T and all-steps feature matrices is
    recorded: with the code's 2-unit first layer the features have low rank whatever the width."""
    widths = ctx.scale("widths")
    seed = ctx.instance_seed(1)
    qp = _small_qp(seed, ctx.like)
    T = SMALL["T"]
    table = []
    for depth in (3, 2):
        for width in widths:
            model = MathL2O(width, 1.0, depth, seed=seed, **ctx.like)
            K = jacobian(model, qp, T)
            lam = torch.linalg.eigvalsh(K @ K.T)
            G_all = torch.cat([step_features(model, qp, T, step=t) for t in range(1, T + 1)])
            table.append({"depth": depth, "width": width, "lambda_min_ntk": float(lam[0]),
                          "lambda_max_ntk": float(lam[-1]), "alpha0": alpha0(model, qp, T),
                          "feature_rank_all_steps": int(torch.linalg.matrix_rank(G_all)),
                          "ntk_rank": int(torch.linalg.matrix_rank(K @ K.T))})
    figures = []
    path = figure_path(ctx, "mathl2o_ntk_width.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for depth in (3, 2):
            sub = [r for r in table if r["depth"] == depth]
            ax.plot([r["width"] for r in sub], [max(r["lambda_min_ntk"], 1e-30) for r in sub], "o-",
                    label=f"λ_min NTK, depth {depth}")
        ax.axvline(SMALL["N"] * SMALL["d"], color="gray", ls=":", label="N·d")
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("width H"), ax.legend(fontsize=7)
        figures.append(save(fig, path, dpi=120))
    return Evidence(holds=None, numbers={"N*d": SMALL["N"] * SMALL["d"], "N*b": SMALL["N"] * SMALL["b"]},
                    tables={"sweep": table}, figures=figures,
                    notes="λ_min is at round-off level (≈ 0) when the NTK rank is below N·b.")
