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

Cost: the checks grow with the square of a problem's distinct non-numeric answers (every later cluster is
compared with every earlier one, in one batch); verdicts are cached per process.

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
(``None``: comparing timed out or failed, taken as not equal). The default is the grading pool's
``equal_many``."""

BARE_ANSWER_CHARS = 200  # an unextractable text this short and on one line is taken as the answer itself
CACHE_PAIRS = 100_000  # equivalence verdicts the default comparer remembers (per process)
_NUMBER = re.compile(r"#?[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_cache: dict[tuple[str, str, str], bool] = {}
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
    """Cluster labels for each group of answers (one group = one problem's samples), all groups' equivalence
    checks sent to the workers in one batch.

    Returns, per group, one label per answer: ``None`` for an abstention, else 0, 1, 2 … numbered in
    order of each cluster's first member.
    """
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise S1kitError(f"vote timeout={timeout!r} is invalid: expected seconds > 0")
    keyed: list[tuple[list[str | None], list[str], list[str]]] = []  # (key per answer, keys, their texts)
    pairs: dict[tuple[str, str], bool] = {}
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
        for j in range(1, len(keys)):
            for i in range(j):
                if _needs_check(keys[i], keys[j], kind):
                    pairs[(texts[j], texts[i])] = False
        keyed.append((per_answer, keys, texts))
    if pairs:
        asked = list(pairs)
        verdicts = (equal or _pool_equal(timeout))(asked, kind)
        if len(verdicts) != len(asked):
            raise S1kitError(f"equal() gave {len(verdicts)} verdicts for {len(asked)} pairs")
        pairs = {p: v is True for p, v in zip(asked, verdicts, strict=True)}
    return [_labels(per_answer, keys, texts, kind, pairs) for per_answer, keys, texts in keyed]


def _labels(
    per_answer: list[str | None],
    keys: list[str],
    texts: list[str],
    kind: str,
    equal: dict[tuple[str, str], bool],
) -> list[int | None]:
    reps: list[int] = []  # index (into keys) of each cluster's first key
    label_of_key: dict[str, int] = {}
    for j, k in enumerate(keys):
        for c, i in enumerate(reps):
            if _needs_check(keys[i], k, kind) and equal.get((texts[j], texts[i]), False):
                label_of_key[k] = c
                break
        else:
            label_of_key[k] = len(reps)
            reps.append(j)
    return [None if k is None else label_of_key[k] for k in per_answer]


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


def _pool_equal(timeout: float) -> Equal:
    """The grading pool's ``equal_many`` with a per-process cache of verdicts."""

    def equal(pairs: Sequence[tuple[str, str]], kind: str) -> list[bool | None]:
        with _cache_lock:
            known = {p: _cache.get((kind, *p)) for p in pairs}
        todo = [p for p, v in known.items() if v is None]
        if todo:
            from s1kit.grading import api  # the pool grade() uses: one worker per process, shared

            with api._LOCK:
                pool = api._shared_pool()
                pool.timeout = float(timeout)
                got = pool.equal_many(todo, kind)
            with _cache_lock:
                if len(_cache) + len(todo) > CACHE_PAIRS:
                    _cache.clear()
                for p, v in zip(todo, got, strict=True):
                    known[p] = v is True  # a timed-out pair stays "not equal": never retried
                    _cache[(kind, *p)] = v is True
        return [known[p] for p in pairs]

    return equal


__all__ = ["Equal", "answer_of", "cluster", "cluster_many", "tally", "vote"]
