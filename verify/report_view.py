"""What both reports (Markdown and HTML) show of a results document, computed once: a scorecard per paper, the
standing of each verdict against its expectation, short forms of long values, and the links from a claim to its
spec, check and test.

Standing of a record:
- ``as expected``: the verdict matches the expectation (holds ↔ verified, fails ↔ refuted, measure ↔ measured);
- ``finding``: a documented finding (verify.catalogue ``finding``): the suite's evidence contradicts the paper's
  claim, or cannot decide it, and says so with numbers; ``verify run`` still exits 0;
- ``unexpected``: the verdict contradicts the expectation and no finding documents it (or the check errored):
  ``verify run`` exits 1;
- ``open``: inconclusive, skipped or not implemented, without a finding.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from verify.external import titles_for

STANDINGS = ("as expected", "finding", "unexpected", "open")
LIST_SHOWN = 6      # lists longer than this are summarised (length, range, first values)
TEXT_SHOWN = 300    # strings longer than this are cut


def standing(record: dict) -> str:
    """One of STANDINGS (module docstring)."""
    if record.get("known_finding"):
        return "finding"
    match = record.get("matches")
    if match is True:
        return "as expected"
    if match is False:
        return "unexpected"
    return "open"


ABBREVIATIONS = ("Eq", "Eqs", "Fig", "Figs", "Thm", "Lemma", "e.g", "i.e", "cf", "vs", "al", "approx", "resp")
HEADLINE_CHARS = 260


def _sentences(text: str) -> list[str]:
    """``text`` split after '. ' followed by a capital letter or digit, except after an abbreviation (Eq., Fig.)."""
    sentences, start = [], 0
    for match in re.finditer(r"\.\s+(?=[A-Z0-9(])", text):
        words = text[start:match.start()].split()
        if words and words[-1].strip("([.") in ABBREVIATIONS:
            continue
        sentences.append(text[start:match.start() + 1].strip())
        start = match.end()
    return sentences + ([text[start:].strip()] if text[start:].strip() else [])


def headline(finding: str) -> str:
    """The leading sentences of a finding text, up to about HEADLINE_CHARS characters (at least one sentence of
    40 characters or more, so a bare "refuted at both scales." brings the numbers of the next one)."""
    shown = ""
    for sentence in _sentences(finding):
        if shown and (len(shown) >= 40 or len(shown) + len(sentence) > HEADLINE_CHARS):
            break
        shown = f"{shown} {sentence}".strip()
    if len(shown) > HEADLINE_CHARS:
        shown = shown[:HEADLINE_CHARS].rsplit(" ", 1)[0] + " …"
    return shown


def scorecards(document: dict) -> list[dict]:
    """Per paper (in catalogue order): claims, how many are verified, refuted as expected, measured, documented
    findings against the paper, unexpected, open; and each finding's headline."""
    cards = []
    for paper, title in titles_for(document["claims"]).items():  # papers, then entry-point prefixes
        records = [r for r in document["claims"] if r.get("paper", r["id"].split(".")[0]) == paper]
        if not records:
            continue
        counts = {"claims": len(records),
                  "verified": sum(standing(r) == "as expected" and r["verdict"] == "verified" for r in records),
                  "refuted as expected": sum(standing(r) == "as expected" and r["verdict"] == "refuted"
                                             for r in records),
                  "measured": sum(standing(r) == "as expected" and r["verdict"] in ("measured", "diverged")
                                  for r in records),
                  "findings": sum(standing(r) == "finding" for r in records),
                  "unexpected": sum(standing(r) == "unexpected" for r in records),
                  "open": sum(standing(r) == "open" for r in records)}
        findings = [{"id": r["id"], "verdict": r["verdict"], "headline": headline(r["known_finding"])}
                    for r in records if standing(r) == "finding"]
        unexpected = [{"id": r["id"], "verdict": r["verdict"], "headline": r.get("error") or "contradicts its "
                       f"expectation ({r.get('expect')}) with no documented finding"}
                      for r in records if standing(r) == "unexpected"]
        cards.append({"paper": paper, "title": title, "counts": counts, "findings": findings,
                      "unexpected": unexpected})
    return cards


def _number(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or value in ("inf", "-inf", "nan")


def brief(value: Any) -> str:
    """A short text of a value: numbers with 4 significant digits; a list of more than LIST_SHOWN numbers as
    its length, range and first values; a longer list of rows as its length; long strings cut. The whole value
    stays in results.json."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return value if len(value) <= TEXT_SHOWN else value[:TEXT_SHOWN].rstrip() + " …"
    if isinstance(value, list):
        if len(value) <= LIST_SHOWN:
            return "[" + ", ".join(brief(v) for v in value) + "]"
        if all(_is_number(v) for v in value):
            finite = [float(v) for v in value if isinstance(v, (int, float)) and math.isfinite(float(v))]
            span = f" in [{_number(min(finite))}, {_number(max(finite))}]" if finite else ""
            return f"{len(value)} values{span}, first {', '.join(brief(v) for v in value[:3])} …"
        return f"{len(value)} entries, first {brief(value[0])} …"
    if isinstance(value, dict):
        if len(value) > LIST_SHOWN:
            return f"{{{len(value)} entries: {', '.join(list(value)[:LIST_SHOWN])}, …}}"
        return "{" + ", ".join(f"{k}: {brief(v)}" for k, v in value.items()) + "}"
    return str(value)


def link_targets(record: dict, out: Path | None, root: Path | None = None) -> list[dict]:
    """[{"kind", "text", "href"}] for the claim's spec, check and test: ``text`` the 'path:line' of the record
    (or, for records that predate links, of the current checkout), ``href`` the file relative to the report's
    folder ``out`` (None when the report's folder is unknown)."""
    from verify.catalogue import BY_ID
    from verify.registry import ROOT, claim_links

    root = root or ROOT
    links = dict(record.get("links") or {})
    if not links and record["id"] in BY_ID:
        links = claim_links(BY_ID[record["id"]])
    targets = []
    for kind in ("spec", "check", "test"):
        text = links.get(kind)
        if not text:
            continue
        path = text.split("::")[0].rsplit(":", 1)[0] if kind != "test" else text.split("::")[0]
        href = None
        if out is not None:
            href = os.path.relpath(root / path, Path(out).resolve()) if not Path(path).is_absolute() else path
        targets.append({"kind": kind, "text": text, "href": href})
    return targets


def tightness_rows(records: list[dict]) -> list[dict]:
    """Every tightness record of the run, with its claim."""
    columns = ("quantity", "kind", "bound", "worst", "ratio", "label", "rtol")
    return [{"claim": record["id"], **{key: row.get(key) for key in columns}}
            for record in records for row in (record.get("evidence") or {}).get("tables", {}).get("tightness", [])]


def sweep_rows(records: list[dict]) -> list[dict]:
    """The instances each claim's batched sweeps checked (verify.sweep: evidence numbers ``sweep_instances``,
    ``sweep_violations``, ``sweep_worst_margin``), one row per claim that swept; a claim that does not sweep gets a
    row with its spec's reason (``unbatched``) instead."""
    rows = []
    for record in records:
        numbers = (record.get("evidence") or {}).get("numbers") or {}
        if "sweep_instances" in numbers:
            rows.append({"claim": record["id"], "instances": numbers["sweep_instances"],
                         "violations": numbers.get("sweep_violations"),
                         "worst margin": numbers.get("sweep_worst_margin"), "not batched because": ""})
        elif record.get("unbatched"):
            rows.append({"claim": record["id"], "instances": 0, "violations": "—", "worst margin": "—",
                         "not batched because": record["unbatched"]})
    return rows
