"""Time one Math-L2O training iteration (unroll T steps, loss F(X_T), backward, SGD update): ours vs the
authors' code (NetX-lab/MathL2OProof-Official), same machine, same instances, same weights, float32.

Usage:  python benchmarks/mathl2o_train_step.py --theirs /tmp/mathl2o_official --scale fig5 --device cpu
The authors' repository is NOT part of this project: fetch it into /tmp and apply the local import fix
described in benchmarks/mathl2o_train_step.md. Both implementations start from the same GD loss (checked).
"""

from __future__ import annotations

import argparse
import ast
import platform
import statistics
import sys
import time
import types

import torch

from implementations.mathl2o import QP, MathL2O, training_step

SCALES = {"fig5": dict(N=32, d=32, b=25, T=20, width=1024, e=100.0, lr=1e-4),
          "fig4a": dict(N=10, d=512, b=400, T=100, width=5120, e=100.0, lr=1e-7)}


def load_theirs(path: str):
    """The authors' CoordMathDNN, QP and unroll_BP (extracted from main_train_anlys.py without running it)."""
    sys.path.insert(0, path)
    import optimizees  # noqa: F401  (needs the local torchvision import fix)
    import optimizers
    from optimizees import QP as TheirQP

    source = open(f"{path}/main_train_anlys.py").read()
    tree = ast.parse(source)
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "unroll_BP")
    namespace = {"torch": torch}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "main_train_anlys.py", "exec"), namespace)
    return optimizers.CoordMathDNN, TheirQP, namespace["unroll_BP"]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn, repeats: int, device: torch.device) -> list[float]:
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theirs", default="/tmp/mathl2o_official")
    parser.add_argument("--scale", choices=[*SCALES, "both"], default="fig5")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ours-only", action="store_true",
                        help="skip the authors' code (e.g. Fig. 4a on a small CPU box: their dense activations need "
                             "≈ T·N·d·H·4 bytes × (≥ 2 saved tensors per step) ≈ 21 GB)")
    parser.add_argument("--compare-training", type=int, default=0, metavar="K",
                        help="also train both for K iterations from the same start and print both loss histories")
    parser.add_argument("--lr", type=float, default=None, help="override the scale's SGD learning rate")
    parser.add_argument("--anomaly", action="store_true",
                        help="time theirs with torch.autograd.set_detect_anomaly(True), as their script sets")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if not args.ours_only:
        CoordMathDNN, TheirQP, unroll_BP = load_theirs(args.theirs)
    cpu = platform.processor() or "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"machine: {cpu}; torch {torch.__version__}; threads {torch.get_num_threads()}; device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    for name in (SCALES if args.scale == "both" else [args.scale]):
        cfg = dict(SCALES[name])
        if args.lr is not None:
            cfg["lr"] = args.lr
        qp = QP.random(cfg["N"], cfg["d"], cfg["b"], seed=0, dtype=torch.float32, device=device)
        ours = MathL2O(cfg["width"], cfg["e"], 3, seed=0, dtype=torch.float32, device=device)

        def our_step(ours=ours, qp=qp, cfg=cfg):
            return training_step(ours, qp, cfg["T"], cfg["lr"])

        if args.ours_only:
            our_gd = our_step()
            t_ours = time_calls(our_step, args.repeats, device)
            print(f"[{name}] N={cfg['N']} d={cfg['d']} b={cfg['b']} T={cfg['T']} H={cfg['width']} float32: GD loss "
                  f"ours {our_gd:.6g}; seconds per iteration (median of {args.repeats}): ours "
                  f"{statistics.median(t_ours):.4f} (authors' code not run)")
            continue
        theirs = CoordMathDNN(input_size=2, output_size=1, hidden_size=cfg["width"], layers=2, e=cfg["e"],
                              p_use=True, p_scale=1.0, p_scale_learned=False, p_norm="sigmoid").to(device)
        with torch.no_grad():  # same weights: W1 (2×2), W2 (2×H), W_L = 0
            theirs.dnn[0].weight.copy_(ours.weights[0])
            theirs.linear.weight.copy_(ours.weights[1])
        meta = torch.optim.SGD(theirs.parameters(), lr=cfg["lr"])
        opts = types.SimpleNamespace(loss_func="last", clip_grad=False, grad_method="smooth_grad")
        kwargs = dict(input_dim=cfg["d"], output_dim=cfg["b"], rho=0.0, s=5, device=device, ood=False,
                      ood_s=0.0, ood_t=0.0, dtype=torch.float32)

        def their_step(cfg=cfg, qp=qp, theirs=theirs, meta=meta, opts=opts, kwargs=kwargs):
            problems = TheirQP(cfg["N"], qp.M.clone(), qp.Y.unsqueeze(-1).clone(), seed=None, **kwargs)
            theirs.reset_state(problems, None)
            logs = {f"iter-{j}": [] for j in range(cfg["T"])}
            _, _, _, losses = unroll_BP(cfg["T"], cfg["T"], meta, theirs, problems, opts, logs)
            return losses

        if args.compare_training:
            theirs_hist = [their_step()[-2] for _ in range(args.compare_training)]
            ours_hist = [our_step() for _ in range(args.compare_training)]
            gap = max(abs(a - b) / abs(b) for a, b in zip(theirs_hist, ours_hist))
            print(f"[{name}] {args.compare_training} SGD iterations at lr={cfg['lr']:g}: theirs "
                  f"{[f'{v:.5g}' for v in theirs_hist]}\n    ours {[f'{v:.5g}' for v in ours_hist]}; "
                  f"max rel. diff {gap:.2e}")
            continue
        their_gd = their_step()[-2]  # F(X_T) before their first update (the last entry repeats it)
        our_gd = our_step()
        print(f"[{name}] N={cfg['N']} d={cfg['d']} b={cfg['b']} T={cfg['T']} H={cfg['width']} float32: "
              f"GD loss theirs {their_gd:.6g}, ours {our_gd:.6g} (rel. diff {abs(their_gd - our_gd) / our_gd:.2e})")
        with torch.autograd.set_detect_anomaly(args.anomaly):
            t_theirs = time_calls(their_step, args.repeats, device)
        t_ours = time_calls(our_step, args.repeats, device)
        m_theirs, m_ours = statistics.median(t_theirs), statistics.median(t_ours)
        print(f"[{name}] seconds per iteration (median of {args.repeats}): theirs {m_theirs:.4f}"
              f"{' (anomaly detection on)' if args.anomaly else ''}, ours {m_ours:.4f}, "
              f"speed-up {m_theirs / m_ours:.2f}x")


if __name__ == "__main__":
    main()
