"""Tightness records: a bound against the empirical worst case found by search (PEPit-style labels).

A bound of kind ``upper`` claims quantity ≤ bound for every instance; of kind ``lower``, quantity ≥ bound.
Given the worst case found (the largest quantity for an upper bound, the smallest for a lower one), the
label is, at relative precision ``rtol``:
- ``tight``: the worst case reaches the bound within rtol (the bound cannot be improved);
- ``upper`` / ``lower``: the bound holds but is loose (ratio worst/bound reported);
- ``violated``: the worst case crosses the bound by more than rtol, so the bound is false.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

KINDS = ("upper", "lower")


@dataclass(frozen=True)
class Tightness:
    quantity: str
    bound: float
    worst: float
    kind: str
    rtol: float
    method: str
    evaluations: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not self.rtol > 0:
            raise ValueError(f"rtol must be positive, got {self.rtol}")
        for name in ("bound", "worst"):
            if math.isnan(getattr(self, name)):
                raise ValueError(f"{name} is NaN")

    @property
    def ratio(self) -> float:
        """worst / bound (inf when the bound is 0 and the worst case is not)."""
        if self.bound == 0:
            return 1.0 if self.worst == 0 else math.copysign(math.inf, self.worst)
        return self.worst / self.bound

    @property
    def label(self) -> str:
        if math.isinf(self.bound) or math.isinf(self.worst):
            if self.worst == self.bound:
                return "tight"
            valid = self.worst < self.bound if self.kind == "upper" else self.worst > self.bound
            return self.kind if valid else "violated"
        scale = max(abs(self.bound), abs(self.worst), 1e-300)
        gap = (self.bound - self.worst) if self.kind == "upper" else (self.worst - self.bound)
        if gap < -self.rtol * scale:
            return "violated"
        if gap <= self.rtol * scale:
            return "tight"
        return self.kind

    @property
    def holds(self) -> bool:
        return self.label != "violated"

    def as_row(self) -> dict:
        row = asdict(self)
        row.update(ratio=self.ratio, label=self.label)
        return row


def edge_tightness(quantity: str, bound: float, found: dict) -> Tightness:
    """A step-size bound (sufficient: every η below it passes the criterion) as a lower bound of the edge
    ``found`` (one entry of :func:`lr_edges`). rtol is the width of the edge's bracket, at least 1 %; an edge
    of nan (even the lowest η tried failed) is recorded as 0, so the bound is labelled violated."""
    edge = found["edge"] if math.isfinite(found["edge"]) else 0.0
    ok, fail = found["bracket"]
    rtol = max(1e-2, fail / ok - 1) if 0 < ok and math.isfinite(fail) else 1e-2
    return Tightness(quantity, bound, edge, "lower", rtol, "log-grid scan + bisection", found["evaluations"])
