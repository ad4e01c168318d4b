"""Command line: ``verify list | run | report | notebooks`` (also ``python -m verify``).

Exit status of ``run``: 0 when no verdict contradicts its expectation (other than the documented findings of
verify.catalogue) and no check errored, 1 otherwise; 2 for bad usage or when the output folder cannot be
written (full disk, no permission: a one-line message, everything finished so far kept); when interrupted,
130 for SIGINT (Ctrl-C) and 143 for SIGTERM (everything finished so far is on disk; re-run with ``--resume``).
Every command answers a failure with one line on stderr, never a traceback. ``report --compare OLD NEW``
exits 1 when a claim's verdict changed (for gating a CI job), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import verify
from verify.catalogue import CATALOGUE, DTYPES, PAPERS
from verify.registry import BUDGETS


def claim_rows(paper: str | None = None, builtin_only: bool = False) -> list[dict]:
    """One row per claim: the built-in catalogue, then (unless ``builtin_only``: the README's table) the claims of
    the ``l2o_verify.claims`` entry points (verify.external)."""
    from verify import external
    from verify.registry import implemented_ids, spec_location

    checks = implemented_ids()
    return [{"id": s.id, "paper": s.paper, "source": s.source, "check": s.check, "expect": s.expect,
             "status": "implemented" if s.id in checks else "not implemented",
             "gpu": s.gpu, "slow": s.slow, "finding": s.finding, "reference": s.reference,
             "statement": s.statement, "file": (spec_location(s) or "").rsplit(":", 1)[0] or None,
             "scales": s.scales, "tightness": s.tightness, "bands": s.bands}
            for s in (CATALOGUE if builtin_only else external.all_specs()) if paper is None or s.paper == paper]


def paper_prefix(name: str) -> str:
    """``--paper``: one of the three papers or the prefix of an entry-point claim (verify.external.papers)."""
    from verify.external import ClaimPluginError, papers

    try:
        known = papers()
    except ClaimPluginError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if name not in known:
        raise argparse.ArgumentTypeError(f"unknown paper {name!r}; choose from {', '.join(known)}")
    return name


def claims_markdown(rows: list[dict]) -> str:
    """The claim table of the README (generated; tests/verify checks the README is current)."""
    lines = ["| claim | source | check | expect | status | statement |", "|---|---|---|---|---|---|"]
    for row in rows:
        flags = "".join(f" ({flag})" for flag in ("gpu", "slow") if row[flag])
        flags += "; **finding**: " + row["finding"] if row["finding"] else ""
        statement = row["statement"].replace("|", "\\|")
        lines.append(f"| `{row['id']}` | {row['source']} | {row['check']} | {row['expect']} | "
                     f"{row['status']}{flags} | {statement} |")
    return "\n".join(lines) + "\n"


README_MARKERS = ("<!-- claims:start -->\n", "<!-- claims:end -->")


def update_readme(path: Path, table: str) -> None:
    """Replace the text between the README's claim-table markers with ``table``."""
    text = path.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"{path} lacks the markers {start.strip()} … {end}")
    head, rest = text.split(start, 1)
    path.write_text(head + start + table + end + rest.split(end, 1)[1], encoding="utf-8")


def _cmd_list(args) -> int:
    rows = claim_rows(args.paper)
    if args.update_readme or args.update_docs:
        if args.update_readme:
            update_readme(Path(args.update_readme), claims_markdown(claim_rows(builtin_only=True)))
        if args.update_docs:
            from verify.claims_doc import update_document

            update_document(args.update_docs)
    elif args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif args.markdown:
        print(claims_markdown(rows), end="")
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"{len(rows)} claims ({sum(r['status'] == 'implemented' for r in rows)} implemented)")
        for column in ("id", "source", "check", "expect", "status"):
            table.add_column(column)
        for row in rows:
            flags = "".join(f" [{flag}]" for flag in ("gpu", "slow") if row[flag])
            table.add_row(*(Text(row[key]) for key in ("id", "source", "check", "expect")),
                          Text(row["status"] + flags))
        Console(width=max(120, Console().width)).print(table)
    return 0


def _fail(command: str, message: object, status: int = 2) -> int:
    print(f"verify {command}: {message}", file=sys.stderr)
    return status


def _os_error(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"


def _cmd_run(args) -> int:
    from verify.display import RunDisplay
    from verify.interrupts import Interrupted, signals_raise_interrupted
    from verify.runner import RunConfig, default_out, run

    out = Path(args.out) if args.out else default_out(args.budget)
    try:
        config = RunConfig(patterns=args.ids, paper=args.paper, budget=args.budget, device=args.device,
                           seed=args.seed, out=out, resume=args.resume, jobs=args.jobs, threads=args.threads,
                           gpu_claims_on_cpu=args.gpu_claims_on_cpu, update=args.update, dtype=args.dtype,
                           scheduler=args.scheduler)
    except ValueError as exc:
        return _fail("run", exc)
    kept = f"finished claims are kept in {out}; re-run with --resume"
    with signals_raise_interrupted():
        try:
            with RunDisplay() as display:
                document = run(config, display=display)
        except ValueError as exc:
            return _fail("run", exc)
        except Interrupted as exc:
            return _fail("run", f"interrupted by {exc}: {kept}", exc.exit_status)
        except KeyboardInterrupt:
            return _fail("run", f"interrupted: {kept}", 130)
        except OSError as exc:
            return _fail("run", f"{_os_error(exc)}; {kept}")
    summary = document["summary"]
    print(f"report: {out / 'report.md'} and {out / 'report.html'}; verdicts {summary['verdicts']}; "
          f"contradicting: {summary['contradicting'] or 'none'} "
          f"(documented findings: {summary['known_findings'] or 'none'}; "
          f"unexpected: {summary['unexpected'] or 'none'})", file=sys.stderr)
    return 1 if summary["unexpected"] else 0


def _cmd_compare(args) -> int:
    from verify.compare import compare, load_results, render_markdown, render_text

    old_path, new_path = args.compare
    try:
        result = compare(load_results(old_path), load_results(new_path), args.rtol)
    except ValueError as exc:
        return _fail("report", exc)
    except OSError as exc:
        return _fail("report", f"cannot read {exc.filename or old_path}: {exc.strerror or exc}")
    if args.format == "json":
        print(json.dumps(result, indent=1, ensure_ascii=False))
    elif args.format == "markdown":
        print(render_markdown(result), end="")
    else:
        print(render_text(result), end="")
    return 1 if result["verdict_changes"] else 0


def _cmd_report(args) -> int:
    from verify.html_report import render_html
    from verify.report import render_report
    from verify.results import HTML, REPORT, build_document, load_document, read_records, write_atomic
    from verify.runner import default_out

    if args.compare:
        return _cmd_compare(args)
    out = Path(args.out) if args.out else default_out("quick")
    if out.exists() and not out.is_dir():
        return _fail("report", f"{out} is a file; give --out the output folder of a run")
    try:
        document = load_document(out)
    except FileNotFoundError:
        records = read_records(out)
        if not records:
            return _fail("report", f"nothing to render in {out}")
        asked = records[0].get("requested", records[0])  # the run's device and dtype, not a fallback's
        document = build_document({"complete": False, "budget": records[0].get("budget"),
                                   "device": asked.get("device"), "seed": records[0].get("seed"),
                                   "dtype": asked.get("dtype")}, records)
    except ValueError as exc:
        return _fail("report", exc)
    except OSError as exc:
        return _fail("report", f"cannot read {exc.filename or out}: {exc.strerror or exc}")
    try:
        texts = {REPORT: render_report(document, out), HTML: render_html(document, out)}
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return _fail("report", f"{out / 'results.json'} does not have the shape of a results document "
                               f"({type(exc).__name__}: {exc})")
    try:
        for name, text in texts.items():
            write_atomic(out / name, text)
    except OSError as exc:
        return _fail("report", _os_error(exc))
    print(out / REPORT)
    print(out / HTML)
    return 0


def _cmd_notebooks(args) -> int:
    from verify.notebooks import execute_all

    try:
        results = execute_all(Path(args.dir), Path(args.out), args.scale, args.names or None)
    except ValueError as exc:
        return _fail("notebooks", exc)
    except OSError as exc:
        return _fail("notebooks", _os_error(exc))
    for result in results:
        status = "ok" if result.ok else f"FAILED: {result.error}"
        print(f"{result.name}: {status} ({result.seconds:.1f} s) -> {result.output}")
    return 0 if all(r.ok for r in results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verify", description="Verify the claims of three L2O papers (THEORY.md).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {verify.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="list the claim catalogue")
    p_list.add_argument("--paper", type=paper_prefix, help=f"{', '.join(PAPERS)} or an entry-point claim's prefix")
    fmt = p_list.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--markdown", action="store_true", help="the README's claim table")
    fmt.add_argument("--update-readme", metavar="README", help="rewrite the claim table inside README")
    p_list.add_argument("--update-docs", metavar="CLAIMS_MD",
                        help="rewrite the claim catalogue document (docs/claims.md); with --update-readme, both")
    p_list.set_defaults(func=_cmd_list)

    p_run = sub.add_parser("run", help="run claims and write results.json and report.md")
    p_run.add_argument("ids", nargs="*", help="claim IDs or shell globs (default: all)")
    p_run.add_argument("--paper", type=paper_prefix, help=f"{', '.join(PAPERS)} or an entry-point claim's prefix")
    p_run.add_argument("--budget", choices=BUDGETS, default="quick")
    p_run.add_argument("--device", default="auto", help="cpu, cuda[:N] or auto (default)")
    p_run.add_argument("--dtype", choices=DTYPES, default="float64",
                       help="working precision of the claims that honour it (default float64); the others compute in "
                            "float64 and their records say so")
    p_run.add_argument("--seed", type=int, default=0,
                       help="seeds every claim's random instances and counterexample searches (default 0)")
    p_run.add_argument("--out", help="output folder (default runs/<budget>, ignored by git; the committed reports "
                                     "under reports/ change only when named here)")
    p_run.add_argument("--resume", action="store_true",
                       help="skip claims recorded in the output folder (ones that ended in an error or were "
                            "skipped run again)")
    p_run.add_argument("--update", action="store_true",
                       help="run the selected claims again and keep the other claims recorded in the output folder "
                            "(same budget and seed) in its results and report")
    p_run.add_argument("--jobs", type=int, default=1,
                       help="claims run at a time: N > 1 starts a Dask LocalCluster of N single-threaded worker "
                            "processes on this machine (default 1: one at a time in this process)")
    p_run.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the claims on a running Dask cluster (e.g. tcp://HOST:8786; workers started with "
                            "--nthreads 1, the same checkout installed, --out on a filesystem they all see)")
    p_run.add_argument("--threads", type=int, default=1,
                       help="torch and BLAS threads of every claim (default 1), in each of the --jobs processes; "
                            "results do not depend on --jobs")
    p_run.add_argument("--gpu-claims-on-cpu", action="store_true",
                       help="run the GPU-marked claims on a CPU device too instead of skipping them (slow)")
    p_run.set_defaults(func=_cmd_run)

    p_report = sub.add_parser("report", help="re-render report.md and report.html from the results in a folder, or "
                                             "compare two runs")
    p_report.add_argument("--out", help="output folder of a run (default runs/quick)")
    p_report.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"),
                          help="compare two runs (output folders or results.json files): verdicts changed, claims "
                               "added or removed, numbers moved beyond --rtol, code and environment; exit status 1 "
                               "when a verdict changed")
    p_report.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                          help="output of --compare (default text)")
    p_report.add_argument("--rtol", type=float, default=1e-6,
                          help="relative tolerance below which --compare treats two numbers as equal (default 1e-6)")
    p_report.set_defaults(func=_cmd_report)

    p_nb = sub.add_parser("notebooks", help="execute the open-question notebooks (default into runs/notebooks)")
    p_nb.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    p_nb.add_argument("--scale", choices=("smoke", "quick", "full"), default="quick")
    p_nb.add_argument("--dir", default="notebooks")
    p_nb.add_argument("--out", default="runs/notebooks",
                      help="where the executed copies go (default runs/notebooks; the committed ones are in "
                           "reports/notebooks, refreshed only when named here)")
    p_nb.set_defaults(func=_cmd_notebooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    from verify.external import ClaimPluginError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ClaimPluginError as exc:  # a broken l2o_verify.claims entry point: one line naming it
        return _fail(args.command, exc)


if __name__ == "__main__":
    raise SystemExit(main())
