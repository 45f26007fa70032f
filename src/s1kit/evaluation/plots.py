"""Plots from records (matplotlib figures drawn off-screen; the process's pyplot backend is never changed).

* ``scaling.png`` — accuracy against mean thinking tokens, log-2 x axis, one line per run and method
  (and ignore count), each point labelled with its thinking budget (the paper's Figures 1 and 4);
* ``maj_at_k.png`` — majority-vote accuracy against k (when a setting has several samples);
* ``thinking_hist.png`` — histograms of thinking lengths, one per budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from s1kit.evaluation.metrics import accuracy, group_by_setting, parallel_curves, thinking_stats


class _Figures:
    """The two pyplot calls the plots use, on matplotlib's object-oriented API: figures are drawn with
    the Agg canvas directly, so a notebook's or an application's pyplot backend and figure list are left
    alone (``matplotlib.use`` is never called)."""

    @staticmethod
    def subplots(*args: Any, figsize: Any = None, dpi: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig: Any) -> None:
        """Nothing to release: the figure was never registered with pyplot."""


def pyplot() -> Any:
    """Figure factory for file output (``subplots``/``close``); ImportError without matplotlib."""
    import matplotlib  # noqa: F401  (fail early, with the ImportError the callers turn into an extra hint)

    return _Figures()


def curve_key(setting: dict[str, Any]) -> str:
    """Settings on one line share everything except the thinking cap."""
    b = setting.get("budget") or {}
    if setting["method"] == "budget_forcing":
        n = b.get("num_ignore", 0)
        return "budget forcing" + (f" +{n} {'/'.join(b.get('ignore_strings', []))}" if n else "")
    return setting["method"]


def scaling_curves(runs: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, list[tuple[float, float, str]]]:
    """{line label: [(mean thinking tokens, accuracy %, point label)]} sorted by tokens."""
    lines: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for run, records in runs.items():
        for rs in group_by_setting(records).values():
            s = rs[0]["setting"]
            label = f"{run}: {curve_key(s)}" if len(runs) > 1 else curve_key(s)
            cap = (s.get("budget") or {}).get("max_thinking_tokens")
            point = "∞" if cap is None and s["method"] == "budget_forcing" else str(cap or s.get("label", ""))
            lines[label].append((thinking_stats(rs)["mean"], 100 * accuracy(rs)["accuracy"], point))
    return {k: sorted(v) for k, v in lines.items()}


def plot_scaling(runs: Mapping[str, Sequence[dict[str, Any]]], path: Path, *, title: str = "") -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, pts in scaling_curves(runs).items():
        xs = [max(x, 1.0) for x, _, _ in pts]
        ys = [y for _, y, _ in pts]
        ax.plot(xs, ys, marker="o", label=label)
        for x, y, text in zip(xs, ys, (t for _, _, t in pts), strict=True):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("average thinking tokens (log2)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title or "accuracy vs thinking tokens")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_maj_at_k(runs: Mapping[str, Sequence[dict[str, Any]]], path: Path) -> Path | None:
    plt = pyplot()
    curves = {}
    for run, records in runs.items():
        for rs in group_by_setting(records).values():
            maj = parallel_curves(rs)["maj@k"]
            if len(maj) > 1:
                label = rs[0]["setting"].get("label", rs[0]["setting"]["id"])
                curves[f"{run}: {label}" if len(runs) > 1 else label] = maj
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, maj in curves.items():
        ks = sorted(maj)
        ax.plot(ks, [100 * maj[k] for k in ks], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples voted)")
    ax.set_ylabel("maj@k accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_thinking_hist(runs: Mapping[str, Sequence[dict[str, Any]]], path: Path) -> Path:
    plt = pyplot()
    groups = []
    for run, records in runs.items():
        for rs in group_by_setting(records).values():
            label = rs[0]["setting"].get("label", rs[0]["setting"]["id"])
            groups.append((f"{run}: {label}" if len(runs) > 1 else label, [r["thinking_tokens"] for r in rs]))
    n = max(1, len(groups))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, (label, xs) in zip(axes.flat, groups, strict=False):
        ax.hist(xs, bins=min(30, max(5, len(set(xs)))), color="tab:blue", alpha=0.8)
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    fig.supxlabel("thinking tokens", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_plots(runs: Mapping[str, Sequence[dict[str, Any]]], out: Path) -> list[Path]:
    """Write every plot that the records support into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    if not any(runs.values()):
        return []
    paths = [plot_scaling(runs, out / "scaling.png"), plot_thinking_hist(runs, out / "thinking_hist.png")]
    maj = plot_maj_at_k(runs, out / "maj_at_k.png")
    return paths + ([maj] if maj else [])
