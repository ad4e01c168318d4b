"""mathl2o.init.inner-grad-zero: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from verify.claims.mathl2o._shared import _build, _configs, init_counterexample, init_sweeps
from verify.margins.mathl2o import as_tensors, init_model, init_qp, inner_gradients
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import summarize

SPEC = ClaimSpec("mathl2o.init.inner-grad-zero",
                 "at initialisation the gradient of 𝓕 w.r.t. every inner layer is zero",
                 "derived", "property+sweep", "holds", "THEORY.md §3.1",
                 scales={"sweep_instances": (10000, 1000000)})


def _inner_gradient_sweep(ctx: Context) -> tuple[dict, dict]:
    """max_l<L max|∂f_i/∂W_l[i]| (verify.margins.mathl2o.inner_gradients; positive: violated; tolerance 0) on
    ctx.scale("sweep_instances") random instances (verify.sweep), a third at each of INIT_SHAPES, every instance with
    its own model (verify.margins.mathl2o.draw_init); the worst of each re-checked one instance at a time in float64
    on the CPU. Also returns, per shape, how many instances have a non-zero last-layer gradient (non-vacuity)."""
    nonzero = {}

    def cases(label, width, depth, T):
        nonzero[label] = 0

        def margin(batch):
            inner, last = inner_gradients(init_model(batch, width, depth), init_qp(batch), T)
            nonzero[label] += int(last.sum())
            return inner

        def recheck(instance):
            one = as_tensors(instance)
            return float(inner_gradients(init_model(one, width, depth), init_qp(one), T)[0])

        return margin, recheck

    return init_sweeps(ctx, "inner-grad", cases), nonzero


@check(SPEC.id)
def init_inner_grad_zero(ctx: Context) -> Evidence:
    """At the deterministic initialisation ∂𝓕/∂W_l = 0 for every inner layer l < L (derived): every path from
    W_l to the output passes through W_L = 0, so the chain rule multiplies by an exact floating-point 0.
    Property over the same small configurations as init.equals-gd plus the Fig. 5 scale; tolerance 0
    (exact). Non-vacuity: the last layer's gradient must be non-zero on at least half of the examples (it
    vanishes legitimately when every step-t feature row is 0, e.g. width 1, or when GD reaches an exact 0
    residual), and on at least half of each sweep's instances. Sweep: the same gradients (tolerance 0) on 10⁴
    (quick) / 10⁶ (full) random instances in batches, each a QP instance (QP.random's distribution) with its own
    deterministically initialised model (inner layers e·Q, Q orthogonal, |Q| for half of them, e log-uniform on
    [1, 100], W_L the implementation's zero), a third each at (d, b, width, depth, T) = (3, 2, 4, 2, 5),
    (6, 4, 12, 3, 8), (8, 6, 16, 4, 12); the worst of each re-checked
    in float64 on the CPU."""
    last_layer = {"nonzero": 0, "examples": 0}

    def margin(cfg) -> float:
        model, qp = _build(cfg, ctx.like)
        inner, last = inner_gradients(model, qp, cfg["T"])
        last_layer["examples"] += 1
        last_layer["nonzero"] += int(last)
        return float(inner)

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    sweeps, sweep_nonzero = _inner_gradient_sweep(ctx)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(sweeps)
    for row in sweep_table:
        row["instances_with_nonzero_last_layer_gradient"] = sweep_nonzero[row["sweep"]]
    nonvacuous = (last_layer["nonzero"] >= last_layer["examples"] // 2
                  and all(2 * sweep_nonzero[label] >= sweep.count for label, sweep in sweeps.items()))
    holds = not result.found and fig5_margin <= 0 and nonvacuous and sweep_violations == 0
    counterexample = init_counterexample(holds, sweep_counterexample, result, fig5, fig5_margin)
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "max_inner_gradient_seen": result.worst_margin_seen,
                 "fig5_max_inner_gradient": fig5_margin,
                 "examples_with_nonzero_last_layer_gradient": last_layer["nonzero"],
                 "examples_evaluated": last_layer["examples"],
                 "sweep_instances_with_nonzero_last_layer_gradient": sum(sweep_nonzero.values()), **sweep_numbers},
        counterexample=counterexample, tables={"sweep": sweep_table},
        notes="the last-layer gradient is non-zero (so the check is not vacuous) while every inner gradient "
              "is exactly 0.")
