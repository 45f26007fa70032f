"""Plots from records (matplotlib figures drawn off-screen; the process's pyplot backend is never changed).

* ``scaling.png`` — accuracy against mean thinking tokens, log-2 x axis, one line per run and curve (a method
  variant with its ignore count: :func:`s1kit.evaluation.metrics.curves`), each point labelled with its
  thinking budget (the paper's Figures 1 and 4);
* ``maj_at_k.png`` — majority-vote accuracy against k (when a setting has several samples);
* ``thinking_hist.png`` — histograms of thinking lengths, one per budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from s1kit.evaluation.at_k import samples_by_setting
from s1kit.evaluation.metrics import curve_label, curves, group_by_setting, parallel_curves


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


Series = tuple[Sequence[float], Sequence[float], Sequence[str]]  # xs, ys, a note per point ("" for none)


def line_plot(
    series: Mapping[str, Series],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    size: tuple[float, float] = (6.4, 4.4),
    fontsize: int = 7,
    legend_title: str | None = None,
) -> Path:
    """One figure with a line per labelled series on a log-2 x axis, each point annotated; saved to ``path``."""
    fig, ax = pyplot().subplots(figsize=size)
    for label, (xs, ys, notes) in series.items():
        ax.plot(xs, ys, marker="o", label=label)
        for x, y, note in zip(xs, ys, notes, strict=True):
            if note:
                ax.annotate(note, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=fontsize)
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=fontsize, title=legend_title, title_fontsize=fontsize)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


curve_key = curve_label  # settings on one line share everything except the thinking cap (metrics.curves)


def scaling_curves(runs: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, list[tuple[float, float, str]]]:
    """{line label: [(thinking tokens per question, accuracy %, point label)]} sorted by tokens: the
    thinking-cap curves of :func:`s1kit.evaluation.metrics.curves`."""
    lines: dict[str, list[tuple[float, float, str]]] = {}
    for run, records in runs.items():
        for c in curves(records, k_curves=False):
            lines[f"{run}: {c.label}" if len(runs) > 1 else c.label] = list(c.points)
    return lines


def plot_scaling(runs: Mapping[str, Sequence[dict[str, Any]]], path: Path, *, title: str = "") -> Path:
    """Accuracy against thinking tokens, one line per run and curve, points labelled with their cap."""
    series = {
        label: ([max(x, 1.0) for x, _, _ in pts], [y for _, y, _ in pts], [t for _, _, t in pts])
        for label, pts in scaling_curves(runs).items()
    }
    xlabel, ylabel = "average thinking tokens (log2)", "accuracy (%)"
    return line_plot(series, path, xlabel=xlabel, ylabel=ylabel, title=title or "accuracy vs thinking tokens")


def plot_maj_at_k(runs: Mapping[str, Sequence[dict[str, Any]]], path: Path) -> Path | None:
    """maj@k against k, one line per setting with several samples (votes clustered without the gold)."""
    pyplot()  # without matplotlib: the ImportError before any vote is counted
    found = {}
    for run, records in runs.items():
        groups = {
            sid: rs for sid, rs in group_by_setting(records).items() if len({r["sample"] for r in rs}) > 1
        }
        clustered = samples_by_setting(groups)
        for sid, rs in groups.items():
            maj = parallel_curves(rs, samples=clustered[sid])["maj@k"]
            if len(maj) > 1:
                label = rs[0]["setting"].get("label", rs[0]["setting"]["id"])
                found[f"{run}: {label}" if len(runs) > 1 else label] = maj
    if not found:
        return None
    series = {}
    for label, maj in found.items():
        ks = sorted(maj)
        series[label] = (ks, [100 * maj[k] for k in ks], [""] * len(ks))
    return line_plot(series, path, xlabel="k (samples voted)", ylabel="maj@k accuracy (%)")


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
