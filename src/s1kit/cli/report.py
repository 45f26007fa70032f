"""``s1kit report``: recompute metrics and plots from the records of one or more run folders.

s1kit report runs/smol-math runs/other-model --out report/ [--paper] [--html report.html]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="run folders written by 's1kit eval'")
    p.add_argument(
        "--out",
        default=None,
        help="where to write summary.json and plots (default: the run folder for one run, else s1kit-report/)",
    )
    p.add_argument(
        "--paper", action="store_true", help="print the s1 paper's Tables 1, 3 and 4 beside the runs"
    )
    p.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained HTML report")


def format_table(summary: dict[str, Any]) -> str:
    """One line per setting (accuracy with its 95% interval, mean thinking tokens, Control), then one line
    per curve with the paper's Control, Scaling and Performance (``summary["curves"]``, the figures of
    :func:`s1kit.evaluation.metrics.curves` that ``s1kit report``'s methods table prints too)."""
    rows = [f"{'setting':28} {'n':>5} {'accuracy':>9} {'95% CI':>15} {'think':>7} {'control':>8}"]
    for s in summary["settings"]:
        lo, hi = s["ci95"]
        rows.append(
            f"{s['setting']['label'][:28]:28} {s['n']:>5} {100 * s['accuracy']:>8.1f}% "
            f"{f'[{100 * lo:.1f}, {100 * hi:.1f}]':>15} {s['mean_thinking_tokens']:>7.0f} {100 * s['control']:>7.0f}%"
        )
    found = [
        (label, c) for by_label in (summary.get("curves") or {}).values() for label, c in by_label.items()
    ]
    if not found:  # a summary written before curves existed
        scal, perf = summary.get("scaling"), summary.get("performance")
        found = [("all settings", {"control": summary["control"], "scaling": scal, "performance": perf})]
    unit = summary.get("scaling_unit", "accuracy points per 1000 thinking tokens")
    for label, c in found:
        scal, perf = c.get("scaling"), c.get("performance")
        rows.append(
            f"curve {label}: Control {100 * c['control']:.0f}%  "
            f"Scaling {'n/a (one point)' if scal is None else f'{scal:.1f}'} ({unit})  "
            f"Performance {0 if perf is None else perf:.1f}%"
        )
    return "\n".join(rows)


def load_run(path: Path) -> tuple[str, list[dict[str, Any]]]:
    from s1kit.evaluation.runner import RECORDS, read_records

    if not (path / RECORDS).is_file():
        raise S1kitError(f"{path} is not a run folder: expected {RECORDS} written by 's1kit eval'")
    from s1kit.evaluation.rundir import check_records, read_config

    read_config(path)  # a corrupt config.yaml is a one-line error here, before any reader meets it
    records = read_records(path / RECORDS)
    if not records:
        raise S1kitError(f"{path / RECORDS} holds no records yet")
    check_records(records, path / RECORDS)
    return path.name or str(path), records


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.checks import check_out_dir, check_out_file
    from s1kit.evaluation.plots import write_plots
    from s1kit.evaluation.runner import write_summary

    if args.out is not None:
        check_out_dir(args.out)
    if args.html is not None:
        check_out_file(args.html, "--html")
    paths = [Path(r) for r in args.runs]
    runs = dict(load_run(p) for p in paths)
    if len(runs) != len(paths):
        raise S1kitError("two run folders have the same name: give folders with distinct names")
    summaries: dict[str, dict[str, Any]] = {}
    if len(paths) == 1 and args.out is None:
        summaries[paths[0].name] = write_summary(paths[0], runs[paths[0].name])
        out = paths[0]
    else:
        out = Path(args.out or "s1kit-report")
        out.mkdir(parents=True, exist_ok=True)
        for p in paths:
            summaries[p.name] = _summary(p, runs[p.name])
        plots = [q.name for q in write_plots(runs, out)]
        (out / "summary.json").write_text(json.dumps({"runs": summaries, "plots": plots}, indent=2))
    for name, s in summaries.items():
        task = (s.get("run") or {}).get("task")
        print(f"== {name}" + (f" ({task})" if task else ""))
        print(format_table(s))
    from s1kit.methods.compare import write_comparison

    methods = write_comparison(runs, out)
    if methods:
        print("\n== methods (Table 3 layout; plot: methods.png)")
        print(methods)
    if args.paper:
        from s1kit.evaluation.paper import format_tables

        print()
        print(format_tables(summaries))
    if args.html:
        _write_html(paths, Path(args.html))
    print(f"wrote {out}")
    return 0


def _summary(path: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    import yaml

    from s1kit.evaluation.metrics import summarize
    from s1kit.evaluation.runner import CONFIG

    s = summarize(records)
    if (path / CONFIG).is_file():
        doc = yaml.safe_load((path / CONFIG).read_text()) or {}
        ident = doc.get("identity") or {}
        s["run"] = {"task": ident.get("task"), "model": ident.get("model"), "resolved": doc.get("resolved")}
    return s


def _write_html(paths: list[Path], target: Path) -> None:
    # Hook for the HTML report (issue 8): s1kit.report.html.write_html(run_dirs, path).
    if importlib.util.find_spec("s1kit.report.html") is None:
        raise S1kitError("--html is not available in this version: s1kit.report.html is not installed")
    from s1kit.report import html as report_html

    report_html.write_html(paths, target)
    print(f"wrote {target}")
