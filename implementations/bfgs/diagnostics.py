"""Per-iteration run records shared by every solver of this package.

A ``Trace`` holds, for each iteration k and instance b (tensors of shape (K, B); reviewers' list in
THEORY.md §2): f(x_{k+1}), ‖g_{k+1}‖, ‖P_k − I‖_∞, ‖P_k − I‖_F, the fraction of clipped entries of P_k,
κ(H_{k+1}) (= κ(B_{k+1}); NaN where not computed), yᵀs, whether −P_k H_k g_k was a descent direction
(gᵀPHg > 0), whether a safeguard fired, plus f(x_0), ‖g_0‖, the step at which each instance diverged
(non-finite f or g; −1 if never), the wall-clock seconds elapsed since the start at each iteration,
function/gradient evaluation counts and the total wall-clock seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from implementations.validation import (
    check_bool,
    check_instance,
    check_nonnegative,
    check_number,
    check_positive_int,
    check_real_tensor,
)

FIELDS = ("f", "grad_norm", "p_dev_inf", "p_dev_fro", "clip_fraction", "cond_H", "ys", "descent",
          "safeguard_fired", "step_length", "line_search_failed", "elapsed")


@dataclass
class Trace:
    f0: torch.Tensor
    grad_norm0: torch.Tensor
    rows: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {name: [] for name in FIELDS})
    diverged_at: torch.Tensor | None = None
    evaluations: int = 0
    wall_time: float = 0.0
    x: torch.Tensor | None = None
    H: torch.Tensor | None = None
    iterates: torch.Tensor | None = None

    started: float = 0.0

    def __post_init__(self) -> None:
        """f0 and grad_norm0 real floating tensors of one shape (B,); rows one list per field of FIELDS; an
        integer diverged_at of shape (B,) or None; counts and times finite and >= 0; x, H, iterates tensors or
        None (TypeError/ValueError naming the field)."""
        check_real_tensor("f0", self.f0, dim=1, finite=False)
        check_real_tensor("grad_norm0", self.grad_norm0, finite=False)
        if self.grad_norm0.shape != self.f0.shape:
            raise ValueError(f"grad_norm0 must have the shape of f0, {tuple(self.f0.shape)}, got "
                             f"{tuple(self.grad_norm0.shape)}")
        check_instance("rows", self.rows, dict)
        if set(self.rows) != set(FIELDS):
            raise ValueError(f"rows must have exactly the keys {FIELDS}, got {sorted(self.rows)}")
        if self.diverged_at is not None and not (isinstance(self.diverged_at, torch.Tensor)
                                                 and not self.diverged_at.is_floating_point()
                                                 and self.diverged_at.shape == self.f0.shape):
            raise TypeError(f"diverged_at must be None or an integer tensor of shape {tuple(self.f0.shape)}, got "
                            f"{self.diverged_at!r}")
        check_positive_int("evaluations", self.evaluations, minimum=0)
        check_nonnegative("wall_time", self.wall_time)
        check_number("started", self.started)
        for name in ("x", "H", "iterates"):
            if getattr(self, name) is not None:
                check_instance(name, getattr(self, name), torch.Tensor, "torch tensor or None")

    def record(self, **values: torch.Tensor) -> None:
        values.setdefault("elapsed", torch.tensor(time.perf_counter() - self.started, dtype=self.f0.dtype,
                                                  device=self.f0.device))
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise KeyError(f"unknown trace fields {sorted(unknown)}")
        batch = self.f0.shape
        for name in FIELDS:
            value = values.get(name)
            if value is None:
                value = torch.full(batch, float("nan"), dtype=self.f0.dtype, device=self.f0.device)
            value = torch.as_tensor(value, dtype=self.f0.dtype, device=self.f0.device).detach()
            self.rows[name].append(torch.broadcast_to(value.reshape(-1) if value.numel() > 1 else value, batch).clone())

    def series(self, name: str) -> np.ndarray:
        """(K, B) numpy array of a recorded field."""
        if not self.rows[name]:
            return np.zeros((0,) + tuple(self.f0.shape))
        return torch.stack(self.rows[name]).cpu().numpy()

    @property
    def iterations(self) -> int:
        return len(self.rows["f"])

    def values_with_start(self) -> np.ndarray:
        """(K + 1, B): f(x_0), f(x_1), …"""
        return np.concatenate([self.f0.detach().cpu().numpy()[None], self.series("f")], axis=0)

    def grad_norms_with_start(self) -> np.ndarray:
        return np.concatenate([self.grad_norm0.detach().cpu().numpy()[None], self.series("grad_norm")], axis=0)

    def select(self, index: int, keep_matrices: bool = True) -> "Trace":
        """The trace of instance ``index`` of a batched run alone (B = 1): its rows, f0, ‖g0‖, diverged_at, x,
        H (dropped when ``keep_matrices`` is False: a d×d matrix per instance is large) and iterates; the
        evaluation count and times are the batch's."""
        batch = self.f0.shape[0]
        if isinstance(index, bool) or not isinstance(index, int) or not -batch <= index < batch:
            raise ValueError(f"index must be an int in [{-batch}, {batch}), got {index!r}")
        check_bool("keep_matrices", keep_matrices)
        pick = slice(index, index + 1) if index >= 0 else slice(batch + index, batch + index + 1)
        part = lambda t: None if t is None else t[pick].clone()  # noqa: E731
        return Trace(f0=part(self.f0), grad_norm0=part(self.grad_norm0),
                     rows={name: [row[pick].clone() for row in rows] for name, rows in self.rows.items()},
                     diverged_at=part(self.diverged_at), evaluations=self.evaluations, wall_time=self.wall_time,
                     x=part(self.x), H=part(self.H) if keep_matrices else None,
                     iterates=None if self.iterates is None else self.iterates[:, pick].clone(), started=self.started)

    def to_plain(self) -> dict:
        """The trace as plain data (tensors, numbers, lists, dicts), e.g. for a file read with weights_only; each
        recorded field as one (K, B) tensor (a file of many small tensors loads slowly: 9 s for a 5-seed study
        stored row by row)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["rows"] = {name: torch.stack(rows) if rows else self.f0.new_zeros((0,) + tuple(self.f0.shape))
                        for name, rows in self.rows.items()}
        return data

    @classmethod
    def from_plain(cls, data: dict) -> "Trace":
        """The trace that ``to_plain`` gave ``data`` (its rows as (K, B) tensors, or as lists of (B,) rows)."""
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError(f"data must be a dict with the keys {sorted(f.name for f in fields(cls))}")
        rows = data["rows"]
        if isinstance(rows, dict):
            rows = {name: list(value.unbind(0)) if isinstance(value, torch.Tensor) else value
                    for name, value in rows.items()}
        return cls(**{**data, "rows": rows})


def stacked_series(traces: list[Trace], name: str) -> np.ndarray:
    """(K_max, ΣB) array of one recorded field over several traces, side by side: a solver stops recording
    once every instance of its batch has diverged, so a shorter trace is padded with NaN after its end."""
    arrays = [trace.series(name) for trace in traces]
    length = max(a.shape[0] for a in arrays)
    return np.concatenate([np.pad(a, ((0, length - a.shape[0]), (0, 0)), constant_values=np.nan) for a in arrays],
                          axis=1)


def iterations_to_tolerance(values: np.ndarray, f_star: np.ndarray | float, tol: float) -> np.ndarray:
    """First k with (f_k − f*) ≤ tol·(f_0 − f*), per instance (columns of ``values`` (K + 1, B));
    −1 where never reached."""
    values = np.asarray(values, dtype=float)
    gap0 = values[0] - f_star
    reached = (values - f_star) <= tol * gap0
    reached &= np.isfinite(values)
    first = np.where(reached.any(0), reached.argmax(0), -1)
    return first
