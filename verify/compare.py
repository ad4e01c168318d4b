"""What changed between two runs (``verify report --compare OLD NEW``): claims whose verdict changed, claims added
or removed, numbers that moved beyond a relative tolerance, and the code and environment that differ.

Numbers are compared leaf by leaf over each record's evidence (numbers and tables) and counterexample: two
numbers a, b differ when |a − b| > rtol · max(|a|, |b|) (non-finite values, stored as strings, differ when their
strings do); other leaves (strings, booleans) when they are unequal. Timings are not compared: keys naming
seconds, durations, elapsed or wall-clock time, and the wall-clock ratios built from them; nor figure paths
(they name the output folder).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterator

from verify.results import JSON, load_document

TIMING = re.compile(r"seconds|duration|elapsed|wall|(^|_)time(_|$)|time_s")
NOT_COMPARED = ("figures",)
DEFAULT_RTOL = 1e-6
ENVIRONMENT_KEYS = ("python", "platform", "torch", "numpy", "scipy", "sympy", "mpmath", "hypothesis", "l2o_verify",
                    "cuda", "torch_threads")


def load_results(path: str | Path) -> dict:
    """A results document from an output folder or a results.json file (ValueError naming it otherwise)."""
    path = Path(path)
    if path.is_dir():
        return load_document(path)
    if path.is_file():
        return load_document(path.parent) if path.name == JSON else _load_file(path)
    raise ValueError(f"{path} is neither an output folder nor a results.json file")


def _load_file(path: Path) -> dict:
    from verify.results import SCHEMA_FILE, schema_errors

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON file ({exc})") from None
    errors = schema_errors(document)
    if errors:
        raise ValueError(f"{path} breaks the results schema ({SCHEMA_FILE}): {errors[0]}")
    return document


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if not TIMING.search(str(key)) and key not in NOT_COMPARED:
                yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _differ(a: Any, b: Any, rtol: float) -> float | None:
    """The relative difference of two numbers when it exceeds rtol (inf for non-numbers that differ), else None."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    if not numbers:
        return None if a == b else math.inf
    a, b = float(a), float(b)
    if a == b:
        return None
    scale = max(abs(a), abs(b))
    relative = abs(a - b) / scale if scale > 0 else math.inf
    return relative if relative > rtol else None


def compare(old: dict, new: dict, rtol: float = DEFAULT_RTOL) -> dict:
    """The differences of two results documents (module docstring); JSON-ready."""
    if not (isinstance(rtol, (int, float)) and not isinstance(rtol, bool) and 0 <= rtol < math.inf):
        raise ValueError(f"rtol must be a non-negative finite number, got {rtol!r}")
    before = {r["id"]: r for r in old["claims"]}
    after = {r["id"]: r for r in new["claims"]}
    common = [claim_id for claim_id in after if claim_id in before]
    verdicts = [{"id": i, "old": before[i]["verdict"], "new": after[i]["verdict"],
                 "old_matches": before[i].get("matches"), "new_matches": after[i].get("matches")}
                for i in common if before[i]["verdict"] != after[i]["verdict"]]
    moved = []
    for claim_id in common:
        old_leaves = dict(_leaves({"evidence": before[claim_id].get("evidence"),
                                   "counterexample": before[claim_id].get("counterexample")}))
        new_leaves = dict(_leaves({"evidence": after[claim_id].get("evidence"),
                                   "counterexample": after[claim_id].get("counterexample")}))
        for path in sorted(set(old_leaves) | set(new_leaves)):
            a, b = old_leaves.get(path), new_leaves.get(path)
            relative = _differ(a, b, rtol)
            if relative is not None:
                moved.append({"id": claim_id, "path": path, "old": a, "new": b,
                              "relative": relative if math.isfinite(relative) else "inf"})
    old_env = old["run"].get("environment") or {}
    new_env = new["run"].get("environment") or {}
    environment = {key: {"old": old_env.get(key), "new": new_env.get(key)} for key in ENVIRONMENT_KEYS
                   if old_env.get(key) != new_env.get(key)}
    settings = {key: {"old": old["run"].get(key), "new": new["run"].get(key)}
                for key in ("budget", "seed", "device", "dtype", "threads")
                if old["run"].get(key) != new["run"].get(key)}
    return {"rtol": rtol, "verdict_changes": verdicts,
            "added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
            "moved": moved, "moved_claims": sorted({m["id"] for m in moved}),
            "code": {"old": old_env.get("code"), "new": new_env.get("code")},
            "environment": environment, "settings": settings}


def _value(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else json.dumps(value, ensure_ascii=False)[:80]


def render_markdown(result: dict, limit: int = 50) -> str:
    """The comparison as Markdown (at most ``limit`` moved numbers listed; the JSON form has them all)."""
    lines = ["# Comparison of two runs", ""]
    code = result["code"]
    lines.append(f"- code: {code['old'] or 'unknown'} → {code['new'] or 'unknown'}")
    for key, change in {**result["settings"], **result["environment"]}.items():
        lines.append(f"- {key}: {change['old']} → {change['new']}")
    lines += ["", f"## Verdicts changed ({len(result['verdict_changes'])})", ""]
    lines += [f"- `{c['id']}`: {c['old']} → {c['new']}" for c in result["verdict_changes"]] or ["none"]
    for title, key in (("Claims added", "added"), ("Claims removed", "removed")):
        lines += ["", f"## {title} ({len(result[key])})", ""]
        lines += [f"- `{claim_id}`" for claim_id in result[key]] or ["none"]
    moved = result["moved"]
    lines += ["", f"## Numbers moved beyond rtol = {result['rtol']:g} ({len(moved)} in "
                  f"{len(result['moved_claims'])} claims)", ""]
    if moved:
        lines += ["| claim | where | old | new | relative |", "|---|---|---|---|---|"]
        lines += [f"| `{m['id']}` | `{m['path']}` | {_value(m['old'])} | {_value(m['new'])} | {_value(m['relative'])} |"
                  for m in moved[:limit]]
        if len(moved) > limit:
            lines.append(f"\n_… {len(moved) - limit} more in the JSON form (`--format json`)_")
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"


def render_text(result: dict, limit: int = 20) -> str:
    """A short terminal summary."""
    lines = [f"code {result['code']['old'] or 'unknown'} -> {result['code']['new'] or 'unknown'}"]
    lines += [f"{key}: {change['old']} -> {change['new']}"
              for key, change in {**result["settings"], **result["environment"]}.items()]
    lines.append(f"verdicts changed: {len(result['verdict_changes'])}")
    lines += [f"  {c['id']}: {c['old']} -> {c['new']}" for c in result["verdict_changes"]]
    lines.append(f"claims added: {', '.join(result['added']) or 'none'}; "
                 f"removed: {', '.join(result['removed']) or 'none'}")
    lines.append(f"numbers moved beyond rtol {result['rtol']:g}: {len(result['moved'])} in "
                 f"{len(result['moved_claims'])} claims")
    lines += [f"  {m['id']} {m['path']}: {_value(m['old'])} -> {_value(m['new'])}" for m in result["moved"][:limit]]
    if len(result["moved"]) > limit:
        lines.append(f"  … {len(result['moved']) - limit} more (--format json lists them all)")
    return "\n".join(lines) + "\n"
