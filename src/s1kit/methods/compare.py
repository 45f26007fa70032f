"""Every method on one accuracy-against-compute plot, and a table in the layout of the paper's Table 3.

A *line* is one curve of :func:`s1kit.evaluation.metrics.curves` (the same curves, with the same Control,
Scaling and Performance, that ``summary.json`` and ``s1kit eval`` print): a method variant over the run's
thinking caps, or, for the methods that combine N samples, k = 1, 2, 4 … N samples combined by a vote
(clustered without the gold) or a scorer. Compute is the thinking tokens per question across all samples
and tries (:func:`s1kit.evaluation.at_k.compute_tokens`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from s1kit.evaluation.metrics import COMBINED, SCALING_UNIT, Curve, curves
from s1kit.grading.vote import Equal
from s1kit.methods import grid

PARALLEL = COMBINED  # methods whose settings also give k-sample curves
Line = Curve  # one method variant's curve (the name this module used before the curves moved to metrics)


def method_lines(
    records: Sequence[dict[str, Any]], prefix: str = "", *, equal: Equal | None = None
) -> list[Curve]:
    """The lines a run contributes to the comparison: its curves (:func:`s1kit.evaluation.metrics.curves`,
    the figures ``summary.json`` and ``s1kit eval`` print), labels prefixed with ``prefix``."""
    return [dataclasses.replace(c, label=prefix + c.label) for c in curves(records, equal=equal)]


def all_lines(runs: Mapping[str, Sequence[dict[str, Any]]], *, equal: Equal | None = None) -> list[Curve]:
    """Every run's curves; labels carry the run name when there are several runs."""
    many = len(runs) > 1
    return [
        ln for name, rs in runs.items() for ln in method_lines(rs, f"{name}: " if many else "", equal=equal)
    ]


def format_methods_table(lines: Sequence[Line]) -> str:
    """Table 3 layout: method, Control, Scaling, Performance, and the compute range."""
    rows = [f"{'method':52} {'control':>8} {'scaling':>8} {'perf.':>7} {'compute':>15}", "-" * 94]
    for line in lines:
        span = f"{min(c for c, _, _ in line.points):.0f}-{max(c for c, _, _ in line.points):.0f}"
        scal, perf = line.scaling, line.performance
        rows.append(
            f"{line.label[:52]:52} {100 * line.control:>7.0f}% "
            f"{'n/a' if scal is None else f'{scal:.1f}':>8} {perf or 0:>6.1f}% {span:>15}"
        )
    rows.append(f"scaling: {SCALING_UNIT}; compute: thinking tokens per question, all samples and tries")
    return "\n".join(rows)


def plot_methods(lines: Sequence[Line], path: Path) -> Path:
    """Accuracy against compute (log2), one line per method variant."""
    from s1kit.evaluation.plots import line_plot

    series = {
        line.label: (
            [max(c, 1.0) for c, _, _ in line.points],
            [a for _, a, _ in line.points],
            [t for _, _, t in line.points],
        )
        for line in lines
    }
    return line_plot(
        series,
        path,
        xlabel="thinking tokens per question, all samples (log2)",
        ylabel="accuracy (%)",
        title="test-time scaling methods at equal compute",
        size=(7.2, 4.8),
        fontsize=6,
    )


def write_comparison(runs: Mapping[str, Sequence[dict[str, Any]]], out: Path) -> str:
    """Write ``methods.png``, ``methods_table.txt`` (and ``iso_compute.png`` for a grid); return the text."""
    out.mkdir(parents=True, exist_ok=True)
    lines = all_lines(runs)
    if not lines:
        return ""
    plot_methods(lines, out / "methods.png")
    text = format_methods_table(lines)
    for name, rs in runs.items():
        points = grid.grid_points([r for r in rs if r["method"] in PARALLEL])
        if grid.iso_compute(points):
            target = out / (f"iso_compute_{name}.png" if len(runs) > 1 else "iso_compute.png")
            grid.plot_iso_compute(points, target)
            text += f"\n\niso-compute grid ({name}):\n" + grid.format_grid(points)
    (out / "methods_table.txt").write_text(text + "\n")
    return text
