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
from fnmatch import fnmatchcase

from verify.spec import TIGHTNESS_LABELS as LABELS  # noqa: F401 (re-exported)

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


def is_tightness_row(row) -> bool:
    """Whether a table row is a :meth:`Tightness.as_row` (has quantity, kind, rtol and label)."""
    return isinstance(row, dict) and {"quantity", "kind", "rtol", "label"} <= set(row)


def declared_for(quantity: str, declared: dict) -> tuple[str, tuple[str, ...], float | None] | None:
    """(pattern, allowed labels, largest allowed rtol) of the first entry of ``declared`` (a ClaimSpec's
    ``tightness``: fnmatch pattern → (label or tuple of labels, max rtol or None)) whose pattern matches
    ``quantity``; None when none does."""
    for pattern, (labels, max_rtol) in declared.items():
        if fnmatchcase(quantity, pattern):
            return pattern, (labels,) if isinstance(labels, str) else tuple(labels), max_rtol
    return None


def label_mismatches(tables: dict, declared: dict) -> list[dict]:
    """The tightness records of an evidence's ``tables`` whose measured label is not their declared one (PEPit's
    manner: a claim states in advance whether each bound is tight, loose or violated, and at what relative
    precision it can tell), or whose precision is coarser than declared, or that no declaration covers. One row
    per such record: {"table", "quantity", "label", "rtol", "declared", "max_rtol", "problem"}."""
    out = []
    for table, rows in (tables or {}).items():
        for row in rows if isinstance(rows, list) else []:
            if not is_tightness_row(row):
                continue
            found = declared_for(row["quantity"], declared)
            base = {"table": table, "quantity": row["quantity"], "label": row["label"], "rtol": row["rtol"]}
            if found is None:
                out.append({**base, "declared": None, "max_rtol": None,
                            "problem": "no tightness declaration of the claim's spec matches this record"})
                continue
            pattern, labels, max_rtol = found
            if row["label"] not in labels:
                out.append({**base, "declared": list(labels), "max_rtol": max_rtol, "problem": "label"})
            elif max_rtol is not None and row["rtol"] > max_rtol:
                out.append({**base, "declared": list(labels), "max_rtol": max_rtol, "problem": "precision"})
    return out
