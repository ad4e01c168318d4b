"""cfgd.l2o.generalizes: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from verify.claims.cfgd._l2o import MODELS, _empirical_verdict, evaluate_all, prefetch
from verify.intervals import seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.l2o.generalizes",
                 "meta-trained on one H-function, L2O-CFGD beats the static baselines on another",
                 "paper", "empirical", "holds", "paper §4.2.1", slow=True, devices=("cpu",),
                 finding="inconclusive at the quick budget over seeds 0–4 (median [95% bootstrap interval]): "
                         "meta-trained on h₂ and tested on h₃, L2O-CFGD's summed loss is 1.02× [0.93, 1.02] the best "
                         "NA-CFGD and 1.01× [0.94, 1.03] the best AT-CFGD (0.81× [0.77, 0.85] the black-box LSTM); "
                         "with the authors' layer-wise look-ahead step rule ours reaches 0.58× [0.49, 0.69] and the "
                         "authors' own code 0.53× [0.45, 0.97] (1–50–1 MLP, benchmarks/cfgd_authors_side_by_side.md). "
                         "Paper scale, seed 0 only (1200 meta-training runs, 10 test problems, reports/full-cfgd): "
                         "1.88× / 1.85×, 3.92× the black-box LSTM",
                 scales={"validation_problems": (1, 5), "test_problems": (3, 10)},
                 unbatched="each instance is a meta-training of an LSTM optimizer (minutes) plus grid searches of "
                 "the static baselines, not a batchable formula; the seeds are already enumerated")


@check(SPEC.id)
def generalizes(ctx: Context) -> Evidence:
    """Paper §4.2.1: L2O-CFGD meta-trained on h₂ beats the best static NA-/AT-CFGD grid-searched on h₃ itself,
    on held-out h₃ problems (mean summed loss). Scale, seeds and decision rule as in cfgd.l2o.beats-static
    (two ratios: NA and AT)."""
    seeds = seeds_for(ctx.budget, ctx.seed)
    prefetch(ctx, [m for m in MODELS if m[0] == "h2"], [("h2", "h3")])
    return _empirical_verdict({"h2->h3": evaluate_all(ctx, "h2", "h3")}, "transfer h2 → h3", seeds)
