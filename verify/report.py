"""Render a results document (verify.results) as a Markdown report.

Sections: run facts; a summary table (one row a claim: verdict and whether it matches THEORY.md's
expectation); every tightness record gathered into one table (bound, worst case found, ratio, label);
then, paper by paper, each claim's statement, source, numbers, counterexample, tables and figures.
Claims whose source includes ``reconstructed`` are labelled so wherever they appear.
"""

from __future__ import annotations

import json
from typing import Any

from verify.catalogue import PAPERS

MATCH_MARK = {True: "matches", False: "**CONTRADICTS**", None: "—"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        if len(value) > 8:
            return "[" + ", ".join(_fmt(v) for v in value[:8]) + f", … ({len(value)} values)]"
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "_(empty)_\n"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _source_label(record: dict) -> str:
    source = record.get("source", "")
    return f"**{source}**" if "reconstructed" in source else source


def _summary(document: dict) -> str:
    run = document["run"]
    env = run.get("environment", {})
    summary = document["summary"]
    state = "complete" if run.get("complete") else "**partial (interrupted or still running)**"
    lines = [
        "# Verification report",
        "",
        f"- run: {state}; started {run.get('started')}, finished {run.get('finished') or '—'}",
        f"- budget `{run.get('budget')}`, device `{run.get('device')}`, dtype `{run.get('dtype')}`, seed {run.get('seed')}",
        f"- torch {env.get('torch')} ({env.get('torch_threads')} threads), numpy {env.get('numpy')}, "
        f"scipy {env.get('scipy')}, sympy {env.get('sympy')}, mpmath {env.get('mpmath')}, "
        f"hypothesis {env.get('hypothesis')}, Python {env.get('python')} on {env.get('platform')}"
        + (f", GPU {env['cuda']}" if env.get("cuda") else ""),
        f"- code: {env.get('code') or 'unknown (not a git checkout)'}"
        + ("; resumed or kept records keep the code they were computed with (in each claim's section)"
           if run.get("resumed") or run.get("kept") else ""),
        "- verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["verdicts"].items())),
        f"- matching THEORY.md's expectation: {summary['matching']}; contradicting: "
        + (", ".join(summary["contradicting"]) if summary["contradicting"] else "none")
        + (f" (documented findings: {', '.join(summary.get('known_findings', []))})"
           if summary.get("known_findings") else ""),
        "",
        "Verdicts: `verified` (holds), `refuted` (counterexample found), `measured` (numbers, no verdict), "
        "`inconclusive`, `diverged`, `error`, `skipped` (needs a GPU), `not-implemented`. Source tags in bold "
        "(**reconstructed**) mark bounds re-derived here because the paper's exact text was not readable.",
        "",
    ]
    return "\n".join(lines)


def _claims_table(records: list[dict]) -> str:
    rows = [{"claim": r["id"], "source": _source_label(r), "check": r.get("check", ""), "expect": r.get("expect", ""),
             "verdict": r["verdict"], "vs expectation": MATCH_MARK[r.get("matches")],
             "time (s)": r.get("duration_s", 0.0)} for r in records]
    return "## Summary\n\n" + markdown_table(rows)


def _tightness(records: list[dict]) -> str:
    rows = []
    for record in records:
        for row in record.get("evidence", {}).get("tables", {}).get("tightness", []):
            rows.append({"claim": record["id"], **{k: row.get(k) for k in
                         ("quantity", "kind", "bound", "worst", "ratio", "label", "rtol", "method", "evaluations")}})
    if not rows:
        return ""
    return ("## Tightness of the bounds\n\nA bound of kind `upper` claims quantity ≤ bound; `worst` is the largest "
            "value found by search (for `lower`, the smallest). Labels at relative precision `rtol`: `tight` (worst "
            "case reaches the bound), `upper`/`lower` (holds, loose by `ratio`), `violated`.\n\n" + markdown_table(rows))


def _claim_section(record: dict) -> str:
    evidence = record.get("evidence", {})
    lines = [f"### `{record['id']}` — {record['verdict']} ({MATCH_MARK[record.get('matches')]})", "",
             f"*{record.get('statement', '')}*", "",
             f"- source: {_source_label(record)}; reference: {record.get('reference', '')}; check: "
             f"{record.get('check', '')}; expected: {record.get('expect', '')}; time {record.get('duration_s', 0)} s"
             + (f"; code {record['code']}" if record.get("code") else "")]
    if record.get("known_finding"):
        lines += ["", f"**Finding (THEORY.md's expectation not met):** {record['known_finding']}"]
    if record.get("error"):
        lines += ["", "```", record["error"], record.get("traceback", ""), "```"]
    if evidence.get("notes"):
        lines += ["", evidence["notes"]]
    if evidence.get("diverged_at") is not None:
        lines += ["", f"Diverged at step {evidence['diverged_at']}."]
    numbers = evidence.get("numbers") or {}
    if numbers:
        lines += [""] + [f"- `{k}`: {_fmt(v)}" for k, v in numbers.items()]
    if record.get("counterexample") is not None:
        lines += ["", "Counterexample (plain numbers, re-checkable without the suite):", "", "```json",
                  json.dumps(record["counterexample"], indent=1), "```"]
    for name, rows in (evidence.get("tables") or {}).items():
        lines += ["", f"**{name}**", "", markdown_table(rows)]
    for figure in record.get("figures") or evidence.get("figures") or []:
        lines += ["", f"![{record['id']}]({figure})"]
    return "\n".join(lines) + "\n"


def render_report(document: dict) -> str:
    records = document["claims"]
    parts = [_summary(document), _claims_table(records), _tightness(records)]
    for paper, title in PAPERS.items():
        paper_records = [r for r in records if r.get("paper") == paper]
        if not paper_records:
            continue
        parts.append(f"## {paper}: {title}\n")
        parts.extend(_claim_section(r) for r in paper_records)
    return "\n".join(p for p in parts if p)
