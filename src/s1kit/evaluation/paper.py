"""Published numbers from the s1 paper, for ``s1kit report --paper``.

Source: Muennighoff et al., "s1: Simple test-time scaling", arXiv:2501.19393 (v3, March 2025):
Table 1 (main results, accuracy %; the s1.1 rows as in v3 and the simplescaling/s1 README), Table 3 (sequential-scaling methods on AIME24 with s1-32B),
Table 4 (data ablations, fine-tuning Qwen2.5-32B-Instruct on 1K examples chosen in different ways).
Only rows we are confident we transcribed correctly are kept; the paper is the authority.

Units: the paper does not state the unit of its Scaling column; s1kit reports Scaling in accuracy
points per 1,000 thinking tokens, so compare its sign and ordering, not its magnitude.
"""

from __future__ import annotations

from typing import Any

# Table 1: model -> (examples used to train it, AIME 2024, MATH 500, GPQA Diamond), accuracy in %.
TABLE1: dict[str, dict[str, Any]] = {
    "o1-preview": {"examples": "N.A.", "aime24": 44.6, "math500": 85.5, "gpqa_diamond": 73.3},
    "Qwen2.5-32B-Instruct": {"examples": "N.A.", "aime24": 26.7, "math500": 84.0, "gpqa_diamond": 49.0},
    "r1-distill (DeepSeek-R1-Distill-Qwen-32B)": {
        "examples": "800K",
        "aime24": 72.6,
        "math500": 94.3,
        "gpqa_diamond": 62.1,
    },
    "s1-32B w/o budget forcing": {"examples": "1K", "aime24": 50.0, "math500": 92.6, "gpqa_diamond": 56.6},
    "s1-32B (budget forcing)": {
        "examples": "1K",
        "aime24": 56.7,
        "math500": 93.0,
        "gpqa_diamond": 59.6,
    },
    "s1.1-32B w/o budget forcing": {"examples": "1K", "aime24": 56.7, "math500": 94.4, "gpqa_diamond": 60.6},
    "s1.1-32B (budget forcing)": {
        "examples": "1K",
        "aime24": 56.7,
        "math500": 95.4,
        "gpqa_diamond": 63.6,
    },
}

# Table 3: sequential scaling methods, s1-32B on AIME24. Control in %, Performance in %, |A| settings.
# BF: budget forcing; TCC/SCC/CCC: token-, step-, class-conditional control; RS: rejection sampling.
TABLE3: dict[str, dict[str, Any]] = {
    "BF": {"control": 100, "scaling": 15, "performance": 56.7, "settings": 5},
    "TCC": {"control": 40, "scaling": -24, "performance": 40.0, "settings": 5},
    "TCC + BF": {"control": 100, "scaling": 13, "performance": 40.0, "settings": 5},
    "SCC": {"control": 60, "scaling": 3, "performance": 36.7, "settings": 5},
    "SCC + BF": {"control": 100, "scaling": 6, "performance": 36.7, "settings": 5},
    "CCC": {"control": 50, "scaling": 25, "performance": 36.7, "settings": 2},
    "RS": {"control": 100, "scaling": -35, "performance": 40.0, "settings": 5},
}

# Table 4: data ablations (each fine-tunes Qwen2.5-32B-Instruct; budget forcing as in the paper).
TABLE4: dict[str, dict[str, float]] = {
    "1K-random": {"aime24": 36.7, "math500": 90.6, "gpqa_diamond": 52.0},
    "1K-diverse": {"aime24": 26.7, "math500": 91.2, "gpqa_diamond": 54.6},
    "1K-longest": {"aime24": 33.3, "math500": 90.4, "gpqa_diamond": 59.6},
    "59K-full": {"aime24": 53.3, "math500": 92.8, "gpqa_diamond": 58.1},
    "s1K": {"aime24": 50.0, "math500": 93.0, "gpqa_diamond": 57.6},
}

TASK_COLUMNS = ("aime24", "math500", "gpqa_diamond")


def format_tables(runs: dict[str, dict[str, Any]] | None = None) -> str:
    """The paper's tables as text, with a run's best accuracy and metrics beside them.

    Args:
        runs: run name -> summary (``summary.json``); each run is placed in its task's column.
    """
    lines = ["Table 1 (paper, accuracy %)", f"{'model':44} {'AIME24':>7} {'MATH500':>8} {'GPQA':>6}"]
    for name, row in TABLE1.items():
        lines.append(f"{name:44} {row['aime24']:>7.1f} {row['math500']:>8.1f} {row['gpqa_diamond']:>6.1f}")
    for name, summary in (runs or {}).items():
        task = (summary.get("run") or {}).get("task")
        perf = summary.get("performance")
        cells = [f"{perf:.1f}" if (t == task and perf is not None) else "-" for t in TASK_COLUMNS]
        lines.append(f"{'(this run) ' + name:44} {cells[0]:>7} {cells[1]:>8} {cells[2]:>6}")
    lines += [
        "",
        "Table 3 (paper, s1-32B on AIME24)",
        f"{'method':14} {'Control':>8} {'Scaling':>8} {'Perf.':>6} {'|A|':>4}",
    ]
    for name, row in TABLE3.items():
        lines.append(
            f"{name:14} {row['control']:>7}% {row['scaling']:>8} {row['performance']:>6.1f} {row['settings']:>4}"
        )
    for name, s in (runs or {}).items():  # one row per curve of the run (summary["curves"])
        found = [(label, c) for by in (s.get("curves") or {}).values() for label, c in by.items()]
        for label, c in found or [("", {**s, "points": s.get("settings", [])})]:
            scal = c.get("scaling")
            lines.append(
                f"{name[:14]:14} {100 * c.get('control', 0):>7.0f}% {'-' if scal is None else f'{scal:.1f}':>8} "
                f"{c.get('performance') or 0:>6.1f} {len(c.get('points', [])):>4}  {label}"
            )
    lines += [
        "",
        "Table 4 (paper, data ablations, accuracy %)",
        f"{'data':14} {'AIME24':>7} {'MATH500':>8} {'GPQA':>6}",
    ]
    for name, row in TABLE4.items():
        lines.append(f"{name:14} {row['aime24']:>7.1f} {row['math500']:>8.1f} {row['gpqa_diamond']:>6.1f}")
    return "\n".join(lines)
