"""mathl2o.eq14.lr-bound: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from implementations.mathl2o.experiments import ModelSpec, lr_edges, step_size_criteria
from theory import mathl2o as theory
from verify.claims.mathl2o._shared import E_GRID, SMALL, _constants, _small_qp
from verify.figures import figure_path, pyplot, save
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.tightness import edge_tightness

SPEC = ClaimSpec("mathl2o.eq14.lr-bound",
                 "reconstructed Eq. 14 (η bound) vs the η up to which every tried η descends sufficiently / converges",
                 "reconstructed", "tightness", "measure", "paper Eq. 14",
                 scales={"iters": (40, 200), "bisection_steps": (4, 8), "per_decade": (4, 8)},
                 tightness={"η edge, * (depth *, e=*)": ("lower", 0.05)},
                 unbatched="each point is an SGD training of the network at one η (40–200 steps), scanned and "
                           "bisected in η per configuration; the depth × e configurations are enumerated")


@check(SPEC.id)
def eq14_lr_bound(ctx: Context) -> Evidence:
    """Reconstructed Eq. 14 (derivation §4): η ≤ 1/C₀, C₀ = Γ² + Λ√(2𝓕₀), makes every SGD step descend by
    (η/2)‖∇𝓕‖² (Lemma 4.2, while the iterates stay in B). Measured against two edges in η, each the largest
    η found such that 40 (quick) SGD steps pass the criterion at every tried η up to it
    (implementations.mathl2o.experiments):
    "sufficient decrease" (𝓕_{k+1} ≤ 𝓕_k − (η/2)‖∇𝓕_k‖² at every step, up to the round-off 100·T·(b+d)·eps
    relative: what Eq. 14 guarantees) and "convergence" (no non-finite loss, 𝓕_K < 𝓕₀: weaker).
    Searched on [10⁻³, 10⁶] × the Eq. 14 value: a scan of 4 (quick) or 8 (full) η per decade, then bisection
    in log η between the last passing grid η of the leading run and the first failing one (4 halvings
    quick, 8 full: resolved to a factor 10^{1/64} or 10^{1/2048}); each η is trained once for both criteria.
    Convergence is not monotone in η (a run fails at η and converges again above it), so the scans, the
    largest passing grid η and the configurations with such a gap are recorded too; a failing pocket
    between grid points is missed, so each edge is an upper estimate of the η below which every η passes.
    Depth 3 and 2, e ∈ {1, 10, 100}; the Eq. 14 value is recorded as a lower bound of each edge
    (Corollary C.1: both shrink as e grows; Eq. 14 like e^{−2(L−1)}). The grid's η are trained as one stacked
    program (experiments.lr_edges). Near the convergence edge, at η ≳ 10× the Eq. 14 value, the SGD trainings are
    chaotic: at the full budget the stacked and the one-by-one trainings of depth 2, e = 100 at η = 0.060 agree to
    1e-12 for 58 steps, then part (𝓕_K/𝓕₀ = 0.83 vs 7.7), which moves that convergence edge from 15.1× to 17.8×
    the Eq. 14 value; the sufficient-decrease edges, the quick budget's numbers and every tightness label are the
    same in both."""
    iters = ctx.scale("iters")
    seed = ctx.instance_seed(1)
    qp = _small_qp(seed, ctx.like)
    criteria = step_size_criteria(qp, SMALL["T"])
    rows, table, figures = [], [], []
    for depth in (3, 2):
        for e in E_GRID:
            c = _constants(ctx, depth, e, seed)
            bound = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
            edges = lr_edges(ModelSpec(SMALL["width"], e, depth, seed=seed), qp, SMALL["T"], iters, low=bound * 1e-3,
                             high=bound * 1e6, criteria=criteria, steps=ctx.scale("bisection_steps"),
                             per_decade=ctx.scale("per_decade"))
            for criterion, found in edges.items():
                record = edge_tightness(f"η edge, {criterion} (depth {depth}, e={e:g})", bound, found)
                rows.append(record.as_row())
                table.append({"depth": depth, "e": e, "criterion": criterion, "eq14_bound": bound,
                              "edge_lr": found["edge"], "edge_over_bound": record.ratio, "bracket": found["bracket"],
                              "evaluations": found["evaluations"], "largest_passing_grid_lr": found["largest_passing"],
                              "monotone_on_grid": found["monotone"], "scan": found["scan"]})
    path = figure_path(ctx, "mathl2o_eq14_lr.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for depth, marker in ((3, "o"), (2, "s")):
            sub = [r for r in table if r["depth"] == depth and r["criterion"] == "convergence"]
            ax.plot([r["e"] for r in sub], [r["eq14_bound"] for r in sub], marker + "--",
                    label=f"Eq. 14, depth {depth}")
            for criterion, style in (("sufficient decrease", "-"), ("convergence", ":")):
                sub = [r for r in table if r["depth"] == depth and r["criterion"] == criterion]
                ax.plot([r["e"] for r in sub], [r["edge_lr"] for r in sub], marker + style,
                        label=f"η edge, {criterion}, depth {depth}")
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("e"), ax.set_ylabel("η"), ax.legend(fontsize=6)
        figures.append(save(fig, path, dpi=120))
    numbers = {}
    for criterion in criteria:
        key, sub = criterion.replace(" ", "_"), [r for r in table if r["criterion"] == criterion]
        numbers[f"{key}_edge_over_bound_min"] = min(r["edge_over_bound"] for r in sub)
        numbers[f"{key}_edge_over_bound_max"] = max(r["edge_over_bound"] for r in sub)
        numbers[f"{key}_not_monotone_on_grid"] = sum(not r["monotone_on_grid"] for r in sub)
    return Evidence(holds=None, numbers=numbers, tables={"tightness": rows, "lr": table}, figures=figures,
                    notes="ratio = edge / Eq. 14 value (> 1: the bound is conservative, < 1: violated); a ratio of "
                          "10⁶ means every grid η up to the top of the searched range passed. "
                          "'monotone_on_grid' false: some grid η above the first failure passes again.")
