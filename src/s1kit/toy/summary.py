"""``DIR/summary.json`` of ``s1kit toy run``: per method and curve, the paper's Control, Scaling and Performance.

Curves come from the run folders' records: budget forcing has one curve per number of ignored stops
(``ignore=0``, ``ignore=1``, ...; points: the caps, "no cap" included), the prompt-based methods and
rejection sampling one curve over the caps (``caps``), and majority vote one curve over the votes
(``maj@k``; a point's compute is k times the mean thinking tokens of one sample, so it compares with
the others at equal compute). The figures are :mod:`s1kit.evaluation.metrics`'s own (Control over the
curve's records, Scaling as the mean pairwise slope in accuracy points per 1,000 thinking tokens,
Performance as the best accuracy), the same functions ``s1kit report`` prints.

``checks`` holds the numbers the paper's shapes are judged by (see docs/toy.md), never a verdict alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError

MAIN_CURVE = "ignore=1"  # budget forcing as the paper runs it: cap the thinking, and "Wait" once past a stop


def _cap(record: dict[str, Any]) -> int | None:
    return ((record.get("setting") or {}).get("budget") or {}).get("max_thinking_tokens")


def _ignore(record: dict[str, Any]) -> int:
    return int(((record.get("setting") or {}).get("budget") or {}).get("num_ignore") or 0)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def curve(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One curve over its settings: the points, Control, Scaling and Performance."""
    from s1kit.evaluation.metrics import (
        accuracy,
        control,
        group_by_setting,
        performance,
        scaling,
        thinking_stats,
    )

    points = []
    for rs in group_by_setting(records).values():
        acc = accuracy(rs)
        points.append(
            {
                "label": rs[0]["setting"]["label"],
                "cap": _cap(rs[0]),
                "thinking_tokens": round(thinking_stats(rs)["mean"], 2),
                "accuracy": round(100 * acc["accuracy"], 2),
                "n": acc["n"],
                "control": round(control(rs), 4),
            }
        )
    xy = [(p["thinking_tokens"], p["accuracy"]) for p in points]
    return {
        "control": round(control(records), 4),
        "scaling": _finite(scaling(xy)),
        "performance": _finite(performance(xy)),
        "points": points,
    }


def vote_curve(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Majority vote over k = 1, 2, 4 ... samples; compute = k x mean thinking tokens of one sample."""
    from s1kit.evaluation.metrics import control, parallel_curves, performance, scaling, thinking_stats

    per_sample = thinking_stats(records)["mean"]
    maj = parallel_curves(records)["maj@k"]
    points = [
        {
            "label": f"maj@{k}",
            "k": k,
            "thinking_tokens": round(k * per_sample, 2),
            "accuracy": round(100 * v, 2),
        }
        for k, v in sorted(maj.items())
    ]
    xy = [(p["thinking_tokens"], p["accuracy"]) for p in points]
    return {
        "control": round(control(records), 4),
        "scaling": _finite(scaling(xy)),
        "performance": _finite(performance(xy)),
        "points": points,
    }


def method_curves(method: str, records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The curves of one method's run."""
    if method == "majority_vote":
        return {"maj@k": vote_curve(records)}
    if method == "budget_forcing":
        by: dict[int, list[dict[str, Any]]] = {}
        for r in records:
            by.setdefault(_ignore(r), []).append(r)
        return {f"ignore={n}": curve(rs) for n, rs in sorted(by.items())}
    return {"caps": curve(records)}


def _point(c: dict[str, Any], cap: Any) -> dict[str, Any] | None:
    return next((p for p in c["points"] if p["cap"] == cap), None)


def checks(methods: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures the paper's shapes are judged by (None where a method was not run)."""
    bf = methods.get("budget_forcing", {})
    main = bf.get(MAIN_CURVE) or {}
    caps = sorted(p["cap"] for p in main.get("points", []) if p["cap"] is not None)
    out: dict[str, Any] = {"main_curve": f"budget_forcing/{MAIN_CURVE}"}
    if caps:
        lo, hi = _point(main, caps[0]), _point(main, caps[-1])
        out["bf_accuracy_smallest_cap"] = lo["accuracy"] if lo else None
        out["bf_accuracy_largest_cap"] = hi["accuracy"] if hi else None
    out["bf_control"] = main.get("control")
    out["bf_scaling"] = main.get("scaling")
    natural = {k: _point(v, None) for k, v in bf.items()}
    out["natural_length_accuracy_by_ignore"] = {k: p["accuracy"] for k, p in natural.items() if p}
    for m in ("token_conditional", "step_conditional", "rejection_sampling"):
        c = methods.get(m, {}).get("caps")
        out[f"{m}_control"] = c["control"] if c else None
        out[f"{m}_scaling"] = c["scaling"] if c else None
    return out


def write_summary(out: str | Path, methods: Sequence[str]) -> dict[str, Any]:
    """Read ``out/runs/<method>`` for each method and write ``out/summary.json``."""
    from s1kit.evaluation.rundir import RECORDS, read_records

    out = Path(out)
    result: dict[str, Any] = {"methods": {}, "runs": {}}
    for m in methods:
        path = out / "runs" / m / RECORDS
        if not path.is_file():
            raise S1kitError(f"{path} is missing: run the eval-{m} stage first (see {out / 'commands.sh'})")
        records = read_records(path)
        result["methods"][m] = method_curves(m, records)
        result["runs"][m] = str(path.parent)
    result["checks"] = checks(result["methods"])
    for name in ("timings.json", "curated/report.json"):
        p = out / name
        if p.is_file():
            doc = json.loads(p.read_text())
            result["timings" if name == "timings.json" else "curation"] = (
                doc.get("stages")
                if name == "timings.json"
                else {"funnel": doc.get("funnel"), "selected": doc.get("selected")}
            )
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


__all__ = ["MAIN_CURVE", "checks", "curve", "method_curves", "vote_curve", "write_summary"]
