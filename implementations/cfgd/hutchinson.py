"""Hutchinson's estimator of a Hessian diagonal with Rademacher probes (THEORY.md §1.2).

For probes v_k with independent ±1 entries, E[v ⊙ (H v)]_j = Σ_i H_ji E[v_j v_i] = H_jj, so
  diag(H) ≈ (1/K) Σ_k v_k ⊙ (H v_k)
is unbiased, with per-coordinate variance Σ_{i≠j} H_ji² / K (derived: (v ⊙ Hv)_j = H_jj + Σ_{i≠j} H_ji v_j v_i,
and the products v_j v_i, i ≠ j, are pairwise uncorrelated ±1 variables).
"""

from __future__ import annotations

from typing import Callable

import torch

from implementations.validation import check_callable, check_generator, check_positive_int, check_real_tensor


def rademacher_probes(probes: int, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``probes`` independent Rademacher (±1 with probability ½ each) tensors, stacked: shape (K, *like.shape).

    dtype and device come from ``like``; the draw uses ``generator`` (on its own device) when given.
    """
    check_positive_int("probes", probes)
    check_generator("generator", generator)
    draw_device = generator.device if generator is not None else like.device
    bits = torch.randint(0, 2, (probes, *like.shape), generator=generator, device=draw_device)
    return (2 * bits - 1).to(device=like.device, dtype=like.dtype)


def hutchinson_estimate(hvp: Callable[[torch.Tensor], torch.Tensor], probe_batch: torch.Tensor) -> torch.Tensor:
    """(1/K) Σ_k v_k ⊙ (H v_k) for given probes stacked as (K, *shape); ``hvp`` as in :func:`hutchinson_diagonal`.

    With all 2^d sign vectors as probes this is exactly diag(H) (the expectation itself).
    """
    try:
        products = hvp(probe_batch)
    except (RuntimeError, IndexError) as exc:  # typically a shape mismatch between hvp and the probes
        raise ValueError(f"hvp failed on probes of shape {tuple(probe_batch.shape)} (the shape of dim_or_like "
                         f"with the probes in front): {type(exc).__name__}: {exc}") from exc
    if not isinstance(products, torch.Tensor) or products.shape != probe_batch.shape:
        got = tuple(products.shape) if isinstance(products, torch.Tensor) else type(products).__name__
        raise ValueError(f"hvp must map probes of shape {tuple(probe_batch.shape)} to the same shape, got {got}")
    return (probe_batch * products).mean(dim=0)


def hutchinson_diagonal(hvp: Callable[[torch.Tensor], torch.Tensor], dim_or_like: int | torch.Tensor,
                        probes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Estimate diag(H) by (1/K) Σ_k v_k ⊙ (H v_k) with K = ``probes`` Rademacher probes v_k.

    hvp: a batched Hessian-vector product. It receives the probes stacked along a new leading axis,
      V of shape (K, *shape), and must return H V of the same shape, where H acts on the trailing
      ``shape`` (for a flat parameter vector: V is (K, d) and ``hvp(V) = V @ H`` for symmetric H;
      with torch.func: ``vmap(lambda v: jvp(grad(f), (x,), (v,))[1])``).
    dim_or_like: an int d (probes of shape (d,), float64 on the CPU) or a tensor whose shape, dtype and
      device the probes and the estimate take (e.g. the parameter tensor itself).
    Returns a tensor of shape ``shape``. Raises TypeError/ValueError for a non-int or < 1 ``probes`` or
    ``dim_or_like``, and ValueError if ``hvp`` returns a tensor of the wrong shape.
    """
    check_callable("hvp", hvp)
    if isinstance(dim_or_like, torch.Tensor):
        # only its shape, dtype and device are used, so its entries need not be finite
        like = check_real_tensor("dim_or_like", dim_or_like, finite=False)
    else:
        like = torch.empty(check_positive_int("dim_or_like", dim_or_like), dtype=torch.float64)
    return hutchinson_estimate(hvp, rademacher_probes(probes, like, generator))
