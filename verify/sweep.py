"""Batched sweeps: a claim's condition evaluated on many random instances at once, beside hypothesis.

Hypothesis finds and shrinks small counterexamples, a few dozen instances per second; a sweep draws instances
in batches as tensors on the run's device and evaluates the condition's margin (positive: violated by that much)
on a whole batch in one call, 10⁴–10⁶ instances per claim. The worst instance is kept and its margin re-checked
in float64 on the CPU by an independent one-instance implementation, so a violation reported by the batched code
is confirmed (or shown to be an artefact of the batch's dtype) before it is believed. Batches are drawn from
the context's torch generator for the sweep's stream, so the same seed gives the same sweep whatever the batch size
and wherever in the check it runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from verify.registry import Context

#: Where a sweep's ``draw`` creates its instances (the CPU's generator, float64); batched_sweep moves them to the run's
#: device and dtype.
DRAW_LIKE = {"dtype": torch.float64, "device": torch.device("cpu")}

#: Instances per batch: large enough to amortise the Python overhead, small enough for a CPU's cache and any
#: GPU's memory at the d ≤ 8 the sweeps use.
BATCH = 8192


def host_tensor(array, like: dict | None = None) -> torch.Tensor:
    """An instance's array (plain lists or numpy, as a sweep's worst instance or a hypothesis example holds it) as a
    tensor with the ``dtype=`` and ``device=`` of ``like`` (default DRAW_LIKE, float64 on the CPU: where a worst
    instance is re-checked, whatever the run's device)."""
    return torch.as_tensor(np.asarray(array), **(DRAW_LIKE if like is None else like))


def random_orthogonal(n: int, dim: int, generator: torch.Generator, like: dict = DRAW_LIKE) -> torch.Tensor:
    """n orthogonal dim × dim matrices: the Q factors of the QR of Gaussian matrices (Haar up to column signs)."""
    q, _ = torch.linalg.qr(torch.randn(n, dim, dim, generator=generator, **like))
    return q


def with_eigenvalues(q: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """Q diag(λ) Qᵀ for a batch of orthogonal Q (n, d, d) and eigenvalues λ (n, d), symmetrised (round-off)."""
    matrix = (q * lam.unsqueeze(-2)) @ q.mT
    return (matrix + matrix.mT) / 2


def log_uniform_spd(n: int, dim: int, cond: float, generator: torch.Generator,
                    like: dict = DRAW_LIKE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(A, Q, λ): n SPD matrices A = Q diag(λ) Qᵀ (:func:`random_orthogonal`, :func:`with_eigenvalues`) with
    eigenvalues log-uniform on [1, cond], so κ(A) ≤ cond."""
    q = random_orthogonal(n, dim, generator, like)
    lam = torch.exp(torch.rand(n, dim, generator=generator, **like) * math.log(cond))
    return with_eigenvalues(q, lam), q, lam


@dataclass
class SweepResult:
    """What a sweep found: ``count`` instances in ``batches`` batches, ``violations`` with a positive margin,
    the ``worst_margin`` and the instance attaining it (plain lists), and that instance's margin re-checked in
    float64 on the CPU (None without a re-check)."""

    count: int
    batches: int
    violations: int
    worst_margin: float
    worst_instance: dict = field(default_factory=dict)
    recheck_margin: float | None = None

    def as_numbers(self, prefix: str = "sweep") -> dict:
        """The record's numbers: ``<prefix>_instances``, ``_violations``, ``_worst_margin``, ``_recheck_margin``."""
        return {f"{prefix}_instances": self.count, f"{prefix}_violations": self.violations,
                f"{prefix}_worst_margin": self.worst_margin, f"{prefix}_recheck_margin": self.recheck_margin}


def batched_sweep(ctx: Context, count: int, draw: Callable[[int, torch.Generator], dict[str, torch.Tensor]],
                  margin: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                  recheck: Callable[[dict], float] | None = None, batch: int = BATCH,
                  stream: str = "sweep") -> SweepResult:
    """Evaluate ``margin`` on ``count`` instances drawn by ``draw(n, generator)`` (a dict of tensors whose first
    dimension is the instance, created with DRAW_LIKE) in batches of ``batch``; ``margin(instances)``
    returns one margin per instance. ``recheck(instance)`` (plain lists) recomputes the worst instance's margin in
    float64 on the CPU. Instances are drawn in chunks of ``BATCH`` from ctx.torch_generator(stream), a CPU generator
    of the sweep's own (the check's other random draws are unchanged by the sweep; one stream per sweep of a check),
    in float64 on the CPU (``draw`` creates them with DRAW_LIKE), then cast and moved to ctx's dtype and device, so
    every device and dtype checks the same instances, as Context.randn does; they are evaluated in
    sub-batches of at most ``batch`` (a memory cap), so the instances do not depend on the batch size. A NaN
    margin counts as a violation."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    generator = ctx.torch_generator(stream)
    violations, batches, worst, worst_instance = 0, 0, -math.inf, {}
    for start in range(0, count, BATCH):
        chunk = {k: v.to(**ctx.like) for k, v in draw(min(BATCH, count - start), generator).items()}
        size = len(next(iter(chunk.values())))
        for low in range(0, size, batch):
            current = {k: v[low:low + batch] for k, v in chunk.items()}
            margins = margin(current)
            if margins.shape != (len(next(iter(current.values()))),):
                raise ValueError(f"margin must return one value per instance, got shape {tuple(margins.shape)}")
            batches += 1
            margins = torch.where(torch.isnan(margins), torch.full_like(margins, math.inf), margins)  # NaN: violated
            violations += int((margins > 0).sum())
            index = int(torch.argmax(margins))
            if float(margins[index]) > worst:
                worst = float(margins[index])
                worst_instance = {k: v[index].detach().to("cpu", torch.float64).tolist() for k, v in current.items()}
    recheck_margin = recheck(worst_instance) if recheck is not None else None
    return SweepResult(count, batches, violations, worst, worst_instance, recheck_margin)


def shares(count: int, parts: int) -> list[int]:
    """``count`` instances in ``parts`` near-equal shares, the first ``count % parts`` one larger (a claim's
    ``sweep_instances`` spread over its cases: dimensions, shapes, models)."""
    return [count // parts + (index < count % parts) for index in range(parts)]


def sweep_dimensions(ctx: Context, name: str, dims, draw_of: Callable[[int], Callable], margin: Callable,
                     recheck: Callable[[dict], float] | None = None) -> dict:
    """dim → :func:`batched_sweep` of ``margin`` on instances drawn by ``draw_of(dim)``: ctx.scale("sweep_instances")
    instances in near-equal :func:`shares` over ``dims``, stream ``<name>-sweep-<dim>``, the worst of each
    re-checked by ``recheck``."""
    return {dim: batched_sweep(ctx, share, draw_of(dim), margin, recheck=recheck, stream=f"{name}-sweep-{dim}")
            for share, dim in zip(shares(ctx.scale("sweep_instances"), len(dims)), dims)}


def summarize(sweeps: dict) -> tuple[int, dict, list[dict], dict | None]:
    """The evidence of several sweeps of one claim (label → SweepResult, e.g. one per dimension): (violations,
    numbers ``sweep_instances``/``sweep_violations``/``sweep_worst_margin``, one table row per sweep, and the worst
    instance as a counterexample with its float64 CPU re-check when some instance violates, else None)."""
    violations = sum(s.violations for s in sweeps.values())
    numbers = {"sweep_instances": sum(s.count for s in sweeps.values()), "sweep_violations": violations,
               "sweep_worst_margin": max(s.worst_margin for s in sweeps.values())}
    table = [{"sweep": label, **s.as_numbers(), "worst_instance": s.worst_instance} for label, s in sweeps.items()]
    counterexample = None
    if violations:
        label, worst = max(sweeps.items(), key=lambda item: item[1].worst_margin)
        counterexample = {**worst.worst_instance, "sweep": label, "margin": worst.worst_margin,
                          "float64_cpu_margin": worst.recheck_margin}
    return violations, numbers, table, counterexample
