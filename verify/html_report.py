"""Render a results document as one self-contained HTML file (report.html beside report.md): figures embedded
as data URIs, no fetches, readable offline; the content and order of the Markdown report (verify.report), from
the jinja2 template ``verify/templates/report.html.j2``. The verdict table can be filtered and sorted when
scripts run; the page reads the same without them.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from pathlib import Path

from verify.external import titles_for
from verify.report import ROWS_SHOWN, anchor
from verify.report_view import brief, link_targets, scorecards, standing, sweep_rows, tightness_rows

TEMPLATE = "report.html.j2"
TIGHTNESS_COLUMNS = ["claim", "quantity", "kind", "bound", "worst", "ratio", "label", "rtol"]


def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("verify", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def data_uri(path: Path) -> str | None:
    """The file as a data: URI (None if it cannot be read)."""
    try:
        payload = path.read_bytes()
    except OSError:
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def _view(record: dict, out: Path | None) -> dict:
    evidence = record.get("evidence") or {}
    tables = []
    for name, rows in (evidence.get("tables") or {}).items():
        columns = list(dict.fromkeys(k for row in rows for k in row))
        tables.append({"name": name, "columns": columns, "rows": rows[:ROWS_SHOWN],
                       "more": max(0, len(rows) - ROWS_SHOWN)})
    figures = []
    for figure in record.get("figures") or evidence.get("figures") or []:
        path = Path(figure) if out is None or Path(figure).is_absolute() else Path(out) / figure
        src = data_uri(path)
        if src is not None:
            figures.append({"name": Path(figure).name, "src": src})
    kind = standing(record)
    return {**record, "source": record.get("source", ""), "evidence": evidence, "standing": kind,
            "standing_class": kind.replace(" ", "-"), "link_targets": link_targets(record, out),
            "tables_shown": tables, "embedded_figures": figures,
            "counterexample_json": json.dumps(record.get("counterexample"), indent=1)}


def render_html(document: dict, out: Path | None = None) -> str:
    """The HTML report of ``document``; ``out``: the folder it is written to (figures are read relative to it,
    links to the repository's files are relative to it)."""
    records = [_view(r, out) for r in document["claims"]]
    papers = [{"paper": paper, "title": title, "records": [r for r in records if r.get("paper") == paper]}
              for paper, title in titles_for(document["claims"]).items()]
    run = document["run"]
    return _environment().get_template(TEMPLATE).render(
        run=run, env=run.get("environment") or {}, cards=scorecards(document), records=records,
        papers=[p for p in papers if p["records"]], tightness=tightness_rows(document["claims"]),
        sweeps=sweep_rows(document["claims"]),
        tightness_columns=TIGHTNESS_COLUMNS, anchor=anchor, brief=brief,
        image_count=sum(len(r["embedded_figures"]) for r in records))
