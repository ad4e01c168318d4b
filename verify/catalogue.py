"""The claim catalogue: every built-in claim's spec, collected from the claim modules.

Each claim lives in one module, verify/claims/<paper>/<name>.py, which holds its spec as data
(``SPEC = ClaimSpec(...)``, literals only; verify.spec) beside the check that produces its evidence (decorated with
``@check(SPEC.id)``, verify.registry). The catalogue reads the specs from the modules' source without importing
them (verify.spec_source), so listing claims stays instant; the order is each paper package's ``ORDER``, the
order of the specification (docs/THEORY.md). A claim without an attached check is listed as ``not implemented``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from verify.spec import (
    BOTH_DTYPES,
    CHECK_KINDS,
    CLAIM_ID,
    DEVICES,
    DTYPES,
    EXPECTATIONS,
    HOST,
    PAPERS,
    SOURCES,
    ClaimSpec,
)
from verify.spec_source import NotLiteral, literal, module_spec, top_level_value

__all__ = ["BOTH_DTYPES", "BY_ID", "CATALOGUE", "CHECK_KINDS", "CLAIM_ID", "DEVICES", "DTYPES", "EXPECTATIONS", "HOST",
           "PAPERS", "SOURCES", "SPEC_FILES", "ClaimSpec", "claim_modules", "read_spec"]

CLAIMS_PACKAGE = Path(__file__).resolve().parent / "claims"


def read_spec(path: Path) -> tuple[ClaimSpec, int] | None:
    """The ``SPEC = ClaimSpec(...)`` of a claim module and its line, read from the source without importing the
    module; None if the module has no SPEC. A SPEC with other than literal arguments is a ValueError naming it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    try:
        return module_spec(tree)
    except NotLiteral:
        raise ValueError(f"{path}: the arguments of SPEC = ClaimSpec(...) must be literals (strings, numbers, "
                         "tuples, dicts; no names, f-strings or calls)") from None


def _order(package: Path) -> tuple[str, ...]:
    """The ``ORDER = (...)`` tuple of module names in a paper package's __init__.py, read without importing it."""
    init = package / "__init__.py"
    value = top_level_value(ast.parse(init.read_text(encoding="utf-8"), filename=str(init)), "ORDER")
    if value is None:
        raise RuntimeError(f"{init} needs ORDER = (...), the claim modules in catalogue order")
    return tuple(literal(value))


def claim_modules(package: Path = CLAIMS_PACKAGE) -> list[Path]:
    """The built-in claim modules, one per claim: verify/claims/<paper>/<name>.py, papers in PAPERS order and
    each paper's modules in its ORDER (modules whose name starts with an underscore hold helpers that several
    claims share). A claim module missing from ORDER, or an ORDER entry without a module, is an error."""
    paths = []
    for paper in PAPERS:
        folder = package / paper
        order = _order(folder)
        present = {path.stem for path in folder.glob("*.py") if not path.name.startswith("_")}
        if set(order) != present or len(order) != len(set(order)):
            raise RuntimeError(f"{folder}/__init__.py: ORDER must list each claim module once; missing "
                               f"{sorted(present - set(order))}, without a module {sorted(set(order) - present)}")
        paths += [folder / f"{name}.py" for name in order]
    return paths


def _collect() -> tuple[tuple[ClaimSpec, ...], dict[str, tuple[Path, int]]]:
    specs, files = [], {}
    for path in claim_modules():
        found = read_spec(path)
        if found is None:
            raise RuntimeError(f"{path}: a claim module needs SPEC = ClaimSpec(...)")
        spec, line = found
        if spec.paper != path.parent.name:
            raise RuntimeError(f"{path}: claim {spec.id!r} belongs under verify/claims/{spec.paper}/")
        if spec.id in files:
            raise RuntimeError(f"duplicate claim ID {spec.id!r} in {files[spec.id][0]} and {path}")
        specs.append(spec)
        files[spec.id] = (path, line)
    return tuple(specs), files


#: Every built-in claim, collected from the SPEC literals of verify/claims/<paper>/*.py; SPEC_FILES: ID → (module
#: path, line of its SPEC).
CATALOGUE, SPEC_FILES = _collect()

BY_ID: dict[str, ClaimSpec] = {spec.id: spec for spec in CATALOGUE}
if len(BY_ID) != len(CATALOGUE):
    raise RuntimeError("duplicate claim IDs in the catalogue")
if any(spec.paper not in PAPERS for spec in CATALOGUE):  # external claims (verify.external) may use other prefixes
    raise RuntimeError("a built-in claim ID does not start with one of the papers of PAPERS")
