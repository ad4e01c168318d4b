"""Argument checks shared by the reference implementations.

Each check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that names the
argument and the allowed range, so a caller never meets a silent NaN or a shape error deep inside torch.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
import torch


def _array_kind(value) -> str:
    """numpy's dtype kind of ``value`` ('b' bool, 'c' complex, 'f'/'i'/'u' real, 'O'/'U'/… anything else)."""
    try:
        return np.asarray(value).dtype.kind
    except (TypeError, ValueError, RuntimeError):
        return "O"


def as_tensor(name: str, value, like: torch.Tensor | None = None) -> torch.Tensor:
    """``value`` as a tensor on ``like``'s device and dtype (if given); rejects non-numeric, boolean and complex
    input (a bool is no number here: ``True`` would silently become 1.0)."""
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        kind = _array_kind(value)
        if kind in "bc":
            raise TypeError(f"{name} must be a real number, array or tensor, got {type(value).__name__} of "
                            f"{'booleans' if kind == 'b' else 'complex numbers'}")
        try:
            tensor = torch.as_tensor(value, dtype=torch.float64 if like is None else like.dtype,
                                     device=None if like is None else like.device)
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
    """A finite real number > 0 (TypeError for a non-number or a bool, ValueError for 0, < 0, NaN, ±inf)."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a positive finite number, got {type(value).__name__} {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """An int (not a bool) with minimum <= value (<= maximum when given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must lie in [{minimum}, {maximum}], got {value}")
    return int(value)


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


def check_symmetric(name: str, matrix: torch.Tensor, rtol: float | None = None) -> torch.Tensor:
    """A (batch of) square matrix equal to its transpose to ``rtol`` (default 100 eps) relative to its largest
    entry."""
    tol = rtol if rtol is not None else 100 * torch.finfo(matrix.dtype).eps
    asym = (matrix - matrix.transpose(-1, -2)).abs().amax()
    if asym > tol * matrix.abs().amax().clamp_min(1e-300):
        raise ValueError(f"{name} must be symmetric; max |{name} − {name}ᵀ| = {asym.item():.3g}")
    return matrix


def check_spd(name: str, matrix: torch.Tensor, rtol: float | None = None) -> torch.Tensor:
    """Square (or a batch of square), symmetric to round-off, and positive definite (Cholesky succeeds)."""
    check_finite(name, matrix)
    if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2] or matrix.numel() == 0:
        raise ValueError(f"{name} must be a square matrix (or a batch of them), non-empty, got shape "
                         f"{tuple(matrix.shape)}")
    check_symmetric(name, matrix, rtol)
    _, info = torch.linalg.cholesky_ex(matrix)
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be positive definite (its Cholesky factorisation failed)")
    return matrix


def _is_real(value) -> bool:
    """A real scalar: a Python or numpy int or float, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _interval_text(low: float, high: float, low_open: bool, high_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_number(name: str, value, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
                 high_open: bool = False) -> float:
    """A finite real number (not a bool: TypeError) inside the interval from ``low`` to ``high``, each end open
    or closed (ValueError for NaN, ±inf or a value outside). Returns it as a float."""
    text = _interval_text(low, high, low_open, high_open)
    if not _is_real(value):
        raise TypeError(f"{name} must be a finite real number in {text}, got {type(value).__name__} {value!r}")
    inside = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not (math.isfinite(value) and inside):
        raise ValueError(f"{name} must be a finite real number in {text}, got {value!r}")
    return float(value)


def check_nonnegative(name: str, value) -> float:
    """A finite real number >= 0 (not a bool)."""
    return check_number(name, value, 0.0)


def check_optional_number(name: str, value) -> float | None:
    """None, or a finite real number (not a bool)."""
    return None if value is None else check_number(name, value)


def check_bool(name: str, value) -> bool:
    """True or False (numpy's bool too); 0, 1, None or strings are rejected with a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    """One of the strings ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_seed(name: str, value) -> int:
    """An int (not a bool) that torch.Generator.manual_seed accepts: in [−2⁶³, 2⁶⁴ − 1]."""
    return check_positive_int(name, value, minimum=-(2 ** 63), maximum=2 ** 64 - 1)


def check_real_tensor(name: str, value, dim: int | tuple[int, ...] | None = None, finite: bool = True,
                      nonempty: bool = True) -> torch.Tensor:
    """A torch tensor of a real floating dtype (TypeError otherwise: not a tensor, bool, integer or complex),
    with ``dim`` dimensions (an int or a tuple of allowed counts) when given, at least one entry when
    ``nonempty`` and only finite entries when ``finite``."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a real floating tensor, got dtype {value.dtype}")
    allowed = (dim,) if isinstance(dim, int) else dim
    if allowed is not None and value.dim() not in allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape "
                         f"{tuple(value.shape)}")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    return check_finite(name, value) if finite else value


def check_instance(name: str, value, types, description: str | None = None):
    """``value`` is an instance of ``types`` (a class or a tuple of classes)."""
    if not isinstance(value, types):
        if description is None:
            names = types if isinstance(types, tuple) else (types,)
            description = " or ".join(t.__name__ for t in names)
        raise TypeError(f"{name} must be a {description}, got {type(value).__name__}")
    return value


def check_callable(name: str, value):
    """A callable (function, bound method, module, …)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_generator(name: str, value) -> torch.Generator | None:
    """None or a torch.Generator."""
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be None or a torch.Generator, got {type(value).__name__}")
    return value


def check_dtype(name: str, value) -> torch.dtype:
    """A floating torch.dtype (torch.float16, bfloat16, float32 or float64)."""
    if not isinstance(value, torch.dtype):
        raise TypeError(f"{name} must be a floating torch.dtype such as torch.float64, got {type(value).__name__}")
    if not value.is_floating_point:
        raise ValueError(f"{name} must be a floating torch.dtype such as torch.float64, got {value}")
    return value


def check_device(name: str, value) -> torch.device:
    """A torch.device or a device string ('cpu', 'cuda', 'cuda:1', …) that this machine has."""
    if isinstance(value, torch.device):
        device = value
    elif isinstance(value, str):
        try:
            device = torch.device(value)
        except RuntimeError as exc:
            raise ValueError(f"{name} must name a torch device such as 'cpu' or 'cuda:0', got {value!r}") from exc
    else:
        raise TypeError(f"{name} must be a torch.device or a device string such as 'cpu', got "
                        f"{type(value).__name__}")
    if device.type == "cuda" and (not torch.cuda.is_available()
                                  or (device.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"{name}={value!r} names a CUDA device this machine does not have")
    return device


def check_subinterval(name: str, value, low: float = 0.0, high: float = 2.0) -> tuple[float, float]:
    """A pair (a, b) of finite real numbers with low <= a < b <= high; returned as floats."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) with {low:g} <= low < high <= {high:g}, got {value!r}")
    a, b = (check_number(f"{name} {end}", v) for end, v in zip(("low end", "high end"), value))
    if not low <= a < b <= high:
        raise ValueError(f"{name} must satisfy {low:g} <= low < high <= {high:g}, got {tuple(value)}")
    return a, b


def check_data_pair(first: str, A: torch.Tensor, second: str, b: torch.Tensor) -> None:
    """A data matrix A (…, m, d) and a vector b (…, m) (targets, labels, shifts): finite, non-empty real floating
    tensors of one dtype and device with b.shape == A.shape[:-1]."""
    check_real_tensor(first, A)
    check_real_tensor(second, b)
    if A.dim() < 2 or b.shape != A.shape[:-1]:
        raise ValueError(f"{first} (…, m, d) and {second} (…, m) do not match: {first} {tuple(A.shape)}, "
                         f"{second} {tuple(b.shape)}")
    if b.dtype != A.dtype or b.device != A.device:
        raise ValueError(f"{second} must have {first}'s dtype {A.dtype} and device {A.device}, got {b.dtype}, "
                         f"{b.device}")


def check_batch_shape(name: str, value) -> tuple[int, ...]:
    """A tuple (or list) of ints >= 1 (the leading batch dimensions of a family of instances)."""
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints >= 1, got {type(value).__name__}")
    return tuple(check_positive_int(f"{name} entry", size) for size in value)


def check_objective(name: str, value, methods: tuple[str, ...] = ("value", "gradient")):
    """An object with the callable methods ``methods`` (e.g. an objective with value and gradient)."""
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise TypeError(f"{name} must provide the methods {', '.join(methods)}; a {type(value).__name__} lacks "
                        f"{', '.join(missing)}")
    return value


def draw_options(generator, dtype) -> dict:
    """Keyword arguments for drawing random tensors (torch.randn(..., **options)) from ``generator`` (None or a
    torch.Generator) in ``dtype`` (a floating torch.dtype) on the generator's device, the CPU without one, so the
    draws are the same whatever device the result is moved to."""
    check_generator("generator", generator)
    check_dtype("dtype", dtype)
    return dict(generator=generator, dtype=dtype, device=generator.device if generator is not None else "cpu")


def check_pairs(name: str, value, what: str = "(objective, x0)") -> list[tuple]:
    """A non-empty list (or tuple) of 2-tuples, e.g. (objective, x0) problems; the entries are the caller's to
    check. Returned as a list."""
    check_instance(name, value, (list, tuple), f"non-empty list of {what} pairs")
    if len(value) == 0:
        raise ValueError(f"{name} must hold at least one {what} pair")
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"{name} must hold {what} pairs, got an entry {type(pair).__name__}")
    return list(value)


def check_path(name: str, value) -> str | os.PathLike:
    """A file-system path: a str or an os.PathLike."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike path, got {type(value).__name__}")
    return value
