"""Checks for THEORY.md §2: BFGS with coordinate-wise step sizes (CWSS) and its L2O model.

Which versions of "P ∈ [0, 2] ensures stability" hold (table in bfgs.cwss.interval-not-sufficient):
descent for a general SPD H fails (D0); contraction with the exact inverse Hessian holds (D4); descent
under δ < 1/κ(H) (D1) and under the sharper δ < 1/√κ(H) (derived here) holds; ρ(I − PHA) < 1 for every
P ∈ (0, 2)^d with H ≠ A⁻¹ fails (spectral-stability measures the largest safe δ).
Round-off tolerances use the standard dot-product bound |fl(xᵀy) − xᵀy| ≤ γ_n|x|ᵀ|y|, γ_n ≈ n·eps.

Helpers shared by several of the claims of this package."""

from __future__ import annotations

import math

from implementations.bfgs.experiments import FULL, QUICK, TaskResult, l2o_seed_study, method_summary
from verify.cache import cached_result
from verify.intervals import interval_verdict, seed_interval, seeds_for
from verify.registry import Context


def _study(ctx: Context):
    """(scale, seeds, {seed: {task: result}}) of the budget at ``seeds_for(budget, seed)``: computed once per
    (budget, seed) and shared through the run's cache folder by the three claims that read it."""
    scale = QUICK if ctx.quick else FULL
    seeds = seeds_for(ctx.budget, ctx.seed)
    name = f"bfgs-l2o-study-{ctx.budget}-seed{ctx.seed}-seeds{len(seeds)}"
    study = cached_result(
        ctx, name, lambda: l2o_seed_study(scale, tuple(seeds)),
        encode=lambda data: {str(s): {task: r.to_plain() for task, r in tasks.items()} for s, tasks in data.items()},
        decode=lambda data: {int(s): {task: TaskResult.from_plain(d) for task, d in tasks.items()}
                             for s, tasks in data.items()})
    return scale, seeds, study



def _summaries(scale, seeds, study) -> dict[str, list[dict]]:
    """task → [method_summary of each seed], in the order of ``seeds``."""
    return {task: [method_summary(study[seed][task], scale) for seed in seeds] for task in study[seeds[0]]}


def _ratio_interval(summaries: list[dict], numerator: str, denominator: str, key: str = "iterations") -> dict:
    """seed_interval over seeds of summary[numerator][key] / summary[denominator][key] (iterations: the
    denominator at least 1; seconds: NaN, counted as +inf by seed_interval, where either never reached)."""
    values = []
    for summary in summaries:
        top, bottom = summary[numerator][key], summary[denominator][key]
        values.append(top / max(bottom, 1) if key == "iterations" else top / bottom if bottom > 0 else math.nan)
    return seed_interval(values)


def _is_interval(value) -> bool:
    return isinstance(value, dict) and {"median", "low", "high", "values"} <= set(value)


def _readable(rows: list[dict], with_seeds: tuple[str, ...] = ()) -> list[dict]:
    """Table rows with every seed interval written "median [low, high]" (3 digits); the columns ``with_seeds``
    also get their per-seed values (column ``<name>_per_seed``), so a reader can re-check an interval."""
    def text(v: float) -> str:
        return f"{v:.3g}" if math.isfinite(v) else str(v)

    out = []
    for row in rows:
        new = {}
        for key, value in row.items():
            if _is_interval(value):
                new[key] = f"{text(value['median'])} [{text(value['low'])}, {text(value['high'])}]"
                if key in with_seeds:
                    new[f"{key}_per_seed"] = [round(v, 3) if math.isfinite(v) else v for v in value["values"]]
            else:
                new[key] = value
        out.append(new)
    return out


def _side_of_4(interval: dict) -> str:
    """Where a ratio's interval lies against the paper's 4× (interval_verdict with "below")."""
    verdict = interval_verdict(interval, 4.0, "below")
    return {True: "below 4", None: "straddles 4", False: "at or above 4"}[verdict]
