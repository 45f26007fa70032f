r"""Voting without the gold: cluster many samples' answers by the grader's equivalence, take the largest.

A voter that can be deployed never sees the gold answer, so neither does this one. The answers of a
problem's samples are clustered in three steps, cheapest first:

1. each sample's answer is extracted with the grader's extractors (:mod:`s1kit.grading.extract`; a sample
   with nothing to extract abstains);
2. answers with the same key are one cluster: the letter for ``gpqa``, the integer for ``aime`` (when the
   answer is one), else :func:`~s1kit.grading.extract.normalize_answer`'s canonical text (so ``18.0`` and
   ``18``, ``\dfrac{1}{2}`` and ``\frac{1}{2}`` agree);
3. for ``math`` (and ``aime`` answers that are not integers), clusters whose first answers the grader calls
   equivalent (:func:`~s1kit.grading.judge.equivalent`, math-verify) are merged: the later cluster joins
   the earliest one whose first answer, taken as the gold, grades it correct. Model output is untrusted,
   so these comparisons run in the grading worker processes with a per-pair timeout (a pair that times
   out is "not equal"), never in the caller's process; they are skipped when no pair needs them (one
   cluster, or every key a plain number: two different numbers are different answers).

Cost: each new answer is compared with the first answer of every cluster before it (so at worst the square
of a problem's distinct answers, when none are equivalent), in batches shared by all problems; the default
comparer caches verdicts per process.

The largest cluster wins (:func:`vote`; with ``weights``, the largest summed weight). **Ties** go to the
cluster whose first voter comes first in input order. The metrics (maj@k, weighted votes) credit a tie
with the mean correctness of the tied clusters instead: over exchangeable samples that is the expected
correctness of this deterministic rule under a random order of the samples.

Example:
    >>> vote([r"... so $\boxed{\frac{1}{2}}$", r"\boxed{\dfrac12}", "Answer: 3"])   # doctest: +SKIP
    '\\frac{1}{2}'
    >>> vote(["B", "Answer: (C)", "The answer is C"], kind="gpqa")
    'C'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from s1kit.errors import S1kitError
from s1kit.grading.extract import MAX_KEY_CHARS, aime_int, extract_answer, gpqa_letter, normalize_answer
from s1kit.grading.judge import KINDS

Equal = Callable[[Sequence[tuple[str, str]], str], Sequence["bool | None"]]
"""``equal(pairs, kind) -> verdicts``: is each (answer, answer taken as the gold) pair equivalent
(``None``: comparing timed out or failed, taken as not equal). The default is :func:`pool_equal`."""

BARE_ANSWER_CHARS = 200  # an unextractable text this short and on one line is taken as the answer itself
CACHE_PAIRS = 100_000  # equivalence verdicts the default comparer remembers (per process)
_NUMBER = re.compile(r"#?[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_cache: dict[tuple[str, str, str], bool | None] = {}
_UNKNOWN = object()
_cache_lock = threading.Lock()


def answer_of(text: str | None, kind: str = "math", *, extract: bool = True) -> str | None:
    """The answer a sample gives, as written: extracted from a model output, or the text itself when it is
    already an answer (``extract=False``, or nothing to extract from a short one-line text)."""
    if text is None:
        return None
    if kind == "gpqa":
        return gpqa_letter(text) if extract or len(text.strip()) != 1 else text.strip().upper()
    found = extract_answer(text) if extract else None
    if found is None:
        bare = text.strip()
        if not extract or ("\n" not in bare and len(bare) <= BARE_ANSWER_CHARS):
            found = bare
    return found or None


def _key(answer: str, kind: str) -> str | None:
    if kind == "gpqa":
        return answer if re.fullmatch(r"[A-D]", answer) else None
    if kind == "aime":
        n = aime_int(answer)
        if n is not None:
            return f"#{n}"
    return normalize_answer(answer[: MAX_KEY_CHARS + 1])


def _needs_check(a: str, b: str, kind: str) -> bool:
    """Could the grader call two answers with different keys equivalent? Never two letters, never two
    plain numbers."""
    return kind != "gpqa" and not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b))


def cluster_many(
    groups: Sequence[Sequence[str | None]],
    kind: str = "math",
    *,
    equal: Equal | None = None,
    extract: bool = True,
    timeout: float = 5.0,
) -> list[list[int | None]]:
    """Cluster labels for each group of answers (one group = one problem's samples); the equivalence checks
    of all groups go to the workers together, one batch per round.

    Returns, per group, one label per answer: ``None`` for an abstention, else 0, 1, 2 … numbered in
    order of each cluster's first member.
    """
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise S1kitError(f"vote timeout={timeout!r} is invalid: expected seconds > 0")
    keyed: list[tuple[list[str | None], list[str], list[str]]] = []  # (key per answer, keys, their texts)
    for answers in groups:
        per_answer: list[str | None] = []
        keys: list[str] = []
        texts: list[str] = []
        seen: set[str] = set()
        for text in answers:
            a = answer_of(text, kind, extract=extract)
            k = None if a is None else _key(a, kind)
            per_answer.append(k)
            if k is not None and k not in seen:
                seen.add(k)
                keys.append(k)
                texts.append(a)  # type: ignore[arg-type]
        keyed.append((per_answer, keys, texts))
    labels = _merge([(keys, texts) for _, keys, texts in keyed], kind, equal or pool_equal(timeout))
    return [
        [None if k is None else lab[k] for k in per] for (per, _, _), lab in zip(keyed, labels, strict=True)
    ]


def _merge(groups: list[tuple[list[str], list[str]]], kind: str, equal: Equal) -> list[dict[str, int]]:
    """Cluster label of each key, per group: each key in turn joins the earliest cluster whose first answer
    is equivalent to it, else starts a cluster. Runs in rounds: one batch of checks per round, holding, for
    every group, its next key against its clusters' first answers (never against every earlier answer)."""
    verdicts: dict[tuple[str, str], bool] = {}
    reps: list[list[int]] = [[] for _ in groups]  # per group: index of each cluster's first key
    labels: list[dict[str, int]] = [{} for _ in groups]
    done = [0] * len(groups)
    while True:
        wanted: dict[tuple[str, str], None] = {}
        for g, (keys, texts) in enumerate(groups):
            while done[g] < len(keys):
                j = done[g]
                checks = [(texts[j], texts[i]) for i in reps[g] if _needs_check(keys[i], keys[j], kind)]
                unknown = [p for p in checks if p not in verdicts]
                if unknown:
                    wanted.update(dict.fromkeys(unknown))
                    break
                c = next((c for c, i in enumerate(reps[g]) if verdicts.get((texts[j], texts[i]))), None)
                if c is None:
                    c = len(reps[g])
                    reps[g].append(j)
                labels[g][keys[j]] = c
                done[g] += 1
        if not wanted:
            return labels
        asked = list(wanted)
        got = list(equal(asked, kind))
        if len(got) != len(asked):
            raise S1kitError(f"equal() gave {len(got)} verdicts for {len(asked)} pairs")
        verdicts.update((p, v is True) for p, v in zip(asked, got, strict=True))


def cluster(
    answers: Sequence[str | None],
    kind: str = "math",
    *,
    equal: Equal | None = None,
    extract: bool = True,
    timeout: float = 5.0,
) -> list[int | None]:
    """Cluster labels of one problem's answers (see :func:`cluster_many`)."""
    return cluster_many([answers], kind, equal=equal, extract=extract, timeout=timeout)[0]


def tally(labels: Sequence[int | None], weights: Sequence[float] | None = None) -> list[int]:
    """The winning cluster labels: those with the most votes (or the largest summed weight), in order of
    first appearance in ``labels``; several on a tie, none when every sample abstained."""
    if weights is not None and len(weights) != len(labels):
        raise S1kitError(f"{len(weights)} weights for {len(labels)} answers: expected one weight per answer")
    total: dict[int, float] = {}
    for i, lab in enumerate(labels):
        if lab is not None:
            total[lab] = total.get(lab, 0.0) + (1.0 if weights is None else float(weights[i]))
    if not total:
        return []
    top = max(total.values())
    return [lab for lab, w in total.items() if w == top]


def vote(
    answers: Sequence[str | None],
    kind: str = "math",
    *,
    weights: Sequence[float] | None = None,
    equal: Equal | None = None,
    extract: bool = True,
    timeout: float = 5.0,
) -> str | None:
    """The majority answer of many samples, decided without a gold answer.

    Args:
        answers: model outputs (the answer is extracted as the grader does) or answers already extracted
            (a short one-line text with nothing to extract is taken as the answer itself).
        kind: ``math`` (symbolic equivalence), ``aime`` (integers), ``gpqa`` (letters).
        weights: one weight per answer for a weighted vote (cluster weights are summed).
        equal: the equivalence check, ``equal(pairs, kind) -> [bool | None]``; default: the grading workers.
        extract: ``False`` when ``answers`` are already extracted answers.
        timeout: seconds one equivalence check may take in a worker.

    Returns:
        The winning cluster's answer as written by its first voter; ties go to the cluster whose first
        voter comes first in ``answers``. ``None`` when no answer could be extracted.
    """
    labels = cluster(answers, kind, equal=equal, extract=extract, timeout=timeout)
    won = tally(labels, weights)
    if not won:
        return None
    first = labels.index(won[0])
    return answer_of(answers[first], kind, extract=extract)


def pool_equal(timeout: float = 5.0) -> Equal:
    """The default comparer: the grading pool's ``equal_many`` (the pool :func:`~s1kit.grading.grade` uses,
    one per process), each pair bounded by ``timeout`` seconds, with a per-process cache of verdicts. A pair
    that timed out or failed stays ``None`` (not equal) and is not asked again."""

    def equal(pairs: Sequence[tuple[str, str]], kind: str) -> list[bool | None]:
        with _cache_lock:
            known = {p: _cache.get((kind, *p), _UNKNOWN) for p in pairs}
        todo = [p for p, v in known.items() if v is _UNKNOWN]
        if todo:
            from s1kit.grading.api import equal_many

            got = equal_many(todo, kind, timeout=float(timeout))
            with _cache_lock:
                if len(_cache) + len(todo) > CACHE_PAIRS:
                    _cache.clear()
                for p, v in zip(todo, got, strict=True):
                    known[p] = _cache[(kind, *p)] = v if isinstance(v, bool) else None
        return [known[p] for p in pairs]  # type: ignore[misc]

    return equal


__all__ = ["Equal", "answer_of", "cluster", "cluster_many", "pool_equal", "tally", "vote"]
