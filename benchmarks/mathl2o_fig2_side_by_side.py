"""The paper's Fig. 2 models side by side with the authors' code: our LSTMMathL2O and LISTACPSS against their
CoordMathLSTM and LISTACPSSWOnly (NetX-lab/MathL2OProof-Official), on the same QP instances and the same initial
weights (ours copied into theirs), at a few unroll lengths T: the training-gradient norm at initialisation and
the training loss F(X_T) after a fixed number of SGD steps.

Usage:  python benchmarks/mathl2o_fig2_side_by_side.py --theirs .theirs --scale quick --Ts 5 10 20 40 --steps 12
The authors' repository is NOT part of this project: ``bash benchmarks/prepare_theirs.sh <their git dir>`` puts a
runnable copy into .theirs/ (git-excluded). Their model is built with the options their main_train_anlys.py
passes for the Fig. 2 scripts (``--p-use --p-norm sigmoid``, a-use false; everything else at its default), and
trained with their own ``unroll_BP`` (extracted with ``ast``), including the per-iteration ``QP(...)`` and
``reset_state``; after each reset_state their LSTM state is set to ours (their reset draws torch.randn), so both
follow one deterministic trajectory.
"""

from __future__ import annotations

import argparse
import ast
import math
import platform
import sys
import time
import types

import torch

from implementations.mathl2o import LISTACPSS, QP, LSTMMathL2O, MathL2O, train, unroll

SCALES = {"quick": dict(N=10, d=64, b=50), "paper": dict(N=10, d=512, b=400), "fig5": dict(N=32, d=32, b=25)}
THEIR_LSTM_OPTIONS = dict(a_use=False, a_scale=1.0, a_scale_learned=False, a_norm="sigmoid", p_use=True, p_scale=1.0,
                          p_scale_learned=False, p_norm="sigmoid")  # main_train_anlys.py's optimizer_kwargs


def load_theirs(path: str):
    """Their CoordMathLSTM, LISTACPSSWOnly, CoordMathDNN, QP and unroll_BP (the last extracted from
    main_train_anlys.py)."""
    sys.path.insert(0, path)
    import optimizees  # noqa: F401  (needs the import fixes of benchmarks/prepare_theirs.sh)
    import optimizers
    from optimizees import QP as TheirQP

    tree = ast.parse(open(f"{path}/main_train_anlys.py").read())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "unroll_BP")
    namespace = {"torch": torch}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "main_train_anlys.py", "exec"), namespace)
    return (optimizers.CoordMathLSTM, optimizers.LISTACPSSWOnly, optimizers.CoordMathDNN, TheirQP,
            namespace["unroll_BP"])


class Theirs:
    """Their model on their QP built from our instances; ``loss_and_grad_norm()`` and ``train(lr, steps)``."""

    def __init__(self, kind: str, ours, qp: QP, T: int, modules, dtype: torch.dtype):
        CoordMathLSTM, LISTACPSSWOnly, CoordMathDNN, self.TheirQP, self.unroll_BP = modules
        n, b, d = qp.shape
        self.kind, self.ours, self.qp, self.T, self.dtype = kind, ours, qp, T, dtype
        if kind == "lstm":
            self.model = CoordMathLSTM(input_size=2, output_size=1, hidden_size=ours.hidden, layers=ours.layers,
                                       **THEIR_LSTM_OPTIONS).to(dtype=dtype)
            missing, unexpected = self.model.load_state_dict(ours.state_dict(), strict=False)
            assert not unexpected and all(k.startswith("linear_a.") for k in missing), (missing, unexpected)
        elif kind == "mlp":  # the paper's own model, as benchmarks/mathl2o_train_step.py builds it
            self.model = CoordMathDNN(input_size=2, output_size=1, hidden_size=ours.width, layers=2, e=ours.e,
                                      p_use=True, p_scale=1.0, p_scale_learned=False, p_norm="sigmoid").to(dtype=dtype)
            with torch.no_grad():
                for theirs, w in zip((self.model.dnn[0].weight, self.model.linear.weight, self.model.linear_p.weight),
                                     ours.weights):
                    theirs.copy_(w.detach())
        else:
            self.model = LISTACPSSWOnly(input_dim=d, output_dim=b, T=T, percent=0.012, max_percent=0.13, A=None,
                                        We_shared=False).to(dtype=dtype)
            with torch.no_grad():
                for theirs, w in zip(self.model.We, ours.weights):
                    theirs.copy_(w.detach().unsqueeze(0))
        self.kwargs = dict(input_dim=d, output_dim=b, rho=0.0, s=5, device="cpu", ood=False, ood_s=0.0, ood_t=0.0,
                           dtype=dtype)
        self.opts = types.SimpleNamespace(loss_func="last", clip_grad=False, grad_method="smooth_grad")

    def problems(self):
        """A fresh QP of theirs on our instances, and the model reset for it (their loop's per-iteration step)."""
        problems = self.TheirQP(self.qp.M.shape[0], self.qp.M.to(self.dtype).clone(),
                                self.qp.Y.to(self.dtype).unsqueeze(-1).clone(), seed=None, **self.kwargs)
        self.model.reset_state(problems, None)
        if self.kind == "lstm":  # their reset_state draws torch.randn; use our (fixed) initial state instead
            h0, c0 = self.ours.initial_state(problems.X.numel())
            self.model.state = (h0.to(self.dtype).clone(), c0.to(self.dtype).clone())
        return problems

    def loss_and_grad_norm(self) -> tuple[float, float]:
        problems = self.problems()
        for _ in range(self.T):
            problems = self.model(problems, self.opts.grad_method)
        loss = problems.objective(compute_grad=True)
        params = [p for p in self.model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return float(loss.detach()), math.sqrt(sum(float((g * g).sum()) for g in grads if g is not None))

    def train(self, lr: float, steps: int) -> list[float]:
        """F(X_T) before each of ``steps`` SGD iterations of their unroll_BP, and after the last (nan when their
        loop met a non-finite loss and skipped the update)."""
        meta = torch.optim.SGD(self.model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            logs = {f"iter-{j}": [] for j in range(self.T)}
            is_nan, _, _, per_batch = self.unroll_BP(self.T, self.T, meta, self.model, self.problems(), self.opts,
                                                     logs)
            losses.append(math.nan if is_nan else per_batch[-2])
        with torch.no_grad():
            problems = self.problems()
            for _ in range(self.T):
                problems = self.model(problems, self.opts.grad_method)
            losses.append(float(problems.objective()))
        return losses


def ours_grad_norm(model, qp: QP, T: int) -> tuple[float, float]:
    loss = unroll(model, qp, T)[-1]
    grads = torch.autograd.grad(loss, [p for p in model.parameters()], allow_unused=True)
    return float(loss.detach()), math.sqrt(sum(float((g * g).sum()) for g in grads if g is not None))


def build(kind: str, qp: QP, T: int, seed: int, dtype: torch.dtype):
    """Our model; "mlp" is the deterministic-init MathL2O (e = 100, width N·d) with the instance seed itself
    (seed − 1), as mathl2o.beats-gd.fig5 builds it."""
    n, b, d = qp.shape
    if kind == "lstm":
        return LSTMMathL2O(seed=seed, dtype=dtype)
    if kind == "mlp":
        return MathL2O(n * d, 100.0, 3, seed=seed - 1, dtype=dtype)
    return LISTACPSS(d, b, T, seed=seed, dtype=dtype)


def rel(a: float, b: float) -> float:
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0.0 if (math.isnan(a) and math.isnan(b)) or a == b else math.inf
    return abs(a - b) / max(abs(b), 1e-300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theirs", default=".theirs")
    parser.add_argument("--scale", choices=list(SCALES), default="quick")
    parser.add_argument("--Ts", type=int, nargs="+", default=[5, 20, 40])
    parser.add_argument("--steps", type=int, default=12, help="SGD steps of the training comparison (0: none)")
    parser.add_argument("--lr", type=float, default=None,
                        help="SGD rate (default: the paper's 1e-4 × 5120/(N·d), as mathl2o.random-init-explodes)")
    parser.add_argument("--models", nargs="+", default=["lstm", "lista"], choices=["lstm", "lista", "mlp"])
    parser.add_argument("--seed", type=int, default=2,
                        help="instance seed (models: seed + 1); 2: mathl2o.random-init-explodes' instances at seed 0")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    modules = load_theirs(args.theirs)
    cfg = SCALES[args.scale]
    lr = args.lr if args.lr is not None else 1e-4 * 5120 / (cfg["N"] * cfg["d"])
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    print(f"machine: {cpu}; torch {torch.__version__}; 1 thread; {args.dtype}; scale {args.scale} {cfg}; "
          f"instance seed {args.seed}; SGD lr {lr:g}, {args.steps} steps")
    qp = QP.random(cfg["N"], cfg["d"], cfg["b"], seed=args.seed, dtype=dtype)
    print("| model | T | F(X_T) at init, ours / theirs | ‖∇𝓕(W⁰)‖ ours / theirs (rel. diff) | "
          f"F(X_T) after {args.steps} SGD steps, ours / theirs (rel. diff) | first non-finite step ours / theirs | "
          "seconds ours / theirs |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.models:
        for T in args.Ts:
            ours = build(kind, qp, T, args.seed + 1, dtype)
            theirs = Theirs(kind, ours, qp, T, modules, dtype)
            loss_o, norm_o = ours_grad_norm(ours, qp, T)
            loss_t, norm_t = theirs.loss_and_grad_norm()
            trained = "–"
            nonfinite = "–"
            seconds = "–"
            if args.steps:
                start = time.perf_counter()
                history = train(ours, qp, T, lr, args.steps)
                t_ours = time.perf_counter() - start
                start = time.perf_counter()
                their_losses = theirs.train(lr, args.steps)
                t_theirs = time.perf_counter() - start
                final_o = history.final_loss if history.diverged_at is None else math.nan
                final_t = their_losses[-1]
                first_t = next((k for k, v in enumerate(their_losses) if not math.isfinite(v)), None)
                trained = f"{final_o:.6g} / {final_t:.6g} ({rel(final_o, final_t):.1e})"
                nonfinite = f"{history.diverged_at} / {first_t}"
                seconds = f"{t_ours:.1f} / {t_theirs:.1f}"
            print(f"| {kind} | {T} | {loss_o:.6g} / {loss_t:.6g} | {norm_o:.6g} / {norm_t:.6g} "
                  f"({rel(norm_o, norm_t):.1e}) | {trained} | {nonfinite} | {seconds} |", flush=True)


if __name__ == "__main__":
    main()
