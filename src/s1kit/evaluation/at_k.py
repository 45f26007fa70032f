"""pass@k, maj@k, best-of-k and weighted votes at k = 1, 2, 4 … N, all from one run by subsampling.

One setting's N samples per problem give every k: a k-subset of a problem's samples is combined by a
rule, and the expected correctness over its k-subsets (all of them when there are at most
``EXACT_SUBSETS``, else that many drawn with a seed) is the problem's figure at k.

Rules (:func:`select_at_k`):

* ``majority`` — maj@k: the largest cluster of equivalent answers wins (:mod:`s1kit.grading.vote`: clustered
  once per problem without the gold); the vote is correct when the winning cluster's first sample was
  graded correct; a tie is credited with the mean over the tied clusters (the expected correctness of
  the first-come tie rule under a random order of the samples);
* ``weighted`` — the same with each sample's vote weighted by its score (:func:`vote_weight`);
* ``best`` — the best-scored sample (ties: the first).

This is the one implementation of these curves; :mod:`s1kit.evaluation.metrics` (``summary.json``) and
:mod:`s1kit.methods` (the methods table, the iso-compute grid) both use it.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

from s1kit.grading.judge import KINDS
from s1kit.grading.vote import Equal, cluster_many, tally

EXACT_SUBSETS = 2000  # enumerate all k-subsets up to this many, else sample this many
Rule = Literal["majority", "weighted", "best"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that a random k-subset of n samples (c correct) holds a correct one (unbiased)."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n itself included)."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks + ([n] if ks[-1] != n else []) if n >= 1 else []


def compute_tokens(record: dict[str, Any]) -> int:
    """Thinking tokens a record cost, across every try (rejection sampling): its compute."""
    info = record.get("method_info") or {}
    return int(info.get("compute_tokens", record["thinking_tokens"]))


def vote_weight(scorer: str, score: float) -> float:
    """A positive weight for weighted voting: exp(mean log-prob), the certainty, the RM probability."""
    return math.exp(score) if scorer == "mean_logprob" else max(score, 0.0)


def grading_kind(records: Sequence[dict[str, Any]]) -> str:
    """The grading kind of a run's records: the recorded ``kind``, else ``gpqa`` when every gold and every
    answer is one letter A-D, else ``math`` (the AIME integer rule is subsumed: plain numbers compare by
    value)."""
    kinds = {r.get("kind") for r in records}
    if len(kinds) == 1 and (kind := kinds.pop()) in KINDS:
        return kind
    letters = all(
        re.fullmatch(r"[A-D]", str(r.get("gold", "")).strip())
        and (r.get("extracted") is None or re.fullmatch(r"[A-D]", str(r["extracted"])))
        for r in records
    )
    return "gpqa" if records and letters else "math"


@dataclass(frozen=True)
class Samples:
    """One problem's samples in one setting (sorted by sample index) and their vote clusters."""

    records: tuple[dict[str, Any], ...]
    labels: tuple[int | None, ...]

    @property
    def correct(self) -> list[bool]:
        return [bool(r["correct"]) for r in self.records]


def samples_by_setting(
    groups: dict[str, Sequence[dict[str, Any]]], *, equal: Equal | None = None
) -> dict[str, list[Samples]]:
    """Setting id -> its problems' :class:`Samples`, each cut to the setting's smallest sample count.

    Every problem's answers are clustered once, all in one batch of equivalence checks.
    """
    per: dict[str, list[list[dict[str, Any]]]] = {}
    for sid, records in groups.items():
        by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            by_problem[r["problem_id"]].append(r)
        n = min((len(v) for v in by_problem.values()), default=0)
        per[sid] = [sorted(rs, key=lambda r: r["sample"])[:n] for rs in by_problem.values()]
    flat = [rs for problems in per.values() for rs in problems]
    kind = grading_kind([r for rs in flat for r in rs])
    labels = iter(
        cluster_many([[r.get("extracted") for r in rs] for rs in flat], kind, equal=equal, extract=False)
    )
    return {
        sid: [Samples(tuple(rs), tuple(next(labels))) for rs in problems] for sid, problems in per.items()
    }


def majority_credit(
    labels: Sequence[int | None], correct: Sequence[bool], weights: Sequence[float] | None = None
) -> float:
    """Credit of one vote: the correctness of the winning cluster's first sample; on a tie, the mean over
    the tied clusters; 0 when every sample abstained."""
    won = tally(labels, weights)
    if not won:
        return 0.0
    return statistics.fmean(float(correct[labels.index(lab)]) for lab in won)


def _subsets(n: int, k: int, seed: int) -> Iterable[Sequence[int]]:
    if math.comb(n, k) <= EXACT_SUBSETS:
        return combinations(range(n), k)
    rng = random.Random(seed)
    return [rng.sample(range(n), k) for _ in range(EXACT_SUBSETS)]


def _scores(s: Samples, scorer: str | None) -> list[float]:
    return [float(((r.get("method_info") or {}).get("scores") or {})[scorer]) for r in s.records]


def select_at_k(
    s: Samples, k: int, rule: Rule = "majority", scorer: str | None = None, *, seed: int = 0
) -> float:
    """Expected correctness of combining k of one problem's samples by ``rule`` (``best`` and ``weighted``
    need ``scorer``, a key of the records' ``method_info.scores``)."""
    n = len(s.records)
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    correct = s.correct
    scores = _scores(s, scorer) if rule != "majority" else []
    credits = []
    for sub in _subsets(n, k, seed):
        if rule == "best":
            credits.append(float(correct[max(sub, key=scores.__getitem__)]))
            continue
        weights = [vote_weight(scorer or "", scores[i]) for i in sub] if rule == "weighted" else None
        credits.append(majority_credit([s.labels[i] for i in sub], [correct[i] for i in sub], weights))
    return statistics.fmean(credits)


def maj_at_k(s: Samples, k: int, *, seed: int = 0) -> float:
    """Expected majority-vote accuracy over k-subsets of one problem's samples (exact when few)."""
    return select_at_k(s, k, "majority", seed=seed)


def k_curve(
    problems: Sequence[Samples], rule: Rule, scorer: str | None = None
) -> list[tuple[int, float, float]]:
    """[(k, compute, accuracy %)] for k = 1, 2, 4 … N over one setting's problems.

    compute = k × the mean compute of one sample (what k samples cost per question).
    """
    if not problems or not problems[0].records:
        return []
    n = len(problems[0].records)
    per_sample = statistics.fmean(compute_tokens(r) for s in problems for r in s.records)
    return [
        (k, k * per_sample, 100 * statistics.fmean(select_at_k(s, k, rule, scorer) for s in problems))
        for k in k_values(n)
    ]


def parallel_curves(
    records: Sequence[dict[str, Any]], *, equal: Equal | None = None, samples: Sequence[Samples] | None = None
) -> dict[str, dict[int, float]]:
    """pass@k and maj@k (means over problems) for k = 1, 2, 4 ... N, from one setting's samples (or its
    already clustered ``samples``)."""
    problems = samples if samples is not None else samples_by_setting({"": records}, equal=equal)[""]
    out: dict[str, dict[int, float]] = {"pass@k": {}, "maj@k": {}}
    if not problems or not problems[0].records:
        return out
    n = len(problems[0].records)
    for k in k_values(n):
        out["pass@k"][k] = statistics.fmean(pass_at_k(n, sum(s.correct), k) for s in problems)
        out["maj@k"][k] = statistics.fmean(maj_at_k(s, k) for s in problems)
    return out


__all__ = [
    "EXACT_SUBSETS",
    "Samples",
    "compute_tokens",
    "grading_kind",
    "k_curve",
    "k_values",
    "maj_at_k",
    "majority_credit",
    "parallel_curves",
    "pass_at_k",
    "samples_by_setting",
    "select_at_k",
    "vote_weight",
]
