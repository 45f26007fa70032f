"""``DIR/summary.json`` of ``s1kit toy run``: per method and curve, the paper's Control, Scaling and Performance.

The curves and their figures are the run folders' own (``runs/<method>/summary.json``, written by
``s1kit eval`` with :func:`s1kit.evaluation.metrics.curves`, the one implementation ``s1kit report``
prints): budget forcing has one curve per number of ignored stops (``budget_forcing``,
``budget_forcing +1 Wait``, ...; points: the caps, ``∞`` for no cap), the prompt-based methods and
rejection sampling one curve over the caps (compute counts every try), majority vote one curve over
k = 1, 2, 4, 8 samples (compute = k x the thinking tokens of one sample). This module only gathers
them by method and adds ``checks``: the figures the paper's shapes are judged by (docs/toy.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError

MAIN_CURVE = "budget_forcing"  # the caps with no ignored stop: the curve the cap claims (Control, Scaling, 3x) are about
NO_CAP = "∞"


def _point(curve: dict[str, Any], at: str) -> float | None:
    return next((p["accuracy"] for p in curve.get("points", []) if p["at"] == at), None)


def checks(methods: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The figures the paper's shapes are judged by (None where a method was not run)."""
    bf = methods.get("budget_forcing", {})
    main = bf.get(MAIN_CURVE) or {}
    caps = sorted(int(p["at"]) for p in main.get("points", []) if p["at"] != NO_CAP)
    out: dict[str, Any] = {"main_curve": MAIN_CURVE, "caps": caps}
    out["bf_accuracy_smallest_cap"] = _point(main, str(caps[0])) if caps else None
    out["bf_accuracy_largest_cap"] = _point(main, str(caps[-1])) if caps else None
    out["bf_control"] = main.get("control")
    out["bf_scaling"] = main.get("scaling")
    out["natural_length_accuracy"] = {label: _point(c, NO_CAP) for label, c in bf.items()}
    for m in ("token_conditional", "step_conditional", "rejection_sampling"):
        c = methods.get(m, {}).get(m)
        out[f"{m}_control"] = c["control"] if c else None
        out[f"{m}_scaling"] = c["scaling"] if c else None
    return out


def write_summary(out: str | Path, methods: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Gather ``out/runs/<method>/summary.json``'s curves for each method into ``out/summary.json``."""
    out = Path(out)
    result: dict[str, Any] = {"methods": {}, "runs": {}}
    for m in methods:
        path = out / "runs" / m / "summary.json"
        if not path.is_file():
            raise S1kitError(f"{path} is missing: run the eval-{m} stage first (see {out / 'commands.sh'})")
        curves = json.loads(path.read_text()).get("curves") or {}
        result["methods"][m] = curves.get(m, {})
        result["runs"][m] = str(path.parent)
    result["checks"] = checks(result["methods"])
    timings, report = out / "timings.json", out / "curated" / "report.json"
    if timings.is_file():
        result["timings"] = json.loads(timings.read_text()).get("stages")
    if report.is_file():
        doc = json.loads(report.read_text())
        result["curation"] = {"funnel": doc.get("funnel"), "selected": doc.get("selected")}
    (out / "summary.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


__all__ = ["MAIN_CURVE", "NO_CAP", "checks", "write_summary"]
