"""The paper's Fig. 2 runs at the paper's scale, one configuration at a time: N = 10, d = 512, b = 400, K SGD
steps (the authors' 400) of our LSTMMathL2O, LISTACPSS (random init) and MathL2O (deterministic, e = 100, width
5120) at given unroll lengths T and rates η, float64, one thread. Prints one JSON line per run: the first
non-finite SGD step, the largest loss growth max_k 𝓕(W^k)/𝓕(W⁰), losses every 20 steps, seconds.

Usage:  python benchmarks/mathl2o_fig2_paper_scale.py --runs lstm:5:1e-4 lstm:10:1e-4 lista:20:1e-4 lista:40:1e-4
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from implementations.mathl2o import LISTACPSS, QP, LSTMMathL2O, MathL2O, train


def build(name: str, T: int, seed: int):
    return {"lstm": lambda: LSTMMathL2O(seed=seed), "lista": lambda: LISTACPSS(512, 400, T, seed=seed),
            "mlp": lambda: MathL2O(5120, 100.0, 3, seed=seed)}[name]()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="model:T:lr, model in lstm, lista, mlp")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0, help="instance seed; the models use seed + 1")
    args = parser.parse_args()
    torch.set_num_threads(1)
    qp = QP.random(10, 512, 400, seed=args.seed)
    for spec in args.runs:
        name, T, lr = spec.split(":")
        T, lr = int(T), float(lr)
        start = time.perf_counter()
        history = train(build(name, T, args.seed + 1), qp, T, lr, args.steps)
        finite = [v for v in history.losses if math.isfinite(v)]
        growth = math.inf if history.diverged_at is not None else max(finite) / history.losses[0]
        print(json.dumps({"model": name, "T": T, "lr": lr, "steps": args.steps, "diverged_at": history.diverged_at,
                          "loss0": history.losses[0], "final": history.losses[-1], "max_growth": growth,
                          "grad_norm0": history.grad_norms[0], "losses_every_20": history.losses[::20],
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
