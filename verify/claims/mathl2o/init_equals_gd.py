"""mathl2o.init.equals-gd: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from verify.claims.mathl2o._shared import _build, _configs, init_counterexample, init_sweeps
from verify.margins.mathl2o import as_tensors, gd_gap_margins, init_model, init_qp
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import summarize

SPEC = ClaimSpec("mathl2o.init.equals-gd",
                 "with W_L = 0 the unrolled trajectory equals GD with step 1/β (to round-off)",
                 "paper", "property+sweep", "holds", "paper §5",
                 scales={"sweep_instances": (10000, 1000000)})


def _gd_gap_sweep(ctx: Context) -> dict:
    """gd_gap_margins (verify.margins.mathl2o) on ctx.scale("sweep_instances") random instances (verify.sweep), a
    third at each of INIT_SHAPES, every instance with its own model (verify.margins.mathl2o.draw_init: e ∈ [1, 100],
    W_L the implementation's zero), the worst of each re-checked one instance at a time in float64 on the CPU."""
    def cases(label, width, depth, T):
        def margin(batch):
            return gd_gap_margins(init_model(batch, width, depth), init_qp(batch), T)

        def recheck(instance):
            one = as_tensors(instance)
            return float(gd_gap_margins(init_model(one, width, depth), init_qp(one), T)[0])

        return margin, recheck

    return init_sweeps(ctx, "gd-gap", cases)


@check(SPEC.id)
def init_equals_gd(ctx: Context) -> Evidence:
    """With W_L = 0, P ≡ 2σ(0) = 1, so the unrolled model IS gradient descent with step 0.9999/β_i (paper §5).

    Property (hypothesis over N ≤ 3, d ≤ 6, b ≤ d, width ≤ 12, T ≤ 8, e ∈ [1, 100], depth 2–4, signed or
    non-negative inner layers): |f_i(X_t) − f_i^GD(X_t)| ≤ tol·f_i(X₀) for every instance i and step t, against
    an independent numpy GD. Tolerance: both compute the same T steps of d- and b-term dot products, so the
    relative gap is ≤ γ_{b+d} per step, compounded over T steps: tol = 4·T·(b+d)·eps (β from two SVD codes adds
    ≤ 10·eps). Plus one instance at the Fig. 5 scale (N = d = 32, b = 25, T = 20, width 1024, e = 100).
    Sweep: the same margin on 10⁴ (quick) / 10⁶ (full) random instances in batches, each a QP instance (QP.random's
    distribution) with its own deterministically initialised model (inner layers e·Q, Q orthogonal, |Q| for half
    of them, e log-uniform on [1, 100], W_L the implementation's zero), a third each at (d, b, width, depth, T) =
    (3, 2, 4, 2, 5), (6, 4, 12, 3, 8), (8, 6, 16, 4, 12); the worst of each re-checked in float64 on the CPU."""

    def margin(cfg) -> float:
        model, qp = _build(cfg, ctx.like)
        return float(gd_gap_margins(model, qp, cfg["T"]).max())

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_gd_gap_sweep(ctx))
    holds = not result.found and fig5_margin <= 0 and sweep_violations == 0
    counterexample = init_counterexample(holds, sweep_counterexample, result, fig5, fig5_margin)
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_minus_tol": result.worst_margin_seen,
                 "fig5_scale_margin_minus_tol": fig5_margin, **sweep_numbers},
        counterexample=counterexample, tables={"sweep": sweep_table},
        notes="margins are max_i max_t |f_i(X_t) − f_i^GD(X_t)|/f_i(X₀) − tol; ≤ 0 means equal to round-off.")
