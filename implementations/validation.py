"""Argument checks shared by the reference implementations.

Each check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that names the
argument and the allowed range, so a caller never meets a silent NaN or a shape error deep inside torch.
"""

from __future__ import annotations

import torch


def as_tensor(name: str, value, like: torch.Tensor | None = None) -> torch.Tensor:
    """``value`` as a tensor on ``like``'s device and dtype (if given); rejects non-numeric input."""
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        try:
            tensor = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a number, array or tensor, got {type(value).__name__}") from exc
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must be a real floating tensor, got dtype {tensor.dtype}")
    if like is not None:
        tensor = tensor.to(device=like.device, dtype=like.dtype)
    elif not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    return tensor


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Every entry finite. A finite sum proves it in one fast reduction (an inf or NaN entry makes the sum
    non-finite); only a non-finite sum, which an overflow can also cause, is checked entry by entry."""
    if tensor.is_floating_point():
        with torch.no_grad():
            if bool(torch.isfinite(tensor.sum())):
                return tensor
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return tensor


def check_open_interval(name: str, tensor: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Every entry strictly inside (low, high)."""
    check_finite(name, tensor)
    if not bool(((tensor > low) & (tensor < high)).all()):
        bad = tensor[~((tensor > low) & (tensor < high))].flatten()[0].item()
        raise ValueError(f"{name} must lie in the open interval ({low}, {high}); got an entry {bad}")
    return tensor


def check_closed_interval(name: str, tensor: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Every entry inside [low, high]."""
    check_finite(name, tensor)
    if not bool(((tensor >= low) & (tensor <= high)).all()):
        bad = tensor[~((tensor >= low) & (tensor <= high))].flatten()[0].item()
        raise ValueError(f"{name} must lie in the closed interval [{low}, {high}]; got an entry {bad}")
    return tensor


def check_positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and value > 0 and value == value and value != float("inf")):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_shape(name: str, tensor: torch.Tensor, shape: tuple) -> torch.Tensor:
    """``shape`` may contain None for a free dimension."""
    if tensor.dim() != len(shape) or any(s is not None and s != t for s, t in zip(shape, tensor.shape)):
        raise ValueError(f"{name} must have shape {tuple('*' if s is None else s for s in shape)}, "
                         f"got {tuple(tensor.shape)}")
    return tensor


def broadcast_per_coordinate(name: str, value, like: torch.Tensor) -> torch.Tensor:
    """A scalar or a tensor broadcastable to ``like``'s shape, returned expanded to that shape."""
    tensor = as_tensor(name, value, like)
    try:
        return torch.broadcast_to(tensor, like.shape)
    except RuntimeError as exc:
        raise ValueError(f"{name} of shape {tuple(tensor.shape)} does not broadcast to the shape "
                         f"{tuple(like.shape)} of x") from exc


def check_spd(name: str, matrix: torch.Tensor, rtol: float | None = None) -> torch.Tensor:
    """Square (or a batch of square), symmetric to round-off, and positive definite (Cholesky succeeds)."""
    check_finite(name, matrix)
    if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name} must be a square matrix (or a batch of them), got shape {tuple(matrix.shape)}")
    tol = rtol if rtol is not None else 100 * torch.finfo(matrix.dtype).eps
    asym = (matrix - matrix.transpose(-1, -2)).abs().amax()
    if asym > tol * matrix.abs().amax().clamp_min(1e-300):
        raise ValueError(f"{name} must be symmetric; max |{name} − {name}ᵀ| = {asym.item():.3g}")
    _, info = torch.linalg.cholesky_ex(matrix)
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be positive definite (its Cholesky factorisation failed)")
    return matrix
