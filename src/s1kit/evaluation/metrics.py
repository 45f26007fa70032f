"""Metrics over evaluation records: pure functions, recomputable from ``records.jsonl`` alone.

A record is a dict as written by :mod:`s1kit.evaluation.runner` (see its docstring); the fields used here are
``problem_id``, ``setting`` (with ``id``, ``method``, ``budget``, ``params``), ``sample``, ``correct``,
``extracted``, ``thinking_tokens``, ``method_info`` and ``meta``.

The paper's sequential-scaling metrics (s1, section 3.2) are computed **per curve** (:func:`curves`), over
the set A of the curve's points, with compute a (thinking tokens per question, every try and sample
counted) and accuracy f(a):

* Control = (1/|A|) * sum over a of the share of a's samples whose thinking stayed within their own
  setting's [min_thinking_tokens, max_thinking_tokens] (and, for rejection sampling, that fitted);
* Scaling = mean over all pairs a < b of (f(b) - f(a)) / (b - a): the mean slope of the piecewise-linear
  curve, reported in accuracy points (%) per 1,000 thinking tokens (``SCALING_PER``);
* Performance = max over a of f(a), in %.

A *curve* is the settings of a run that share everything except the thinking cap (budget forcing with
2 ignored "Wait"s is one curve, each method variant is one), plus, for the methods that combine N
samples (``COMBINED``), one curve per setting and combining rule over k = 1, 2, 4 … N samples
(:mod:`s1kit.evaluation.at_k`). ``summary.json``, ``s1kit eval``, ``s1kit report`` and its methods table
all print these figures, computed here once.

Votes (maj@k, weighted votes) never look at the gold: answers are clustered by the grader's equivalence
(:mod:`s1kit.grading.vote`) and the vote is correct when the winning cluster's first sample was graded
correct.

Example:
    >>> tuple(round(x, 4) for x in wilson(8, 10))
    (0.4902, 0.9433)
    >>> scaling([(1000, 40.0), (2000, 50.0), (3000, 50.0)])
    5.0
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from s1kit.evaluation import at_k
from s1kit.evaluation.at_k import Samples, compute_tokens, k_curve, parallel_curves, samples_by_setting
from s1kit.grading.vote import Equal, pool_equal

Z95 = 1.959963984540054
SCALING_PER = 1000  # thinking tokens per unit of the Scaling slope
SCALING_UNIT = f"accuracy points per {SCALING_PER} thinking tokens"
# pass@k and maj@k live in at_k (one implementation); their names here keep working
EXACT_SUBSETS, k_values, maj_at_k, pass_at_k = (
    at_k.EXACT_SUBSETS,
    at_k.k_values,
    at_k.maj_at_k,
    at_k.pass_at_k,
)
COMBINED = ("majority_vote", "best_of_n", "grid")  # methods that sample N and combine them afterwards


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
    """Did this sample's thinking stay within its setting's [min, max] thinking tokens (and, when the method
    resampled until it fitted, did it fit)?"""
    budget = (record.get("setting") or {}).get("budget") or {}
    t = int(record["thinking_tokens"])
    lo = budget.get("min_thinking_tokens") or 0
    hi = budget.get("max_thinking_tokens")
    fitted = (record.get("method_info") or {}).get("fitted", True) is not False
    return t >= lo and (hi is None or t <= hi) and fitted


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


# ------------------------------------------------------------------ curves


def curve_label(setting: dict[str, Any]) -> str:
    """The curve a setting lies on, named by its method variant: everything but the thinking cap.

    >>> curve_label({"method": "budget_forcing", "budget": {"num_ignore": 2, "ignore_strings": ["Wait"]}})
    'budget_forcing +2 Wait'
    """
    p = setting.get("params") or {}
    b = setting.get("budget") or {}
    name = setting["method"]
    if name.endswith("_conditional"):
        name += f" ({p['length_class']})" if "length_class" in p else ""
        name += " + BF" if p.get("forcing") else ""
    elif name == "early_exit":
        name += f" (K={p.get('probe_every')}, M={p.get('probe_agree')})"
    if b.get("num_ignore"):
        name += f" +{b['num_ignore']} {'/'.join(b.get('ignore_strings') or [])}".rstrip()
    return name


def _curve_identity(setting: dict[str, Any]) -> str:
    budget = {k: v for k, v in (setting.get("budget") or {}).items() if k != "max_thinking_tokens"}
    return json.dumps([setting["method"], setting.get("params") or {}, budget], sort_keys=True, default=str)


@dataclass(frozen=True)
class Curve:
    """One curve: its (compute, accuracy %, point label) points sorted by compute, and its Control.

    Attributes:
        label: the method variant (:func:`curve_label`), for a combined method also the rule and the cap
            (``majority_vote maj @512``).
        points: one per thinking cap (``axis == "budget"``) or per k samples combined (``axis == "k"``).
        control: the mean over points of their settings' Control.
        method: the method name.
        axis: what varies along the curve: ``budget`` or ``k``.
    """

    label: str
    points: tuple[tuple[float, float, str], ...]
    control: float
    method: str = ""
    axis: str = "budget"

    @property
    def scaling(self) -> float | None:
        """The paper's Scaling over the points (None for fewer than two distinct computes)."""
        return _finite(scaling([(c, a) for c, a, _ in self.points]))

    @property
    def performance(self) -> float | None:
        return _finite(performance([(c, a) for c, a, _ in self.points]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "axis": self.axis,
            "control": self.control,
            "scaling": self.scaling,
            "performance": self.performance,
            "points": [{"at": t, "compute": c, "accuracy": a} for c, a, t in self.points],
        }


def curves(
    records: Sequence[dict[str, Any]],
    *,
    equal: Equal | None = None,
    samples: dict[str, list[Samples]] | None = None,
    k_curves: bool = True,
) -> list[Curve]:
    """Every curve of one run with its Control, Scaling and Performance: the one implementation.

    Every setting lies on its method variant's curve (points: thinking caps; accuracy over all samples;
    compute = mean thinking tokens per question over every try). A setting of a combined method
    (``COMBINED``) with several samples per problem also gives one curve per rule (unless ``k_curves`` is
    false): ``maj`` (maj@k), and per scorer found in its records ``best-of-N <scorer>`` and ``weighted
    vote <scorer>`` (points: k = 1, 2, 4 … N; compute = k × the mean compute of a sample).
    ``samples``: the run's settings already clustered (:func:`samples_by_setting`).
    """
    groups = group_by_setting(records)
    combined = {
        sid: rs
        for sid, rs in groups.items()
        if k_curves and rs[0]["setting"]["method"] in COMBINED and _samples(rs) > 1
    }
    if samples is None:
        samples = samples_by_setting(combined, equal=equal) if combined else {}
    points: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    controls: dict[str, list[float]] = defaultdict(list)
    meta: dict[str, tuple[str, str, str]] = {}  # key -> (label, method, axis)
    labels: dict[str, str] = {}  # curve identity -> label (unique)
    for rs in groups.values():
        s = rs[0]["setting"]
        cap = (s.get("budget") or {}).get("max_thinking_tokens")
        tag = "∞" if cap is None else str(cap)
        ident = _curve_identity(s)
        if ident not in labels:
            labels[ident] = _unique(curve_label(s), set(labels.values()))
            meta[ident] = (labels[ident], s["method"], "budget")
        points[ident].append(
            (statistics.fmean(compute_tokens(r) for r in rs), 100 * accuracy(rs)["accuracy"], tag)
        )
        controls[ident].append(control(rs))
    for sid, rs in combined.items():
        s = rs[0]["setting"]
        cap = (s.get("budget") or {}).get("max_thinking_tokens")
        for name, rule, scorer in _rules(rs):
            key = f"{sid}\x00{name}"
            label = _unique(
                f"{curve_label(s)} {name} @{'∞' if cap is None else cap}", {m[0] for m in meta.values()}
            )
            meta[key] = (label, s["method"], "k")
            points[key] = [(c, a, f"k={k}") for k, c, a in k_curve(samples[sid], rule, scorer)]
            controls[key].append(control(rs))
    return [
        Curve(label, tuple(sorted(points[key])), statistics.fmean(controls[key]), method, axis)
        for key, (label, method, axis) in meta.items()
    ]


def _unique(label: str, taken: set[str]) -> str:
    """``label``, or ``label #2``, ``#3`` … when another curve of the run already has it."""
    n, out = 2, label
    while out in taken:
        out, n = f"{label} #{n}", n + 1
    return out


def _samples(records: Sequence[dict[str, Any]]) -> int:
    return len({r["sample"] for r in records})


def _rules(records: Sequence[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    scorers = sorted({k for r in records for k in ((r.get("method_info") or {}).get("scores") or {})})
    return (
        [("maj", "majority", None)]
        + [(f"best-of-N {sc}", "best", sc) for sc in scorers]
        + [(f"weighted vote {sc}", "weighted", sc) for sc in scorers]
    )


def curves_by_method(found: Sequence[Curve]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{method: {curve label: Curve.to_dict()}}``: the ``curves`` entry of ``summary.json``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for c in found:
        out.setdefault(c.method, {})[c.label] = c.to_dict()
    return out


# ------------------------------------------------------------------ the summary


def summarize(records: Sequence[dict[str, Any]], *, equal: Equal | None = None) -> dict[str, Any]:
    """Everything ``summary.json`` holds, from records alone.

    Per setting: accuracy with its interval, thinking-token statistics, Control, pass@k and maj@k, and
    (when problems carry them) accuracy by subject and level. Per curve (``curves``: ``{method: {curve
    label: {control, scaling, performance, points, axis}}}``): the paper's Control, Scaling and
    Performance (:func:`curves`). Over the run: ``control`` (share of all samples within budget),
    ``performance`` (the best setting's accuracy, %) and ``scaling``, which is the thinking-cap curve's
    when the run has exactly one, else ``None`` (one slope across several curves means nothing).

    Args:
        records: the run's records.
        equal: the equivalence check votes cluster answers by (default: the grading workers).
    """
    groups = group_by_setting(records)
    checks = {"pairs": 0, "timed_out": 0}  # the votes' equivalence checks (timed out: taken as not equal)
    compare = equal or pool_equal()

    def counted(pairs: Sequence[tuple[str, str]], kind: str) -> Sequence[bool | None]:
        got = compare(pairs, kind)
        checks["pairs"] += len(pairs)
        checks["timed_out"] += sum(v is None for v in got)
        return got

    clustered = samples_by_setting(groups, equal=counted)
    settings = []
    for sid, rs in groups.items():
        stats = thinking_stats(rs)
        entry: dict[str, Any] = {
            "id": sid,
            "setting": rs[0]["setting"],
            **accuracy(rs),
            "thinking_tokens": stats,
            "mean_thinking_tokens": stats["mean"],
            "control": control(rs),
            "fallback_to_thinking": sum(r.get("grade_source") == "thinking" for r in rs),
            "grading_timeouts": sum(bool(r.get("grade_timed_out")) for r in rs),
            "grading_errors": sum(bool(r.get("grade_error")) and not r.get("grade_timed_out") for r in rs),
            **{
                name: {str(k): v for k, v in curve.items()}
                for name, curve in parallel_curves(rs, samples=clustered[sid]).items()
            },
        }
        for field in ("subject", "level"):
            split = by_field(rs, field)
            if split:
                entry[f"by_{field}"] = split
        settings.append(entry)
    found = curves(records, samples=clustered)
    return {
        "records": len(records),
        "control": control(records),
        "scaling": budget[0].scaling
        if len(budget := [c for c in found if c.axis == "budget"]) == 1
        else None,
        "scaling_unit": SCALING_UNIT,
        "performance": _finite(performance([(0, 100 * s["accuracy"]) for s in settings])),
        "curves": curves_by_method(found),
        "vote_checks": checks,
        "settings": settings,
    }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
