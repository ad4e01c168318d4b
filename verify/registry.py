"""Claims: catalogue metadata paired with the function that produces evidence, and the verdict rules.

A check is a function ``fn(ctx: Context) -> Evidence`` attached to a catalogue ID with ``@check(ID)``.
Its docstring states the formula or bound being checked and its source tag. The same function runs from
the CLI (``verify run``), from pytest (tests/test_claims.py) and from notebooks (``run_claim``).

Verdicts:
- ``verified``: the check found the statement to hold (``Evidence.holds is True``);
- ``refuted``: the check found a counterexample (``holds is False``; the counterexample is stored);
- ``measured``: numbers were recorded with no verdict (``holds is None``);
- ``inconclusive``: the check ran but could not decide (e.g. a search budget exhausted without a verdict);
- ``diverged``: the computation the claim rests on diverged (step recorded);
- ``error``: the check raised;
- ``skipped``: needs a GPU that is absent; ``not-implemented``: no check attached yet.

A verdict *matches* its expectation when holds↔verified, fails↔refuted, measure↔measured; it
*contradicts* it when it is the opposite verdict, ``diverged`` on a holds/fails claim, or ``error``.
"""

from __future__ import annotations

import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from verify.catalogue import BY_ID, CATALOGUE, DTYPES, ClaimSpec
from verify.tightness import label_mismatches

VERDICTS = ("verified", "refuted", "measured", "inconclusive", "diverged", "error", "skipped", "not-implemented")
BUDGETS = ("quick", "full")


@dataclass
class Evidence:
    """What a check returns.

    holds: True/False for a verdict, None for a measurement.
    numbers: named plain numbers (floats, ints, lists of them, short strings) anyone can re-check.
    counterexample: for a refuted claim, the minimal instance as plain numbers (nested lists), with the
        margin by which it violates the statement.
    tables: named lists of row dicts (tightness records, sweeps, per-task ratios).
    figures: paths of plots written under ``ctx.figure_dir``.
    notes: one or two sentences a reader needs to interpret the numbers.
    inconclusive / diverged_at: set when the check could not decide, or when the run diverged (step).
    """

    holds: bool | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    counterexample: dict[str, Any] | None = None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    notes: str = ""
    inconclusive: bool = False
    diverged_at: int | None = None

    def verdict(self) -> str:
        if self.diverged_at is not None:
            return "diverged"
        if self.inconclusive:
            return "inconclusive"
        if self.holds is None:
            return "measured"
        if self.holds is False and self.counterexample is None:
            raise ValueError("a refuted claim must carry its counterexample")
        return "verified" if self.holds else "refuted"


@dataclass
class Context:
    """Everything a check may depend on: budget, device, dtype, seed, where to put figures, and
    ``cache_dir``: where a check may keep expensive intermediate state (e.g. meta-training checkpoints)
    that belongs to this run and survives an interruption (None: keep nothing).
    ``gpu_claims_on_cpu``: run GPU-marked claims on a CPU device too instead of skipping them (they are
    marked for their run time, not for anything a CPU computes differently).

    ``rng`` is a numpy Generator and ``torch_generator()`` a fresh torch Generator, both seeded from
    ``seed`` and the claim ID, so a claim's randomness does not depend on which other claims ran.

    ``device`` and ``dtype_name`` (float32 or float64) are what a check computes with: it creates its tensors
    with ``**ctx.like`` (or ``ctx.tensor``, ``ctx.randn``, ``ctx.uniform``) or derives them from tensors that
    were (run_claim hands a check the device and dtype its ClaimSpec honours: supported_context).
    """

    budget: str = "quick"
    device: str = "cpu"
    seed: int = 0
    dtype_name: str = "float64"
    figure_dir: str | None = None
    claim_id: str = ""
    cache_dir: str | None = None
    gpu_claims_on_cpu: bool = False

    def __post_init__(self) -> None:
        if self.budget not in BUDGETS:
            raise ValueError(f"budget must be one of {BUDGETS}, got {self.budget!r}")
        if self.dtype_name not in DTYPES:
            raise ValueError(f"dtype_name must be one of {DTYPES}, got {self.dtype_name!r}")
        self.rng = np.random.default_rng([self.seed, _stable_hash(self.claim_id)])

    @property
    def quick(self) -> bool:
        return self.budget == "quick"

    def scale(self, name: str) -> Any:
        """The size ``name`` of this context's claim at its budget: ``spec.scales[name]`` (quick value, full value)
        of the claim ``claim_id`` (verify.spec.ClaimSpec.scales). KeyError naming the declared scales when the spec
        has no such size."""
        spec = BY_ID.get(self.claim_id) if self.claim_id else None
        if spec is None:
            raise KeyError(f"ctx.scale({name!r}): the context names no known claim (claim_id={self.claim_id!r})")
        if name not in spec.scales:
            raise KeyError(f"ctx.scale({name!r}): claim {spec.id} declares no scale {name!r} (its scales: "
                           f"{sorted(spec.scales)}); add it to its SPEC")
        quick, full = spec.scales[name]
        return quick if self.quick else full

    @property
    def dtype(self):
        import torch

        return getattr(torch, self.dtype_name)

    @property
    def torch_device(self):
        import torch

        return torch.device(self.device)

    @property
    def like(self) -> dict[str, Any]:
        """The ``dtype=`` and ``device=`` keywords of this run, for torch factories and for the helpers of
        implementations/ that take them: ``torch.zeros(3, **ctx.like)``."""
        return {"dtype": self.dtype, "device": self.torch_device}

    def tensor(self, value):
        """``value`` (a number, list, numpy array or tensor) as a tensor in this run's dtype on its device."""
        import torch

        return torch.as_tensor(value, dtype=self.dtype, device=self.torch_device)

    def randn(self, *shape: int, generator):
        """N(0, 1) draws from the CPU ``generator`` (e.g. ``torch_generator()``), drawn in float64 on the host and
        then cast and moved: every device and dtype sees the same instances (rounded to the dtype)."""
        import torch

        return torch.randn(*shape, generator=generator, dtype=torch.float64, device=generator.device).to(**self.like)

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0, generator):
        """U(low, high) draws from the CPU ``generator``, drawn like :meth:`randn` (float64 on the host, then cast
        and moved)."""
        import torch

        host = torch.empty(*shape, dtype=torch.float64, device=generator.device)
        return host.uniform_(low, high, generator=generator).to(**self.like)

    def torch_generator(self, stream: str | None = None):
        """A CPU torch Generator. Without ``stream``: seeded by the next draw of ``rng`` (each call a new one, in
        the order the check asks). With ``stream``: seeded from (seed, claim ID, stream) alone, so a part of a
        check (e.g. one sweep) gets the same numbers wherever it is called and leaves ``rng`` untouched."""
        import torch

        gen = torch.Generator(device="cpu")
        if stream is None:
            gen.manual_seed(int(self.rng.integers(0, 2**62)))
        else:
            seeds = np.random.SeedSequence([self.seed, _stable_hash(self.claim_id), _stable_hash(stream)])
            gen.manual_seed(int(seeds.generate_state(1, np.uint64)[0] >> np.uint64(2)))
        return gen

    def hypothesis_settings(self, **overrides):
        """Hypothesis settings of the profile matching the budget (see verify.profiles)."""
        from verify.profiles import settings_for_budget

        return settings_for_budget(self.budget, **overrides)

    def instance_seed(self, base: int) -> int:
        """The seed of a claim's fixed instance number ``base`` under this run's seed: ``base`` itself at seed 0
        (the published seed-0 reports keep their instances), a different instance for every other seed."""
        return base + 10_007 * self.seed

    @staticmethod
    def instance_seeds(base: int, seeds: list[int]) -> list[int]:
        """The instance seed of fixed instance number ``base`` under each run seed s of ``seeds``: base + 10_007·s,
        :meth:`instance_seed` of a context at seed s, for a claim that repeats its study over several seeds (new
        instances and weights at each, seed 0 keeping its published ones)."""
        return [base + 10_007 * s for s in seeds]

    def search(self, strategy, violation, **overrides):
        """verify.search.search_counterexample with this budget's hypothesis settings (``overrides``, e.g.
        max_examples, as in hypothesis_settings) and a search seeded from ``seed`` and the claim ID, at every
        budget. Hypothesis also mixes constants from the imported project source into its draws, so a search
        reproduces for the same code; every module of the project is imported before the first search
        (verify.search.settle_constant_pool), so what ran before in the process does not matter."""
        from verify.search import search_counterexample

        return search_counterexample(strategy, violation, self.hypothesis_settings(**overrides),
                                     seed=_stable_hash(f"{self.seed}:{self.claim_id}"))


def _stable_hash(text: str) -> int:
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) % 2**32
    return value


@dataclass(frozen=True)
class Claim:
    spec: ClaimSpec
    fn: Callable[[Context], Evidence]

    @property
    def id(self) -> str:
        return self.spec.id


_CHECKS: dict[str, Claim] = {}


def _declared_spec(claim_id: str, module_globals: dict) -> ClaimSpec:
    """The spec of ``claim_id``: the one in the calling module's ``CLAIMS`` (an external module's claim:
    verify.external), else the catalogue's; KeyError when neither has it."""
    declared = module_globals.get("CLAIMS")
    if isinstance(declared, (list, tuple)):
        for spec in declared:
            if isinstance(spec, ClaimSpec) and spec.id == claim_id:
                if any(claim_id == built_in.id for built_in in CATALOGUE):
                    raise ValueError(f"claim {claim_id!r} of {module_globals.get('__name__')}'s CLAIMS clashes with "
                                     "the built-in claim of that ID")
                return spec
    if claim_id in BY_ID:
        return BY_ID[claim_id]
    raise KeyError(f"{claim_id!r} is not in verify.catalogue.CATALOGUE nor in the CLAIMS of "
                   f"{module_globals.get('__name__')}")


def check(claim_id: str) -> Callable[[Callable[[Context], Evidence]], Callable[[Context], Evidence]]:
    """Attach an evidence function to the claim ``claim_id``: a built-in claim (its module's ``SPEC``, collected
    into the catalogue: ``@check(SPEC.id)``) or a claim of the calling module's ``CLAIMS`` (a list of ClaimSpec,
    defined above the check: how a module outside this project adds claims, verify.external)."""
    spec = _declared_spec(claim_id, sys._getframe(1).f_globals)

    def attach(fn: Callable[[Context], Evidence]) -> Callable[[Context], Evidence]:
        if not (fn.__doc__ or "").strip():
            raise ValueError(f"check for {claim_id} needs a docstring stating the formula and its source")
        if claim_id in _CHECKS and (_CHECKS[claim_id].fn.__module__, _CHECKS[claim_id].fn.__qualname__) != (
                fn.__module__, fn.__qualname__):
            raise ValueError(f"two checks registered for {claim_id}")
        _CHECKS[claim_id] = Claim(spec, fn)
        return fn

    return attach


def load_checks() -> dict[str, Claim]:
    """Import every module of verify.claims, then every module of the ``l2o_verify.claims`` entry points
    (verify.external.load), which registers their checks, and return ID → Claim."""
    import importlib
    import pkgutil

    import verify.claims as package
    from verify import external

    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        importlib.import_module(module.name)
    external.load()
    return dict(_CHECKS)


ROOT = Path(__file__).resolve().parent.parent  # the checkout (or site-packages for an installed copy)
CLAIM_TEST = "tests/test_claims.py::test_claim_verdict_matches_expectation"


def _location(path: str | None, line: int | None) -> str | None:
    if not path:
        return None
    resolved = Path(path).resolve()
    shown = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else resolved.as_posix()
    return f"{shown}:{line}" if line else shown


def spec_location(spec: ClaimSpec) -> str | None:
    """``path:LINE`` of the claim's spec: the ``SPEC = ClaimSpec(...)`` of its module verify/claims/<paper>/<name>.py
    for a built-in claim, the ``ClaimSpec("ID", ...)`` entry of its module's CLAIMS for an entry point's claim."""
    from verify import external
    from verify.catalogue import SPEC_FILES

    if spec.id in SPEC_FILES:
        path, line = SPEC_FILES[spec.id]
        return _location(str(path), line)
    declared = external.spec_file(spec.id)
    if declared is None:
        return None
    for number, line in enumerate(Path(declared).read_text(encoding="utf-8").splitlines(), start=1):
        if f'ClaimSpec("{spec.id}"' in line:
            return _location(declared, number)
    return _location(declared, None)


def claim_links(spec: ClaimSpec, fn: Callable | None = None) -> dict[str, str]:
    """Where a reader finds the claim: its spec (catalogue entry), its check (source file and line) and the
    test that runs it, as 'path:line' relative to the repository root."""
    import inspect

    links = {"spec": spec_location(spec), "test": f"{CLAIM_TEST}[{spec.id}]"}
    if fn is not None:
        target = inspect.unwrap(fn)
        try:
            links["check"] = _location(inspect.getsourcefile(target), inspect.getsourcelines(target)[1])
        except (OSError, TypeError):
            pass
    return {key: value for key, value in links.items() if value}


def implemented_ids() -> set[str]:
    """The IDs that ``load_checks()`` would register, read from the ``@check(SPEC.id)`` / ``@check("ID")``
    decorators of the claim modules without importing them (verify.spec_source; importing pulls in torch, scipy
    and sympy: seconds, where listing the catalogue should be instant), and those of the ``l2o_verify.claims``
    entry points, read the same way where their source allows (verify.external.discover). A test keeps the two
    equal."""
    import ast

    from verify import external
    from verify.catalogue import claim_modules
    from verify.spec_source import checked_ids

    ids = set()
    for path in claim_modules():
        ids |= checked_ids(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return ids | external.implemented_ids()


def matches(spec: ClaimSpec, verdict: str) -> bool | None:
    """True if the verdict matches the expectation, False if it contradicts it, None if neither."""
    if verdict == "error":
        return False
    if verdict in ("skipped", "not-implemented", "inconclusive"):
        return None
    expected = {"holds": "verified", "fails": "refuted", "measure": "measured"}[spec.expect]
    if verdict == expected:
        return True
    if verdict == "diverged" and spec.expect == "measure":
        return True
    return False


def supported_context(spec: ClaimSpec, ctx: Context) -> Context:
    """The context the claim's check runs with: ``ctx`` itself when the claim honours its device kind and dtype
    (``spec.devices``, ``spec.dtypes``), else a copy on the first device kind and dtype the claim lists (a
    host-only claim of a ``--device cuda`` run computes on the CPU, a float64-only claim of a ``--dtype float32``
    run in float64)."""
    import dataclasses

    device = ctx.device if ctx.device.split(":", 1)[0] in spec.devices else spec.devices[0]
    dtype_name = ctx.dtype_name if ctx.dtype_name in spec.dtypes else spec.dtypes[0]
    if (device, dtype_name) == (ctx.device, ctx.dtype_name):
        return ctx
    return dataclasses.replace(ctx, device=device, dtype_name=dtype_name)


def record_header(spec: ClaimSpec, ctx: Context, fn: Callable | None = None) -> dict[str, Any]:
    """The fields every record of ``spec`` starts with, whatever became of its check: the spec's statement and
    tags, the context's seed, device, dtype and budget, and the links to its spec, check (``fn``) and test."""
    return {"id": spec.id, "paper": spec.paper, "source": spec.source, "check": spec.check, "expect": spec.expect,
            "statement": spec.statement, "reference": spec.reference, "seed": ctx.seed, "device": ctx.device,
            "dtype": ctx.dtype_name, "budget": ctx.budget, "links": claim_links(spec, fn)}


def run_claim(claim: Claim, ctx: Context) -> dict[str, Any]:
    """Run one claim and return its JSON-ready record (never raises for a failing check). The check runs with
    :func:`supported_context`: the record's ``device`` and ``dtype`` are what it computed on, and ``requested``
    names the run's device and dtype when they differ."""
    import torch

    requested, ctx = ctx, supported_context(claim.spec, ctx)
    started = time.perf_counter()
    record = record_header(claim.spec, ctx, claim.fn)
    if claim.spec.scales:
        record["scales"] = to_jsonable({name: pair[0] if ctx.quick else pair[1]
                                        for name, pair in claim.spec.scales.items()})
    if claim.spec.unbatched:
        record["unbatched"] = claim.spec.unbatched
    if ctx is not requested:
        record["requested"] = {"device": requested.device, "dtype": requested.dtype_name}
    if claim.spec.gpu and not ctx.device.startswith("cuda") and not ctx.gpu_claims_on_cpu:
        record.update(verdict="skipped", matches=None, duration_s=0.0,
                      evidence={"notes": "GPU-marked: run with --device cuda on a GPU machine, or on this CPU "
                                         "with --gpu-claims-on-cpu (slow)"})
        return record
    try:
        torch.manual_seed(ctx.seed)
        evidence = claim.fn(ctx)
        if not isinstance(evidence, Evidence):
            raise TypeError(f"check {claim.id} returned {type(evidence).__name__}, not Evidence")
        mismatches = label_mismatches(evidence.tables, claim.spec.tightness)
        if mismatches:  # a declared tightness label decides: the claim fails whatever its check concluded
            record["tightness_mismatches"] = to_jsonable(mismatches)
            evidence.holds, evidence.inconclusive = False, False
            evidence.counterexample = evidence.counterexample or {"tightness_mismatches": mismatches, "margin": 1.0}
        verdict = evidence.verdict()
        record["evidence"] = to_jsonable({
            "holds": evidence.holds, "numbers": evidence.numbers, "tables": evidence.tables,
            "figures": evidence.figures, "notes": evidence.notes, "diverged_at": evidence.diverged_at,
        })
        record["counterexample"] = to_jsonable(evidence.counterexample)
    except Exception as exc:  # a failing check is a recorded result, not a crash of the run
        verdict = "error"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=12)
    record["verdict"] = verdict
    record["matches"] = matches(claim.spec, verdict)
    if claim.spec.finding and record["matches"] is not True:
        record["known_finding"] = claim.spec.finding
    record["duration_s"] = round(time.perf_counter() - started, 3)
    return record


def to_jsonable(value: Any) -> Any:
    """Convert tensors, arrays and numpy scalars to plain lists and numbers; non-finite floats to strings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    return str(value)
