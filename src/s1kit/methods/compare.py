"""Every method on one accuracy-against-compute plot, and a table in the layout of the paper's Table 3.

Compute is the total thinking tokens generated per question across all samples and tries
(:func:`s1kit.methods.outcome.compute_tokens`). A *line* is one method variant: its points are the
run's settings (budgets) — or, for parallel methods, k = 1, 2, 4 … N samples combined by a vote or a
scorer. Per line, over its points A: Control = share of samples whose thinking stayed within the
setting's budget (rejection sampling: that fitted), Scaling = mean pairwise slope (points per 1,000
tokens), Performance = best accuracy — as :mod:`s1kit.evaluation.metrics` defines them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.methods import grid, parallel
from s1kit.methods.outcome import compute_tokens
from s1kit.evaluation.metrics import accuracy, group_by_setting, performance, scaling, within_budget

PARALLEL = ("majority_vote", "best_of_n", "grid")


@dataclass(frozen=True)
class Line:
    """One method variant: (compute, accuracy %, point label) points and its Control."""

    label: str
    points: tuple[tuple[float, float, str], ...]
    control: float


def _control(rs: Sequence[dict[str, Any]]) -> float:
    ok = [within_budget(r) and (r.get("method_info") or {}).get("fitted", True) is not False for r in rs]
    return sum(ok) / len(ok) if ok else 0.0


def _variant(s: dict[str, Any]) -> str:
    p = s.get("params") or {}
    name = s["method"]
    if name.endswith("_conditional"):
        name += f" ({p['length_class']})" if "length_class" in p else ""
        name += " + BF" if p.get("forcing") else ""
    elif name == "budget_forcing":
        b = s.get("budget") or {}
        name += f" +{b['num_ignore']} ignore" if b.get("num_ignore") else ""
    elif name == "early_exit":
        name += f" (K={p.get('probe_every')}, M={p.get('probe_agree')})"
    return name


def method_lines(records: Sequence[dict[str, Any]], prefix: str = "") -> list[Line]:
    """The lines a run contributes to the comparison."""
    lines: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    controls: dict[str, list[float]] = defaultdict(list)
    for rs in group_by_setting(records).values():
        s = rs[0]["setting"]
        cap = (s.get("budget") or {}).get("max_thinking_tokens")
        tag = "∞" if cap is None else str(cap)
        samples = len({r["sample"] for r in rs})
        if s["method"] in PARALLEL and samples > 1:
            combos = [("maj", "majority", None)]
            scorers = sorted({k for r in rs for k in ((r.get("method_info") or {}).get("scores") or {})})
            combos += [(f"best-of-N {sc}", "best", sc) for sc in scorers]
            combos += [(f"weighted vote {sc}", "weighted", sc) for sc in scorers]
            for name, rule, scorer in combos:
                label = f"{prefix}{s['method']} {name} @{tag}"
                lines[label] += [(c, a, f"k={k}") for k, c, a in parallel.curve(rs, rule, scorer)]
                controls[label].append(_control(rs))
            continue
        label = prefix + _variant(s)
        mean_compute = statistics.fmean(compute_tokens(r) for r in rs)
        lines[label].append((mean_compute, 100 * accuracy(rs)["accuracy"], tag))
        controls[label].append(_control(rs))
    return [Line(k, tuple(sorted(v)), statistics.fmean(controls[k])) for k, v in lines.items()]


def all_lines(runs: Mapping[str, Sequence[dict[str, Any]]]) -> list[Line]:
    many = len(runs) > 1
    return [line for name, rs in runs.items() for line in method_lines(rs, f"{name}: " if many else "")]


def format_methods_table(lines: Sequence[Line]) -> str:
    """Table 3 layout: method, Control, Scaling, Performance, and the compute range."""
    rows = [f"{'method':52} {'control':>8} {'scaling':>8} {'perf.':>7} {'compute':>15}", "-" * 94]
    for line in lines:
        pts = [(c, a) for c, a, _ in line.points]
        scal = scaling(pts)
        span = f"{min(c for c, _ in pts):.0f}-{max(c for c, _ in pts):.0f}"
        rows.append(
            f"{line.label[:52]:52} {100 * line.control:>7.0f}% "
            f"{'n/a' if scal != scal else f'{scal:.1f}':>8} {performance(pts):>6.1f}% {span:>15}"
        )
    rows.append("scaling: accuracy points per 1,000 thinking tokens; compute: thinking tokens per question")
    return "\n".join(rows)


def plot_methods(lines: Sequence[Line], path: Path) -> Path:
    """Accuracy against compute (log2), one line per method variant."""
    from s1kit.evaluation.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    for line in lines:
        xs = [max(c, 1.0) for c, _, _ in line.points]
        ys = [a for _, a, _ in line.points]
        ax.plot(xs, ys, marker="o", label=line.label)
        for x, y, (_, _, t) in zip(xs, ys, line.points, strict=True):
            ax.annotate(t, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("thinking tokens per question, all samples (log2)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("test-time scaling methods at equal compute")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
