"""Metrics over evaluation records: pure functions, recomputable from ``records.jsonl`` alone.

A record is a dict as written by :mod:`s1kit.evaluation.runner` (see its docstring); the fields used here are
``problem_id``, ``setting`` (with ``id``, ``method``, ``budget``), ``sample``, ``correct``,
``extracted``, ``thinking_tokens`` and ``meta``.

The paper's sequential-scaling metrics (s1, section 3.2), over a set A of settings with compute a
(mean thinking tokens) and accuracy f(a):

* Control = (1/|A|) * sum over a of 1[a_min <= a <= a_max]: here per record, the share of samples whose
  thinking stayed within their own setting's [min_thinking_tokens, max_thinking_tokens];
* Scaling = mean over all pairs a < b of (f(b) - f(a)) / (b - a): the mean slope of the piecewise-linear
  curve, reported in accuracy points (%) per 1,000 thinking tokens (``SCALING_PER``);
* Performance = max over a of f(a), in %.

Example:
    >>> tuple(round(x, 4) for x in wilson(8, 10))
    (0.4902, 0.9433)
    >>> scaling([(1000, 40.0), (2000, 50.0), (3000, 50.0)])
    5.0
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

Z95 = 1.959963984540054
SCALING_PER = 1000  # thinking tokens per unit of the Scaling slope
EXACT_SUBSETS = 2000  # enumerate all k-subsets up to this many, else sample this many


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def accuracy(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy over records (every sample counts once) with its 95% Wilson interval."""
    n = len(records)
    c = sum(bool(r["correct"]) for r in records)
    lo, hi = wilson(c, n)
    return {"n": n, "correct": c, "accuracy": c / n if n else 0.0, "ci95": [lo, hi]}


def thinking_stats(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean, spread and quantiles of thinking tokens."""
    xs = sorted(int(r["thinking_tokens"]) for r in records)
    if not xs:
        return {"mean": 0.0, "median": 0.0, "std": 0.0, "min": 0, "max": 0, "p10": 0.0, "p90": 0.0}

    def q(p: float) -> float:  # linear interpolation between closest ranks
        pos = p * (len(xs) - 1)
        lo = math.floor(pos)
        return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)

    return {
        "mean": statistics.fmean(xs),
        "median": q(0.5),
        "std": statistics.pstdev(xs),
        "min": xs[0],
        "max": xs[-1],
        "p10": q(0.1),
        "p90": q(0.9),
    }


def within_budget(record: dict[str, Any]) -> bool:
    """Did this sample's thinking stay within its setting's [min, max] thinking tokens?"""
    budget = (record.get("setting") or {}).get("budget") or {}
    t = int(record["thinking_tokens"])
    lo = budget.get("min_thinking_tokens") or 0
    hi = budget.get("max_thinking_tokens")
    return t >= lo and (hi is None or t <= hi)


def control(records: Sequence[dict[str, Any]]) -> float:
    """The paper's Control: the share of samples whose thinking stayed within [a_min, a_max]."""
    return sum(within_budget(r) for r in records) / len(records) if records else 0.0


def scaling(points: Iterable[tuple[float, float]], *, per: float = SCALING_PER) -> float:
    """The paper's Scaling: mean slope (f(b) - f(a)) / (b - a) over all pairs a < b.

    Args:
        points: (compute a, accuracy f(a) in %) per setting. Pairs with equal compute are skipped.
        per: the slope is per this many units of compute (default 1,000 thinking tokens).

    Returns:
        The mean pairwise slope, or ``nan`` when there is no pair with b > a.
    """
    pts = sorted(points)
    slopes = [(fb - fa) / (b - a) * per for (a, fa), (b, fb) in combinations(pts, 2) if b > a]
    return statistics.fmean(slopes) if slopes else float("nan")


def performance(points: Iterable[tuple[float, float]]) -> float:
    """The paper's Performance: the best accuracy (%) over the settings."""
    fs = [f for _, f in points]
    return max(fs) if fs else float("nan")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that a random k-subset of n samples (c correct) holds a correct one (unbiased)."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def vote_key(record: dict[str, Any]) -> str | None:
    """The answer a sample votes for: all correct answers are one vote; wrong ones by their text."""
    if record["correct"]:
        return "\x00correct"
    e = record.get("extracted")
    return None if e is None else " ".join(str(e).split())


def majority_correct(keys: Sequence[str | None]) -> float:
    """Credit of one majority vote: 1 if the correct answer wins, a fraction on a tie, 0 otherwise."""
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    tied = [k for k, v in counts.items() if v == top]
    return tied.count("\x00correct") / len(tied)


def maj_at_k(keys: Sequence[str | None], k: int, *, seed: int = 0) -> float:
    """Expected majority-vote accuracy over k-subsets of one problem's samples (exact when small)."""
    n = len(keys)
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if math.comb(n, k) <= EXACT_SUBSETS:
        subsets: Iterable[Sequence[int]] = combinations(range(n), k)
    else:
        rng = random.Random(seed)
        subsets = [rng.sample(range(n), k) for _ in range(EXACT_SUBSETS)]
    credits = [majority_correct([keys[i] for i in s]) for s in subsets]
    return statistics.fmean(credits)


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n itself included)."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks + ([n] if ks[-1] != n else []) if n >= 1 else []


def parallel_curves(records: Sequence[dict[str, Any]], *, seed: int = 0) -> dict[str, dict[int, float]]:
    """pass@k and maj@k (means over problems) for k = 1, 2, 4 ... N, from one setting's samples."""
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_problem[r["problem_id"]].append(r)
    if not by_problem:
        return {"pass@k": {}, "maj@k": {}}
    n = min(len(v) for v in by_problem.values())
    out: dict[str, dict[int, float]] = {"pass@k": {}, "maj@k": {}}
    for k in k_values(n):
        ps, ms = [], []
        for rs in by_problem.values():
            rs = sorted(rs, key=lambda r: r["sample"])[:n]
            ps.append(pass_at_k(n, sum(bool(r["correct"]) for r in rs), k))
            ms.append(maj_at_k([vote_key(r) for r in rs], k, seed=seed))
        out["pass@k"][k] = statistics.fmean(ps)
        out["maj@k"][k] = statistics.fmean(ms)
    return out


def by_field(records: Sequence[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    """Accuracy per value of a problem's meta field (MATH500: ``subject``, ``level``)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        value = (r.get("meta") or {}).get(field)
        if value is not None:
            groups[str(value)].append(r)
    return {k: accuracy(v) for k, v in sorted(groups.items())}


def group_by_setting(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by setting id, in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r["setting"]["id"], []).append(r)
    return groups


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Everything ``summary.json`` holds, from records alone.

    Per setting: accuracy with its interval, thinking-token statistics, Control, pass@k and maj@k, and
    (when problems carry them) accuracy by subject and level. Over the run: the paper's Control,
    Scaling and Performance, with A = the run's settings (compute = mean thinking tokens).
    """
    settings = []
    for sid, rs in group_by_setting(records).items():
        acc = accuracy(rs)
        entry: dict[str, Any] = {
            "id": sid,
            "setting": rs[0]["setting"],
            **acc,
            "thinking_tokens": thinking_stats(rs),
            "mean_thinking_tokens": thinking_stats(rs)["mean"],
            "control": control(rs),
            "fallback_to_thinking": sum(r.get("grade_source") == "thinking" for r in rs),
            "grading_timeouts": sum(bool(r.get("grade_timed_out")) for r in rs),
            "grading_errors": sum(bool(r.get("grade_error")) and not r.get("grade_timed_out") for r in rs),
            **{name: {str(k): v for k, v in curve.items()} for name, curve in parallel_curves(rs).items()},
        }
        for field in ("subject", "level"):
            split = by_field(rs, field)
            if split:
                entry[f"by_{field}"] = split
        settings.append(entry)
    points = [(s["mean_thinking_tokens"], 100 * s["accuracy"]) for s in settings]
    return {
        "records": len(records),
        "control": control(records),
        "scaling": _finite(scaling(points)),
        "scaling_unit": f"accuracy points per {SCALING_PER} thinking tokens",
        "performance": _finite(performance(points)),
        "settings": settings,
    }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
