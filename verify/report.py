"""Render a results document (verify.results) as a Markdown report, in the order of the HTML report
(verify.html_report): run facts; a scorecard per paper with the headline of each documented finding; the table of
claims with each verdict's standing (verify.report_view: as expected, documented finding, unexpected, open);
every tightness record; then, paper by paper, each claim's statement, source, links to its spec, check and test,
numbers, counterexample, tables and figures. Long values are summarised (verify.report_view.brief) and long
tables cut; results.json keeps them whole. Claims whose source includes ``reconstructed`` are marked so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verify.external import titles_for
from verify.report_view import brief, link_targets, scorecards, standing, sweep_rows, tightness_rows

STANDING_MARK = {"as expected": "as expected", "finding": "documented finding (contradicts the paper)",
                 "unexpected": "**UNEXPECTED**", "open": "—"}
ROWS_SHOWN = 20


def _cell(value: Any) -> str:
    return brief(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]], columns: list[str] | None = None, limit: int | None = None) -> str:
    """A Markdown table of ``rows`` (columns: the union of their keys, in order), cells through ``brief``;
    with ``limit``, only the first rows and a line saying how many more results.json holds."""
    if not rows:
        return "_(empty)_\n"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    shown = rows if limit is None else rows[:limit]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in shown]
    if len(shown) < len(rows):
        lines.append(f"\n_… {len(rows) - len(shown)} more rows in results.json_")
    return "\n".join(lines) + "\n"


def anchor(claim_id: str) -> str:
    return "claim-" + claim_id.replace(".", "-")


def _source_label(record: dict) -> str:
    source = record.get("source", "")
    return f"**{source}**" if "reconstructed" in source else source


def _run_facts(document: dict) -> str:
    run = document["run"]
    env = run.get("environment", {})
    state = "complete" if run.get("complete") else "**partial (interrupted or still running)**"
    lines = [
        "# Verification report",
        "",
        f"- run: {state}; started {run.get('started')}, finished {run.get('finished') or '—'}",
        f"- budget `{run.get('budget')}`, device `{run.get('device')}`, dtype `{run.get('dtype')}`, "
        f"seed {run.get('seed')}, {run.get('threads', env.get('torch_threads'))} thread(s) per claim",
        f"- torch {env.get('torch')}, numpy {env.get('numpy')}, scipy {env.get('scipy')}, sympy {env.get('sympy')}, "
        f"mpmath {env.get('mpmath')}, hypothesis {env.get('hypothesis')}, Python {env.get('python')} on "
        f"{env.get('platform')}" + (f", GPU {env['cuda']}" if env.get("cuda") else ""),
        f"- code: {env.get('code') or 'unknown (not a git checkout)'}"
        + ("; resumed or kept records keep the code they were computed with (in each claim's section)"
           if run.get("resumed") or run.get("kept") else ""),
        "",
        "Standing of a verdict: *as expected* (holds ↔ verified, fails ↔ refuted, measure ↔ measured); "
        "*documented finding*: the suite's evidence contradicts the paper's claim (or cannot decide it) and says so "
        "with numbers, `verify run` exits 0; **UNEXPECTED**: contradicts the expectation with no finding, or the "
        "check errored, `verify run` exits 1. Source tags in bold (**reconstructed**) mark bounds re-derived here "
        "because the paper's exact text was not readable.",
        "",
    ]
    return "\n".join(lines)


def _scorecards(document: dict) -> str:
    columns = ["paper", "claims", "verified", "refuted as expected", "measured", "findings", "unexpected", "open"]
    cards = scorecards(document)
    lines = ["## Scorecards", "", markdown_table([{"paper": c["paper"], **c["counts"]} for c in cards], columns)]
    for card in cards:
        notes = [(item, "finding") for item in card["findings"]] + [(item, "UNEXPECTED") for item in card["unexpected"]]
        if notes:
            lines.append(f"**{card['paper']}**: {card['title']}\n")
            lines += [f"- [`{item['id']}`](#{anchor(item['id'])}) ({item['verdict']}, {kind}): {item['headline']}"
                      for item, kind in notes]
            lines.append("")
    return "\n".join(lines)


def _claims_table(records: list[dict]) -> str:
    rows = [{"claim": f"[{r['id']}](#{anchor(r['id'])})", "source": _source_label(r), "check": r.get("check", ""),
             "expect": r.get("expect", ""), "verdict": r["verdict"], "standing": STANDING_MARK[standing(r)],
             "time (s)": r.get("duration_s", 0.0)} for r in records]
    return "## Claims\n\n" + markdown_table(rows)


def _table_section(title: str, explanation: str, rows: list[dict]) -> str:
    """A ``## title`` section: the explanation, then the rows as a table; empty without rows."""
    return f"## {title}\n\n{explanation}\n\n" + markdown_table(rows) if rows else ""


def _tightness(records: list[dict]) -> str:
    return _table_section(
        "Tightness of the bounds",
        "A bound of kind `upper` claims quantity ≤ bound; `worst` is the largest value found by search (for `lower`, "
        "the smallest). Labels at relative precision `rtol`: `tight` (worst case reaches the bound), `upper`/`lower` "
        "(holds, loose by `ratio`), `violated`.", tightness_rows(records))


def _sweeps(records: list[dict]) -> str:
    return _table_section(
        "Instances checked by sweeps", "Batched sweeps of a claim's condition over random instances (verify.sweep): "
        "instances checked, violations (margin > 0) and the worst margin (≤ 0: holds on all); a claim that cannot be "
        "evaluated on a batch of instances says why.", sweep_rows(records))


def _claim_section(record: dict, out: Path | None) -> str:
    evidence = record.get("evidence", {})
    links = "; ".join(f"{t['kind']}: [`{t['text']}`]({t['href']})" if t["href"] else f"{t['kind']}: `{t['text']}`"
                      for t in link_targets(record, out))
    lines = [f'<a id="{anchor(record["id"])}"></a>', "",
             f"### `{record['id']}` — {record['verdict']} ({STANDING_MARK[standing(record)]})", "",
             f"*{record.get('statement', '')}*", "",
             f"- source: {_source_label(record)}; reference: {record.get('reference', '')}; check: "
             f"{record.get('check', '')}; expected: {record.get('expect', '')}; time {record.get('duration_s', 0)} s"
             + (f"; code {record['code']}" if record.get("code") else "")
             + (f"; computed on `{record.get('device')}` in `{record.get('dtype')}` (the run asked for "
                f"`{record['requested']['device']}`, `{record['requested']['dtype']}`)"
                if record.get("requested") else "")]
    if links:
        lines.append(f"- {links}")
    if record.get("known_finding"):
        lines += ["", f"**Documented finding (the paper's claim is not supported here):** {record['known_finding']}"]
    if record.get("error"):
        lines += ["", "```", record["error"], record.get("traceback", ""), "```"]
    if evidence.get("notes"):
        lines += ["", evidence["notes"]]
    if evidence.get("diverged_at") is not None:
        lines += ["", f"Diverged at step {evidence['diverged_at']}."]
    numbers = evidence.get("numbers") or {}
    if numbers:
        lines += [""] + [f"- `{k}`: {_cell(v)}" for k, v in numbers.items()]
    if record.get("counterexample") is not None:
        lines += ["", "Counterexample (plain numbers, re-checkable without the suite):", "", "```json",
                  json.dumps(record["counterexample"], indent=1), "```"]
    for name, rows in (evidence.get("tables") or {}).items():
        lines += ["", f"**{name}**", "", markdown_table(rows, limit=ROWS_SHOWN)]
    for figure in record.get("figures") or evidence.get("figures") or []:
        lines += ["", f"![{record['id']}]({figure})"]
    return "\n".join(lines) + "\n"


def render_report(document: dict, out: Path | None = None) -> str:
    """The Markdown report of ``document``; ``out``: the folder it is written to (for relative links)."""
    records = document["claims"]
    parts = [_run_facts(document), _scorecards(document), _claims_table(records), _tightness(records), _sweeps(records)]
    for paper, title in titles_for(records).items():  # the three papers, then entry-point prefixes
        paper_records = [r for r in records if r.get("paper", r["id"].split(".")[0]) == paper]
        if not paper_records:
            continue
        parts.append(f"## {paper}: {title}\n")
        parts.extend(_claim_section(r, out) for r in paper_records)
    return "\n".join(p for p in parts if p)
