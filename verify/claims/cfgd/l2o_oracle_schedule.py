"""cfgd.l2o.oracle-schedule: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np

from implementations.cfgd import authors_code
from implementations.cfgd.oracle import OracleCandidates, greedy_schedule_oracle, least_squares_floor
from implementations.cfgd.training import StaticGrid
from verify.claims.cfgd._l2o import (
    MODELS,
    authors_evaluation,
    evaluate_all,
    experiment_config,
    instances,
    prefetch,
    quick_grid,
)
from verify.intervals import describe_interval, seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.l2o.oracle-schedule",
                 "the greedy per-step (α, β, c) and η over the static grid's values (a model-free reference) against "
                 "the best static NA/AT-CFGD and the learned L2O-CFGD, ours and the authors', on least squares and h₂",
                 "derived", "empirical", "measure", "paper §4 (a reference for its learned schedules)", slow=True,
                 devices=("cpu",),
                 scales={"validation_problems": (1, 5), "test_problems": (3, 10)},
                 unbatched="each instance is a greedy per-step search over the static grid on a test problem, "
                 "compared with meta-trained LSTMs (minutes each); the test problems and seeds are already "
                 "enumerated")


def evaluate_task(ctx: Context, train_task: str, test_task: str, seed: int) -> dict:
    """evaluate_all's result at one of the seeds_for(ctx.budget, ctx.seed)."""
    return evaluate_all(ctx, train_task, test_task)[seed]


def oracle_candidates(ctx: Context) -> OracleCandidates:
    """The static grid's values as per-step candidates (quick_grid at the quick budget, StaticGrid() at full)."""
    grid = quick_grid() if ctx.quick else StaticGrid()
    return OracleCandidates(grid.alphas, grid.betas, grid.terminals, grid.histories)


@check(SPEC.id)
def oracle_schedule(ctx: Context) -> Evidence:
    """What a learned schedule of (α, β, c) could gain, model-free (implementations.cfgd.oracle): at every step
    the greedy oracle takes, among the static grid's values (NA-type constant c, AT-type c = x^(t−L)), the
    candidate with the lowest next loss, η from the task's step rule (exact line search: the exact look-ahead
    over η on least squares; the look-ahead grid on h₂). Per seed (seeds_for), on the test problems of
    cfgd.l2o.beats-static (least squares: all; h₂: the first, for time): ratios of summed losses
    oracle / best static (the lower of NA and AT), L2O-CFGD / oracle, and, when the authors' code is prepared
    (cfgd.l2o.authors-code), their L2O-CFGD / oracle on least squares; and on least squares the floor
    f(x⁰) + T·f* that any rule with per-coordinate terminals reaches (oracle.least_squares_floor). Medians
    with 95% bootstrap intervals over seeds; a measurement (greedy is a reference, not an upper bound)."""
    seeds = seeds_for(ctx.budget, ctx.seed)
    prefetch(ctx, MODELS, [("least-squares", "least-squares"), ("h2", "h2")])
    numbers: dict = {"seeds": seeds}
    candidates = oracle_candidates(ctx)
    theirs_available = authors_code.find_copy() is not None
    for task_name, count in (("least-squares", None), ("h2", 1)):
        per_seed: dict[int, dict] = {}
        for seed in seeds:
            evaluation = evaluate_task(ctx, task_name, task_name, seed)
            task = experiment_config(ctx, task_name, "cfgd", seed).task
            _, tests = instances(ctx, task, seed)
            tests = tests[:count] if count else tests
            oracle = [greedy_schedule_oracle(f, x0, task.iterations, task.step_size(), candidates) for f, x0 in tests]
            oracle_sum = float(np.mean([run.summed_loss for run in oracle]))

            def mean(name, evaluation=evaluation, tests=tests):
                return float(np.mean(evaluation["per_problem"][name][:len(tests)]))

            static = min(mean("na_cfgd"), mean("at_cfgd"))
            row = {"oracle": oracle_sum, "best_static": static, "l2o_cfgd": mean("l2o_cfgd"),
                   "oracle/best_static": oracle_sum / static, "l2o/oracle": mean("l2o_cfgd") / oracle_sum,
                   "oracle_choices_first_steps": oracle[0].choices[:5]}
            if task_name == "least-squares":
                floor = float(np.mean([least_squares_floor(f, x0, task.iterations) for f, x0 in tests]))
                row.update({"floor f(x0)+T f*": floor, "oracle/floor": oracle_sum / floor,
                            "l2o/floor": mean("l2o_cfgd") / floor})
                if theirs_available and ctx.quick:  # at the full budget their sizes differ (authors_scale)
                    theirs = authors_evaluation(ctx, seed)["zeros"]["per_problem"]["theirs_l2o"]
                    row["their_l2o/oracle"] = float(np.mean(theirs[:len(tests)])) / oracle_sum
            per_seed[seed] = row
        numbers[f"{task_name}: per seed"] = per_seed
        for key in ("oracle/best_static", "l2o/oracle", "oracle/floor", "l2o/floor", "their_l2o/oracle"):
            values = [row[key] for row in per_seed.values() if key in row]
            if len(values) == len(seeds):
                numbers[f"{task_name}: {key}"] = seed_interval(values)
    described = "; ".join(f"{k} {describe_interval(v)}" for k, v in numbers.items() if isinstance(v, dict)
                          and "median" in v)
    notes = f"greedy per-step oracle over the static grid's values: {described}"
    if not theirs_available:
        notes += f". The authors' L2O-CFGD is not included: no prepared copy (run {authors_code.PREPARE})"
    return Evidence(holds=None, numbers=numbers, notes=notes)
