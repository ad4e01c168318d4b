"""A claim's spec: the data that states it (ID, statement, source tag, check kind, expectation, reference, flags,
finding, the dtypes and devices its check honours), validated on construction.

Each built-in claim's module, verify/claims/<paper>/<name>.py, holds its spec as ``SPEC = ClaimSpec(...)`` with
literal arguments only, so that verify.catalogue can read it without importing the module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SOURCES = ("paper", "code", "derived", "reconstructed", "standard", "reviewers")
CHECK_KINDS = ("symbolic", "oracle", "property", "sweep", "rate-fit", "tightness", "empirical")
EXPECTATIONS = ("holds", "fails", "measure")
DTYPES = ("float32", "float64")  # the working precisions of `verify run --dtype`
DEVICES = ("cpu", "cuda")  # the device kinds of `verify run --device` (cuda[:N] is of kind cuda)
HOST = ("cpu",)  # devices of a claim that computes on the host only (sympy, mpmath, numpy) or is not ported
BOTH_DTYPES = ("float32", "float64")  # dtypes of a claim whose tolerances follow torch.finfo(ctx.dtype)
# a claim ID: dotted lowercase words, the first naming its paper (or an external group of claims), e.g.
# "bfgs.l2o.output-range"; the same pattern as the record ID of verify/results.schema.json
CLAIM_ID = re.compile(r"[a-z0-9]+(\.[a-z0-9][a-z0-9-]*)+")
PAPERS = {
    "cfgd": "Sobotka, Šimánek, Kordík: Enhancing Fractional Gradient Descent with Learned Optimizers "
    "(arXiv 2510.18783); Shin, Darbon, Karniadakis (arXiv 2104.02259)",
    "bfgs": "Lin, Song, Xu: A Learn-to-Optimize Approach for Coordinate-Wise Step Sizes for "
    "Quasi-Newton Methods (arXiv 2412.00059)",
    "mathl2o": "Song, Lin, Xu: Learning Provably Improves the Convergence of Gradient Descent "
    "(arXiv 2501.18092, NeurIPS 2025)",
}


TIGHTNESS_LABELS = ("tight", "upper", "lower", "violated")  # the labels of verify.tightness.Tightness
SWEEP_MINIMUM = (10_000, 100_000)  # the fewest instances a built-in claim's sweep checks at the quick, full budget


def _valid_tightness(item) -> bool:
    pattern, declared = item
    if not isinstance(pattern, str) or not isinstance(declared, (tuple, list)) or len(declared) != 2:
        return False
    labels, max_rtol = declared
    accepted = (labels,) if isinstance(labels, str) else labels
    return (isinstance(accepted, (tuple, list)) and len(accepted) > 0 and all(a in TIGHTNESS_LABELS for a in accepted)
            and (max_rtol is None or isinstance(max_rtol, (int, float)) and not isinstance(max_rtol, bool)
                 and max_rtol > 0))


@dataclass(frozen=True)
class ClaimSpec:
    """Metadata of one THEORY.md claim.

    ``source`` may name several tags joined by '+' (e.g. "paper+derived"); ``check`` likewise.
    ``gpu`` marks claims that only run on a CUDA device; ``slow`` marks claims too long for CI.
    ``finding``: set when this suite's own evidence contradicts THEORY.md's expectation (or shows it cannot
    be decided): what was found, with the numbers. The expectation stays as THEORY.md states it and the
    report still shows the contradiction; the finding only marks it as known, so that ``verify run`` exits 0
    and pytest treats the claim as a strict xfail (a verdict that starts matching fails the test, prompting
    a review of the finding).
    ``dtypes`` / ``devices``: the working precisions (of DTYPES) and device kinds (of DEVICES) the check honours,
    i.e. creates its tensors in and computes on; run with another, it computes on the first one listed and its
    record says so (verify.registry.run_claim).
    ``scales``: the sizes the check runs at, name → (quick value, full value) (counts, grids, iterations); the check
    reads them with ``ctx.scale(name)`` and the record lists the ones of its budget.
    ``tightness``: for each tightness record the check produces (verify.tightness.Tightness, matched by an fnmatch
    pattern on its quantity), the label it is expected to have (or a tuple of accepted labels) and the largest
    relative precision (rtol) at which that label is meaningful (None: any), declared in advance: a record whose
    label or precision differs, or that no pattern covers, makes the claim fail (verify.registry.run_claim).
    ``bands``: for a claim that computes a prediction, name → (low, high), the interval a measured quantity must
    fall in for the claim to hold, declared in advance with its justification in the check's docstring.
    ``unbatched``: why the claim's statement cannot be evaluated on a batch of random instances (a symbolic
    identity, a meta-training, one measured curve…); empty for a claim that sweeps: one whose scales name
    ``sweep_instances`` (quick, full) evaluates its condition on that many random instances in batches
    (verify.sweep), at least SWEEP_MINIMUM; every built-in claim does one or the other
    (tests/verify/test_verify_sweep.py).
    """

    id: str
    statement: str
    source: str
    check: str
    expect: str
    reference: str
    gpu: bool = False
    slow: bool = False
    finding: str = ""
    dtypes: tuple[str, ...] = ("float64",)
    devices: tuple[str, ...] = DEVICES
    scales: dict = field(default_factory=dict, hash=False)
    tightness: dict = field(default_factory=dict, hash=False)
    bands: dict = field(default_factory=dict, hash=False)
    unbatched: str = ""

    @property
    def paper(self) -> str:
        return self.id.split(".", 1)[0]

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"claim id must be a str, got {type(self.id).__name__}")
        if not CLAIM_ID.fullmatch(self.id):
            raise ValueError(f"claim id {self.id!r} must be dotted lowercase words (letters, digits and '-', at least "
                             "two words, e.g. 'mypaper.model.output-range')")
        for name in ("statement", "source", "check", "expect", "reference", "finding", "unbatched"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"claim {self.id!r}: {name} must be a str, got {type(getattr(self, name)).__name__}")
        for name in ("gpu", "slow"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"claim {self.id!r}: {name} must be a bool, got {type(getattr(self, name)).__name__}")
        for tag in self.source.split("+"):
            if tag not in SOURCES:
                raise ValueError(f"claim {self.id!r}: source tag {tag!r} not in {SOURCES}")
        for kind in self.check.split("+"):
            if kind not in CHECK_KINDS:
                raise ValueError(f"claim {self.id!r}: check kind {kind!r} not in {CHECK_KINDS}")
        if self.expect not in EXPECTATIONS:
            raise ValueError(f"claim {self.id!r}: expectation {self.expect!r} not in {EXPECTATIONS}")
        if not isinstance(self.scales, dict) or not all(
                isinstance(name, str) and isinstance(pair, (tuple, list)) and len(pair) == 2
                for name, pair in self.scales.items()):
            raise ValueError(f"claim {self.id!r}: scales must be a dict of name → (quick value, full value), "
                             f"got {self.scales!r}")
        if not isinstance(self.tightness, dict) or not all(map(_valid_tightness, self.tightness.items())):
            raise ValueError(f"claim {self.id!r}: tightness must be a dict of quantity pattern → (label or tuple of "
                             f"labels of {TIGHTNESS_LABELS}, max rtol > 0 or None), got {self.tightness!r}")
        if not isinstance(self.bands, dict) or not all(
                isinstance(name, str) and isinstance(band, (tuple, list)) and len(band) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in band) and band[0] < band[1]
                for name, band in self.bands.items()):
            raise ValueError(f"claim {self.id!r}: bands must be a dict of name → (low, high) with low < high, "
                             f"got {self.bands!r}")
        if "sweep_instances" in self.scales and self.unbatched:
            raise ValueError(f"claim {self.id!r}: a claim that sweeps (scales['sweep_instances']) has no 'unbatched' "
                             "reason")
        for name, allowed in (("dtypes", DTYPES), ("devices", DEVICES)):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not value or any(item not in allowed for item in value):
                raise ValueError(f"claim {self.id!r}: {name} must be a non-empty tuple of {allowed}, got {value!r}")
