"""cfgd.l2o.authors-code: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np

from implementations.cfgd import authors_code
from verify.claims.cfgd._l2o import authors_evaluation, interval_evidence
from verify.intervals import describe_interval, seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.l2o.authors-code",
                 "the authors' own meta-training code (fl2o) gives an L2O-CFGD that beats the best static NA- and "
                 "AT-CFGD on least squares (and h₂ at the full budget), side by side with ours on the same instances",
                 "paper+code", "empirical", "holds", "paper §4; authors' code", slow=True, devices=("cpu",),
                 finding="refuted at the quick budget (least squares d = m = 20, 50 iterations, 20 meta-training runs, "
                         "seeds 0–4, median [95% bootstrap interval]): the L2O-CFGD of the authors' own meta-training "
                         "reaches 1.45× [1.21, 1.96] our best NA-CFGD and 1.73× [1.42, 2.95] our best AT-CFGD, and "
                         "1.27× [1.05, 1.94] / 1.44× [1.12, 1.84] their own kept static configurations; ours / theirs "
                         "0.95× [0.83, 1.26]. Without a prepared copy of their code the claim is inconclusive",
                 scales={"validation_problems": (1, 5), "test_problems": (3, 10)},
                 unbatched="each instance is a meta-training run of the authors' own code (fl2o, minutes) on the "
                 "enumerated test problems and seeds, not a batchable formula")


@check(SPEC.id)
def authors_code_claim(ctx: Context) -> Evidence:
    """Paper §4 with the authors' own code (github:Johnny1188/fractional-learning-to-optimize, fl2o; a copy
    prepared by benchmarks/prepare_theirs_cfgd.sh, found via $L2O_THEIRS_CFGD or .theirs-cfgd/): their
    meta-training of L2O-CFGD (their least-squares notebook's configuration: CFGD_ClosedForm_v2, x⁰ ~ N(0, I),
    early-stopping selection; at the full budget also h₂ with their general CFGD) beats the best static NA- and
    AT-CFGD. Per seed (seeds_for) at the sizes of authors_scale, on our test problems of
    cfgd.l2o.beats-static from x⁰ = 0 (and from x⁰ ~ N(0, I) at the full budget; both at the quick scale in
    benchmarks/cfgd_authors_side_by_side.md): ratios of their L2O-CFGD's mean summed loss to our
    grid-searched best NA and AT (the verdict), to their own static runs (their kept configurations, x⁰ = 0) and
    ours / theirs (reported), and where each learned terminal c ends. Decision (verify.intervals): holds iff
    every their/our-best interval lies below 1, refuted iff one lies at or above 1, inconclusive otherwise.
    Without a prepared copy: inconclusive, with the command that prepares it."""
    if authors_code.find_copy() is None:
        return Evidence(inconclusive=True, numbers={"authors_code": "absent"},
                        notes=f"the authors' code is not prepared: run {authors_code.PREPARE} (or set "
                              f"{authors_code.ENVIRONMENT} to a prepared copy); nothing was compared")
    seeds = seeds_for(ctx.budget, ctx.seed)
    per_seed = {seed: authors_evaluation(ctx, seed) for seed in seeds}
    numbers: dict = {"seeds": seeds, "authors_commit": per_seed[seeds[0]]["commit"]}
    intervals = {}
    for label in [k for k in per_seed[seeds[0]] if k != "commit"]:
        blocks = {seed: per_seed[seed][label] for seed in seeds}

        def mean(block, name):
            return float(np.mean(block["per_problem"][name]))

        ratios = {"theirs/our_na": [mean(b, "theirs_l2o") / mean(b, "our_na") for b in blocks.values()],
                  "theirs/our_at": [mean(b, "theirs_l2o") / mean(b, "our_at") for b in blocks.values()],
                  "ours/theirs": [mean(b, "ours_l2o") / mean(b, "theirs_l2o") for b in blocks.values()],
                  "ours/our_best_static": [mean(b, "ours_l2o") / min(mean(b, "our_na"), mean(b, "our_at"))
                                           for b in blocks.values()]}
        if "their_na" in blocks[seeds[0]]["per_problem"]:
            ratios["theirs/their_na"] = [mean(b, "theirs_l2o") / mean(b, "their_na") for b in blocks.values()]
            ratios["theirs/their_at"] = [mean(b, "theirs_l2o") / mean(b, "their_at") for b in blocks.values()]
        for name, values in ratios.items():
            numbers[f"{label}: {name}"] = seed_interval(values)
            if name in ("theirs/our_na", "theirs/our_at"):
                intervals[f"{label}: {name}"] = numbers[f"{label}: {name}"]
        numbers[f"{label}: their learned c at the final step (mean over coordinates) per seed"] = {
            seed: [c["mean"] for c in b["their_c_final"]] for seed, b in blocks.items()}
        numbers[f"{label}: our learned c at the final step (mean over coordinates) per seed"] = {
            seed: [c["mean"] for c in b["our_c_final"]] for seed, b in blocks.items()}
        numbers[f"{label}: training"] = blocks[seeds[0]]["training"]
        numbers[f"{label}: per seed"] = {seed: b["per_problem"] for seed, b in blocks.items()}
    holds, wrong = interval_evidence(intervals, "below")
    notes = "their L2O-CFGD / our best static: " + "; ".join(f"{k} {describe_interval(v)}"
                                                             for k, v in intervals.items())
    if holds is False:
        return Evidence(holds=False, numbers=numbers, notes=notes,
                        counterexample={**wrong, "margin": max(w["margin"] for w in wrong.values())})
    return Evidence(holds=holds, numbers=numbers, notes=notes, inconclusive=holds is None)
