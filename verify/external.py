"""Claims from other installed packages: the entry-point group ``l2o_verify.claims``.

A distribution adds claims without editing this project by declaring, in its pyproject.toml::

    [project.entry-points."l2o_verify.claims"]
    myclaims = "mypackage.claims"

The named module (a module, not ``module:attr``) defines at module level, above its checks:

- ``CLAIMS``: a list (or tuple) of :class:`verify.catalogue.ClaimSpec`, the specs of its claims. An ID is dotted
  lowercase words like a built-in one; its first word (``spec.paper``) groups the claims in ``verify list
  --paper`` and in the reports, and may be one of the three papers or a new name. No ID may repeat a built-in
  claim or another entry point's claim;
- ``@check("ID")`` functions (:func:`verify.registry.check`) for the claims it implements; ``check`` finds the
  spec of the ID in the calling module's ``CLAIMS``, so ``CLAIMS`` must come first. A claim of ``CLAIMS``
  without a check is listed as not implemented;
- optionally ``PAPERS = {"prefix": "title"}``: the reports' heading of a new prefix (default: the entry point).

:func:`discover` reads ``CLAIMS``, ``PAPERS`` and the ``@check`` IDs from the module's source without importing
it (``verify list`` stays instant), when every ``ClaimSpec(...)`` argument and the ``@check`` IDs are literals;
otherwise it imports the module. :func:`load` imports every module (which registers its checks) and adds the
specs to ``verify.catalogue.BY_ID``; ``verify.registry.load_checks`` calls it after the built-in claims. A
broken entry point (the module cannot be found or imported, a malformed spec, an ID clashing with a built-in
or another entry point's claim) raises :class:`ClaimPluginError`: one line naming the entry point, which the
command line prints instead of a traceback.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from verify.catalogue import BY_ID, CATALOGUE, PAPERS, ClaimSpec
from verify.spec_source import NotLiteral, checked_ids, literal, spec_from_call, top_level_value

GROUP = "l2o_verify.claims"
BUILTIN_IDS = frozenset(spec.id for spec in CATALOGUE)


class ClaimPluginError(ValueError):
    """A broken ``l2o_verify.claims`` entry point; the message is one line and names it."""


@dataclass(frozen=True)
class ExternalModule:
    """What one entry point contributes: its specs, the IDs it has checks for, its paper titles."""

    entry_point: str  # "name = value", as declared
    module: str
    specs: tuple[ClaimSpec, ...]
    checked: frozenset[str]
    papers: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # the module's source file, when known


def entry_points() -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of the group, sorted by name and value (one per distribution and name)."""
    return sorted(importlib.metadata.entry_points(group=GROUP), key=lambda ep: (ep.name, ep.value))


def _describe(ep: importlib.metadata.EntryPoint) -> str:
    return f"entry point {ep.name} = {ep.value!r} (group {GROUP})"


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _source_path(name: str) -> Path | None:
    """The source file of module ``name`` found without importing it (only the top-level package's finder is
    asked, which imports nothing), or None (not found, or not plain source: then the module is imported)."""
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
        for part in rest:
            if spec is None or spec.submodule_search_locations is None:
                return None
            spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _read_source(path: Path) -> tuple[list, set[str], object]:
    """(specs, checked IDs, PAPERS or None) from the module's source; NotLiteral when they are not literals."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    claims = top_level_value(tree, "CLAIMS")
    if not isinstance(claims, (ast.List, ast.Tuple)):
        raise NotLiteral
    specs = [spec_from_call(node) for node in claims.elts]
    papers = top_level_value(tree, "PAPERS")
    return specs, checked_ids(tree, strict=True), None if papers is None else literal(papers)


def _read_module(module: ModuleType) -> tuple[list, set[str], object]:
    """(specs, checked IDs, PAPERS or None) of an imported module."""
    from verify.registry import _CHECKS

    specs = getattr(module, "CLAIMS", None)
    if not isinstance(specs, (list, tuple)):
        raise ValueError(f"module {module.__name__} must define CLAIMS, a list of verify.catalogue.ClaimSpec, "
                         f"got {type(specs).__name__}")
    checked = {claim_id for claim_id, claim in _CHECKS.items()
               if claim_id not in BUILTIN_IDS and claim.fn.__module__ == module.__name__}
    return list(specs), checked, getattr(module, "PAPERS", None)


def _validated(ep, module: str, specs: list, checked: set[str], papers, seen: dict[str, str],
               path: Path | None) -> ExternalModule:
    """The module's contribution after checking it against the built-in claims and the entry points before it."""
    where = _describe(ep)
    if not specs:
        raise ClaimPluginError(f"{where}: module {module} declares no claim (CLAIMS is empty)")
    ids = []
    for spec in specs:
        if not isinstance(spec, ClaimSpec):
            raise ClaimPluginError(f"{where}: CLAIMS of {module} holds a {type(spec).__name__}, not a ClaimSpec")
        if spec.id in BUILTIN_IDS:
            raise ClaimPluginError(f"{where}: claim {spec.id} clashes with the built-in claim of that ID")
        if spec.id in seen or spec.id in ids:
            raise ClaimPluginError(f"{where}: claim {spec.id} is declared twice (also by {seen.get(spec.id, where)})")
        ids.append(spec.id)
    stray = sorted(checked - set(ids))
    if stray:
        raise ClaimPluginError(f"{where}: @check({stray[0]!r}) in {module} names no claim of its CLAIMS (a module "
                               "may check only the claims it declares)")
    papers = {} if papers is None else papers
    if not isinstance(papers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in papers.items()):
        raise ClaimPluginError(f"{where}: PAPERS of {module} must be a dict of prefix → title strings")
    redefined = sorted(set(papers) & set(PAPERS))
    if redefined:
        raise ClaimPluginError(f"{where}: PAPERS of {module} renames the built-in paper {redefined[0]!r}")
    for claim_id in ids:
        seen[claim_id] = where
    return ExternalModule(f"{ep.name} = {ep.value}", module, tuple(specs), frozenset(checked), dict(papers),
                          None if path is None else str(path))


def _module_name(ep) -> str:
    if ep.attr:
        raise ClaimPluginError(f"{_describe(ep)}: must name a module, not an attribute ({ep.module})")
    return ep.module


def _import(ep, name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # any failure of a third-party module is reported as that entry point's error
        raise ClaimPluginError(f"{_describe(ep)}: cannot import {name}: {_one_line(exc)}") from exc


_DISCOVERED: list[ExternalModule] | None = None
_LOADED: list[ExternalModule] | None = None


def discover() -> list[ExternalModule]:
    """Every entry point's contribution, read from source where possible (module docstring); cached."""
    global _DISCOVERED
    if _LOADED is not None:
        return _LOADED
    if _DISCOVERED is None:
        found, seen = [], {}
        for ep in entry_points():
            name = _module_name(ep)
            path = _source_path(name)
            try:
                if path is None:
                    raise NotLiteral
                specs, checked, papers = _read_source(path)
            except NotLiteral:
                specs, checked, papers = _read_module(_import(ep, name))
            except (OSError, SyntaxError, ValueError, TypeError) as exc:
                raise ClaimPluginError(f"{_describe(ep)}: {_one_line(exc)}") from exc
            found.append(_validated(ep, name, specs, checked, papers, seen, path))
        _DISCOVERED = found
    return _DISCOVERED


def load() -> list[ExternalModule]:
    """Import every entry point's module (registering its checks) and add its specs to verify.catalogue.BY_ID;
    cached (a second call imports nothing)."""
    global _LOADED
    if _LOADED is None:
        found, seen = [], {}
        for ep in entry_points():
            name = _module_name(ep)
            module = _import(ep, name)
            try:
                specs, checked, papers = _read_module(module)
            except ValueError as exc:
                raise ClaimPluginError(f"{_describe(ep)}: {_one_line(exc)}") from exc
            found.append(_validated(ep, name, specs, checked, papers, seen, _source_path(name)))
        for contribution in found:
            BY_ID.update({spec.id: spec for spec in contribution.specs})
        _LOADED = found
    return _LOADED


def reset() -> None:
    """Forget what discover() and load() found (after installing or removing a distribution in this process);
    the specs already added to BY_ID stay."""
    global _DISCOVERED, _LOADED
    _DISCOVERED = _LOADED = None


def specs() -> tuple[ClaimSpec, ...]:
    """The external specs, in entry-point order."""
    return tuple(spec for contribution in discover() for spec in contribution.specs)


def all_specs() -> tuple[ClaimSpec, ...]:
    """The built-in catalogue followed by the external specs."""
    return CATALOGUE + specs()


def implemented_ids() -> set[str]:
    """The IDs of the external claims that have a check."""
    return {claim_id for contribution in discover() for claim_id in contribution.checked}


def papers() -> dict[str, str]:
    """Prefix → title: the three papers, then every external prefix (its PAPERS title, or its entry point)."""
    titles = dict(PAPERS)
    for contribution in discover():
        for prefix, title in contribution.papers.items():
            titles.setdefault(prefix, title)
        for spec in contribution.specs:
            titles.setdefault(spec.paper, f"claims of the entry point {contribution.entry_point}")
    return titles


def titles_for(records: list[dict]) -> dict[str, str]:
    """Prefix → title for the reports of ``records``: :func:`papers`, and for a prefix of a record no installed
    entry point declares (a results file from another environment) a generic title. A broken entry point does
    not stop a report: its prefixes get the generic title."""
    try:
        titles = papers()
    except ClaimPluginError:
        titles = dict(PAPERS)
    for record in records:
        titles.setdefault(record.get("paper", record["id"].split(".")[0]),
                          f"claims added through the {GROUP} entry points")
    return titles


def spec_file(claim_id: str) -> str | None:
    """The source file of the module declaring the external claim ``claim_id`` (None if unknown)."""
    for contribution in discover():
        if any(spec.id == claim_id for spec in contribution.specs):
            return contribution.path
    return None
