"""Per-iteration cost of CWSS-BFGS vs scipy's BFGS, the batched solver, and the learned model's memory.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bfgs_cost.py   (figures recorded in bfgs_cost.md)
- per-iteration seconds at d = 100, 1000, 4000 on ℓ₂-logistic regression (m = d/2... see TASK below):
  CWSS-BFGS with P = I (torch, one instance) vs scipy.optimize.minimize(method='BFGS') on the same problem;
- the batched solver over 1000 instances (d = 20) vs 1000 single-instance runs' time per instance;
- memory: BFGS state d² floats vs the LSTM model's parameters and per-coordinate states (O(d·hidden)).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
import scipy
import scipy.optimize as so
import torch

from implementations.bfgs import FixedSteps, LearnedSteps, StepSizeLSTM, cwss_bfgs
from implementations.problems.logistic import LogisticRegression

torch.set_default_dtype(torch.float64)


def per_iteration_torch(problem, dim, iterations, policy=None):
    x0 = torch.zeros(dim)
    trace = cwss_bfgs(problem, x0, policy or FixedSteps(1.0), iterations, cond_every=0)
    return trace.wall_time / trace.iterations, trace.iterations


def per_iteration_scipy(problem, dim, iterations):
    fun = lambda z: float(problem.value(torch.from_numpy(z)))  # noqa: E731
    jac = lambda z: problem.gradient(torch.from_numpy(z)).numpy()  # noqa: E731
    started = time.perf_counter()
    result = so.minimize(fun, np.zeros(dim), jac=jac, method="BFGS", options=dict(maxiter=iterations, gtol=0.0))
    return (time.perf_counter() - started) / max(result.nit, 1), result.nit


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"scipy {scipy.__version__}, "
          f"threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    gen = torch.Generator().manual_seed(0)
    print("\nper-iteration seconds, logistic regression m = 2d, reg 1e-2 (x0 = 0)")
    print(f"{'d':>6} {'cwss P=I':>12} {'its':>5} {'cwss+LSTM':>12} {'its':>5} {'scipy BFGS':>12} {'its':>5}")
    for dim, iterations in ((100, 30), (1000, 10), (4000, 3)):
        problem = LogisticRegression.random(dim, 2 * dim, reg=1e-2, generator=gen)
        t_cwss, n_cwss = per_iteration_torch(problem, dim, iterations)
        t_lstm, n_lstm = per_iteration_torch(problem, dim, iterations, LearnedSteps(StepSizeLSTM()))
        t_scipy, n_scipy = per_iteration_scipy(problem, dim, iterations)
        print(f"{dim:>6} {t_cwss:>12.4g} {n_cwss:>5} {t_lstm:>12.4g} {n_lstm:>5} {t_scipy:>12.4g} {n_scipy:>5}")
    print("\nbatched solver, d = 20, m = 40, 20 iterations")
    batch = LogisticRegression.random(20, 40, reg=1e-2, batch=(1000,), generator=gen)
    started = time.perf_counter()
    cwss_bfgs(batch, torch.zeros(1000, 20), FixedSteps(1.0), 20, cond_every=0)
    batched = time.perf_counter() - started
    started = time.perf_counter()
    for b in range(50):
        single = LogisticRegression.create(batch.A[b], batch.labels[b], batch.reg)
        cwss_bfgs(single, torch.zeros(20), FixedSteps(1.0), 20, cond_every=0)
    single_each = (time.perf_counter() - started) / 50
    print(f"1000 instances batched: {batched:.3f} s total, {batched / 1000 * 1e3:.3f} ms/instance; "
          f"single-instance loop: {single_each * 1e3:.3f} ms/instance (speed-up {single_each * 1000 / batched:.1f}x)")
    print("\nmemory (float64 bytes): BFGS state H (d²) vs LSTM parameters + per-coordinate (h, c) states")
    model = StepSizeLSTM()
    parameters = sum(p.numel() for p in model.parameters()) * 8
    for dim in (100, 1000, 4000, 100_000):
        state = 2 * dim * model.hidden * 8
        print(f"d = {dim:>7}: H {dim * dim * 8 / 2**20:>12.2f} MiB; model {parameters / 2**10:.2f} KiB parameters "
              f"+ {state / 2**20:.2f} MiB states")


if __name__ == "__main__":
    main()
