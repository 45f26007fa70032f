"""The funnel report's pictures: a domain histogram and a trace-length histogram (PNG).

The PNGs carry no timestamp or software tag, so a rerun with the same data writes the same bytes.
Without matplotlib the pictures are skipped (``report.json`` says which files were written).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def write_histograms(out: Path, domains: Counter[str], lengths: list[int], unit: str) -> list[str]:
    """Write ``domains.png`` and ``trace_lengths.png`` into ``out``; returns the names written."""
    try:
        from s1kit.evaluation.plots import pyplot

        plt = pyplot()
    except ImportError:
        return []
    written: list[str] = []
    meta = {"Software": None}
    if domains:
        codes = sorted(domains)
        fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * len(codes) + 2), 3.6), dpi=100)
        ax.bar(range(len(codes)), [domains[c] for c in codes], color="#4c72b0")
        ax.set_xticks(range(len(codes)), codes, rotation=90, fontsize=7)
        ax.set_xlabel("MSC domain")
        ax.set_ylabel("selected rows")
        ax.set_title(f"{len(codes)} domains, {sum(domains.values())} rows")
        fig.tight_layout()
        fig.savefig(out / "domains.png", metadata=meta)
        plt.close(fig)
        written.append("domains.png")
    if lengths:
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
        ax.hist(lengths, bins=min(40, max(5, len(set(lengths)))), color="#55a868")
        ax.set_xlabel(f"trace length ({unit})")
        ax.set_ylabel("selected rows")
        ax.set_title(f"median {sorted(lengths)[len(lengths) // 2]}")
        fig.tight_layout()
        fig.savefig(out / "trace_lengths.png", metadata=meta)
        plt.close(fig)
        written.append("trace_lengths.png")
    return written
