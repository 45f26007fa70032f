"""Parallel × sequential: N samples × thinking budget, compared at equal total tokens.

One run with a budget sweep (``--budgets``) and ``--samples N`` holds the whole grid: for each
budget b and k = 1, 2, 4 … N, majority voting over k of the samples (by subsampling) costs a total
allowance of k × b thinking tokens per question. Points with the same allowance C lie on one
iso-compute curve; along it, accuracy against k says whether C is better spent on more samples or on
longer thinking. The measured compute (k × mean thinking tokens, which budget forcing keeps at or
under k × b) is recorded beside each point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.evaluation.at_k import k_curve, samples_by_setting
from s1kit.evaluation.metrics import group_by_setting
from s1kit.grading.vote import Equal


@dataclass(frozen=True)
class GridPoint:
    """One (budget, k) cell: the allowance k × budget, measured compute and maj@k accuracy (%)."""

    budget: int
    k: int
    allowance: int
    compute: float
    accuracy: float


def grid_points(records: Sequence[dict[str, Any]], *, equal: Equal | None = None) -> list[GridPoint]:
    """Every (budget, k) cell of a run (settings without a thinking cap are skipped); maj@k votes cluster
    answers by equivalence without the gold (:mod:`s1kit.evaluation.at_k`)."""
    groups = {
        sid: rs
        for sid, rs in group_by_setting(records).items()
        if (rs[0]["setting"].get("budget") or {}).get("max_thinking_tokens") is not None
    }
    clustered = samples_by_setting(groups, equal=equal)
    out = []
    for sid, rs in groups.items():
        cap = rs[0]["setting"]["budget"]["max_thinking_tokens"]
        for k, compute, acc in k_curve(clustered[sid], "majority"):
            out.append(GridPoint(cap, k, k * cap, compute, acc))
    return sorted(out, key=lambda p: (p.allowance, p.k))


def iso_compute(points: Sequence[GridPoint]) -> dict[int, list[GridPoint]]:
    """Allowance C -> its cells ordered by k (only allowances reached by two or more cells)."""
    groups: dict[int, list[GridPoint]] = defaultdict(list)
    for p in points:
        groups[p.allowance].append(p)
    return {c: sorted(ps, key=lambda p: p.k) for c, ps in sorted(groups.items()) if len(ps) > 1}


def format_grid(points: Sequence[GridPoint]) -> str:
    """A text table: one row per iso-compute allowance, one cell per (k × budget)."""
    rows = [f"{'allowance':>9}  cells: k x budget = maj@k accuracy (measured compute)"]
    for c, ps in iso_compute(points).items():
        cells = "  ".join(f"{p.k}x{p.budget}={p.accuracy:.1f}% ({p.compute:.0f})" for p in ps)
        rows.append(f"{c:>9}  {cells}")
    return "\n".join(rows) if len(rows) > 1 else "no two grid cells share an allowance"


def plot_iso_compute(points: Sequence[GridPoint], path: Path) -> Path | None:
    """Accuracy against k (samples), one line per equal-allowance group; None when there is none."""
    curves = iso_compute(points)
    if not curves:
        return None
    from s1kit.evaluation.plots import line_plot

    series = {
        f"{c} tokens": ([p.k for p in ps], [p.accuracy for p in ps], [f"b={p.budget}" for p in ps])
        for c, ps in curves.items()
    }
    return line_plot(
        series,
        path,
        xlabel="samples voted (k); thinking budget = allowance / k",
        ylabel="maj@k accuracy (%)",
        title="iso-compute: parallel vs sequential",
        legend_title="allowance",
    )
