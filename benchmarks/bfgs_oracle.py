"""The BFGS oracle step-size rules at the quick scale: iterations to the tolerance against the inner solver, its
iteration cap and the look-ahead horizon, whether the seeds of a batch interact, and what the study costs.

The claim bfgs.l2o.oracle-speedup reads oracles solved by implementations.bfgs.oracle.box_minimise (a batched
spectral projected gradient method, every instance on its own). This script sets beside it the solver tried
first, scipy's L-BFGS-B over the concatenated step sizes of the whole batch (one problem), which couples the
instances through its shared line search and memory. For each convex task of the study, on the 5 seeds' test
instances of the quick scale (implementations.bfgs.experiments.QUICK, seeds 0–4, f* from the Wolfe reference run):
- the median [min, max] over instances of the iterations to (f − f*) ≤ 1e-6 (f₀ − f*) of BFGS + Wolfe, the
  greedy oracle and the look-ahead with horizons 2 and 3, for several inner iteration caps, with the wall time;
- coupling: for seed 1's instances, the look-ahead's iterations in the batch of all 5 seeds and alone;
- the CPU and wall seconds of the quick study per task (run_task_seeds with 5 seeds).
``--full-seed N`` also times one seed of the full-scale study (FULL; tens of minutes on a CPU core).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bfgs_oracle.py [--full-seed 0]; figures: bfgs_oracle.md.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import numpy as np
import torch

from implementations.bfgs import GreedyOracleSteps, LookaheadOracleSteps, bfgs_line_search, cwss_bfgs
from implementations.bfgs.diagnostics import iterations_to_tolerance
from implementations.bfgs.experiments import FULL, QUICK, TASKS, _seed_instances, run_task_seeds, stack_objectives

SEEDS = (0, 1, 2, 3, 4)


def joint_lbfgsb(fun, p0, low, high, gtol=1e-7, max_iterations=200, scales=None, memory=10):
    """scipy's L-BFGS-B on the sum over the batch of φ_b, all step sizes as one vector (the coupled solver),
    with box_minimise's interface and change of variables z = scales·P."""
    from scipy.optimize import minimize

    scales = torch.ones_like(p0) if scales is None else scales
    free = (scales > 0).reshape(-1).numpy()
    scale = np.where(free, scales.reshape(-1).numpy(), 1.0)
    start = p0.reshape(-1).numpy().clip(low, high)
    calls = [0]

    def evaluate(z):
        calls[0] += 1
        p = torch.as_tensor(np.where(free, z / scale, start), dtype=p0.dtype).reshape(p0.shape)
        value, grad = fun(p)
        return float(value.sum()), np.where(free, grad.reshape(-1).numpy() / scale, 0.0)

    bounds = [(low * s, high * s) if f else (0.0, 0.0) for s, f in zip(scale, free)]
    result = minimize(evaluate, np.where(free, start * scale, 0.0), jac=True, method="L-BFGS-B", bounds=bounds,
                      options=dict(ftol=0.0, gtol=gtol, maxiter=max_iterations, maxfun=10 * max_iterations + 20))
    p = torch.as_tensor(np.where(free, result.x / scale, start).clip(low, high), dtype=p0.dtype).reshape(p0.shape)
    return p, dict(evaluations=calls[0], iterations=int(result.nit), instances=int(p0.shape[0]), converged=0,
                   projected_gradient=float("nan"))


def _batch(task: str, seeds=SEEDS):
    test = [pair for seed in seeds for pair in _seed_instances(task, QUICK, seed)[1]]
    objective = stack_objectives([o for o, _ in test])
    x0 = torch.stack([x for _, x in test])
    f_star = np.array([np.nanmin(bfgs_line_search(o, x, 2 * QUICK.iterations, "wolfe", gtol=1e-12)
                                 .values_with_start()) for o, x in test])
    return test, objective, x0, f_star


def _iterations(objective, x0, f_star, policy) -> tuple[np.ndarray, float]:
    f0 = objective.value(x0).detach().numpy()
    target = torch.as_tensor(f_star + QUICK.tol * (f0 - f_star))
    started = time.perf_counter()
    trace = cwss_bfgs(objective, x0, policy, QUICK.iterations, cond_every=0, stop_at=target)
    hits = iterations_to_tolerance(trace.values_with_start(), f_star, QUICK.tol)
    return np.where(hits >= 0, hits, QUICK.iterations + 1), time.perf_counter() - started


def _policy(objective, horizon: int, cap: int):
    if horizon == 1:
        return GreedyOracleSteps(objective, gtol=1e-7, max_inner=cap)
    return LookaheadOracleSteps(objective, horizon=horizon, gtol=1e-7, max_inner=cap)


@contextmanager
def _solver(name: str):
    """Inside the block the oracles solve their inner problems with ``name`` (the module's solver or the joint
    L-BFGS-B above, swapped in for the oracle module's box_minimise)."""
    import implementations.bfgs.oracle as oracle

    original = oracle.box_minimise
    oracle.box_minimise = joint_lbfgsb if name == "L-BFGS-B, joint" else original
    try:
        yield
    finally:
        oracle.box_minimise = original


def _fmt(values: np.ndarray) -> str:
    return f"{np.median(values):g} [{values.min():g}, {values.max():g}]"


def oracle_table() -> None:
    print("| task | rule | inner solver | cap | iterations median [min, max] | seconds |")
    print("|---|---|---|---|---|---|")
    for task in TASKS[:3]:
        test, objective, x0, f_star = _batch(task)
        wolfe = np.array([iterations_to_tolerance(bfgs_line_search(o, x, QUICK.iterations, "wolfe")
                                                  .values_with_start(), f, QUICK.tol)[0]
                          for (o, x), f in zip(test, f_star)])
        print(f"| {task} | BFGS + Wolfe | | | {_fmt(wolfe)} | |")
        for horizon, cap, solver in ((1, 200, "SPG, per instance"), (1, 200, "L-BFGS-B, joint"),
                                     (2, 30, "SPG, per instance"), (2, 100, "SPG, per instance"),
                                     (2, 30, "L-BFGS-B, joint"), (2, 200, "L-BFGS-B, joint"),
                                     (3, 30, "SPG, per instance")):
            with _solver(solver):
                its, seconds = _iterations(objective, x0, f_star, _policy(objective, horizon, cap))
            rule = "greedy" if horizon == 1 else f"look-ahead h = {horizon}"
            print(f"| {task} | {rule} | {solver} | {cap} | {_fmt(its)} | {seconds:.2f} |", flush=True)


def coupling_table() -> None:
    print("\n| task | inner solver | seed 1 in the batch of seeds 0–4 | seed 1 alone |")
    print("|---|---|---|---|")
    for task in TASKS[:3]:
        _, objective, x0, f_star = _batch(task)
        _, alone_objective, alone_x0, alone_f_star = _batch(task, (1,))
        rows = slice(QUICK.test, 2 * QUICK.test)
        for solver, cap in (("SPG, per instance", 30), ("L-BFGS-B, joint", 30)):
            results = []
            for obj, x, f in ((objective, x0, f_star), (alone_objective, alone_x0, alone_f_star)):
                with _solver(solver):
                    results.append(_iterations(obj, x, f, _policy(obj, 2, cap))[0])
            print(f"| {task} | {solver} | {results[0][rows].tolist()} | {results[1].tolist()} |", flush=True)


def study_cost(scale, seeds, label: str) -> None:
    print(f"\n| task ({label}) | wall s | CPU s |")
    print("|---|---|---|")
    for task in TASKS:
        wall, cpu = time.perf_counter(), time.process_time()
        run_task_seeds(task, scale, seeds)
        print(f"| {task} | {time.perf_counter() - wall:.1f} | {time.process_time() - cpu:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full-seed", type=int, default=None, help="also time one seed of the full-scale study")
    args = parser.parse_args()
    torch.set_num_threads(1)
    oracle_table()
    coupling_table()
    study_cost(QUICK, SEEDS, "quick, 5 seeds")
    if args.full_seed is not None:
        study_cost(FULL, (args.full_seed,), f"full, seed {args.full_seed}")


if __name__ == "__main__":
    main()
