"""Metric formulas against values computed by hand."""

from __future__ import annotations

import math

import pytest

import s1kit
from s1kit.evaluation.at_k import Samples, majority_credit, samples_by_setting
from s1kit.evaluation.metrics import (
    accuracy,
    by_field,
    control,
    k_values,
    maj_at_k,
    parallel_curves,
    pass_at_k,
    performance,
    scaling,
    summarize,
    thinking_stats,
    wilson,
)
from s1kit.grading.judge import equivalent


def rec(pid, correct, tokens=100, *, sample=0, extracted=None, cap=128, lo=0, sid=None, meta=None):
    setting = {
        "id": sid or f"bf:max={cap}",
        "method": "budget_forcing",
        "label": str(cap),
        "budget": {"max_thinking_tokens": cap, "min_thinking_tokens": lo},
    }
    return {
        "key": f"{pid}|{setting['id']}|{sample}",
        "problem_id": pid,
        "setting": setting,
        "sample": sample,
        "correct": correct,
        "extracted": extracted if extracted is not None else ("5" if correct else "6"),
        "thinking_tokens": tokens,
        "meta": meta or {},
    }


def test_wilson_by_hand():
    # p = 0.8, n = 10, z = 1.96: centre (0.8 + 0.19208) / 1.38415 = 0.71674, half = 0.22658
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4) and hi == pytest.approx(0.94331, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.27753, abs=1e-4)
    assert wilson(0, 0) == (0.0, 0.0)


def test_accuracy_and_thinking_stats():
    rs = [rec("a", True, 10), rec("b", False, 20), rec("c", True, 30), rec("d", True, 40)]
    acc = accuracy(rs)
    assert acc["n"] == 4 and acc["correct"] == 3 and acc["accuracy"] == 0.75
    st = thinking_stats(rs)
    assert st["mean"] == 25 and st["median"] == 25 and st["min"] == 10 and st["max"] == 40
    assert st["p10"] == pytest.approx(13.0)  # rank 0.3 between 10 and 20
    assert st["std"] == pytest.approx(math.sqrt(125))


def test_control_counts_samples_inside_their_own_budget():
    rs = [
        rec("a", True, 128, cap=128),
        rec("b", True, 129, cap=128),
        rec("c", True, 50, cap=None, lo=60),
        rec("d", True, 60, cap=None, lo=60),
    ]
    assert control(rs) == 0.5


def test_scaling_is_the_mean_pairwise_slope():
    pts = [(1000, 40.0), (2000, 50.0), (4000, 45.0)]
    # slopes per 1k tokens: (50-40)/1 = 10, (45-40)/3 = 5/3, (45-50)/2 = -2.5 -> mean 3.0556
    assert scaling(pts) == pytest.approx((10 + 5 / 3 - 2.5) / 3)
    assert scaling(pts, per=1) == pytest.approx((10 / 1000 + 5 / 3000 - 5 / 2000) / 3)
    assert scaling([(500, 10.0), (500, 20.0)]) != scaling([(500, 10.0), (500, 20.0)])  # nan: no pair b > a
    assert performance(pts) == 50.0


def test_pass_at_k_by_hand():
    # n=4, c=1: pass@1 = 1/4, pass@2 = 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5, pass@4 = 1
    assert pass_at_k(4, 1, 1) == 0.25 and pass_at_k(4, 1, 2) == 0.5 and pass_at_k(4, 1, 4) == 1.0
    assert pass_at_k(4, 0, 4) == 0.0
    assert k_values(4) == [1, 2, 4] and k_values(6) == [1, 2, 4, 6] and k_values(1) == [1]


def one_problem(labels, correct):
    return Samples(tuple({"correct": c} for c in correct), tuple(labels))


def test_majority_vote_by_hand():
    T, F = True, False
    assert majority_credit([0, 0, 1], [T, T, F]) == 1.0
    assert majority_credit([1, 1, 0], [F, F, T]) == 0.0
    assert majority_credit([0, 1], [T, F]) == 0.5  # tie: expected credit of the first-come rule, random order
    assert majority_credit([None, None], [F, F]) == 0.0
    assert majority_credit([0, 0, 1], [T, F, F]) == 1.0  # the winning cluster's FIRST sample decides
    # samples: correct, correct, wrong "7", wrong "7". maj@2 over the 6 pairs: CC=1 (1 pair),
    # 77=0 (1 pair), C7 ties=0.5 (4 pairs) -> (1 + 0 + 2) / 6 = 0.5; maj@4 is a 2-2 tie = 0.5;
    # maj@3: {C,C,7} x2 -> 1, {C,7,7} x2 -> 0 -> 0.5
    s = one_problem([0, 0, 1, 1], [T, T, F, F])
    assert maj_at_k(s, 2) == pytest.approx(0.5)
    assert maj_at_k(s, 3) == pytest.approx(0.5)
    assert maj_at_k(s, 4) == pytest.approx(0.5)
    s = one_problem([0, 1, 2, 3], [T, F, F, F])  # plurality of one each: 4-way tie at k=4 -> 1/4
    assert maj_at_k(s, 4) == pytest.approx(0.25)


def test_the_vote_never_sees_the_gold():
    """The case where the old gold-aware vote and the new one differ.

    Gold 2; five samples answer 2, 2.0, \\frac{1}{3}, \\dfrac{1}{3}, 1/3. The old vote merged every CORRECT
    answer into one vote (it looked at the gold) but split wrong answers by their text: correct 2 votes
    against three wrong answers of one vote each, so maj@5 was credited as correct. A voter without the
    gold sees three samples saying one third and two saying 2: one third wins, and maj@5 is wrong.
    """
    texts = ["2", "2.0", r"\frac{1}{3}", r"\dfrac{1}{3}", "1/3"]
    correct = [True, True, False, False, False]
    rs = [rec("p", c, sample=i, extracted=t) for i, (t, c) in enumerate(zip(texts, correct, strict=True))]

    def gold_aware_key(r):  # the old metrics.vote_key, kept here as the reference it replaced
        return "\x00correct" if r["correct"] else " ".join(r["extracted"].split())

    old = [gold_aware_key(r) for r in rs]
    assert max(set(old), key=old.count) == "\x00correct"  # the old vote: credited correct

    def in_process(pairs, kind):  # the grader's own equivalence (trusted, fixed answers)
        return [equivalent(a, b, kind) for a, b in pairs]

    (problem,) = samples_by_setting({"s": rs}, equal=in_process)["s"]
    assert problem.labels == (
        0,
        0,
        1,
        1,
        1,
    )  # 2 = 2.0; one third three ways (normalised text, then math-verify)
    assert (
        s1kit.vote(texts, extract=False, equal=in_process) == r"\frac{1}{3}"
    )  # what a gold-free voter picks
    assert maj_at_k(problem, 5) == 0.0
    assert parallel_curves(rs, equal=in_process)["maj@k"][5] == 0.0


def test_parallel_curves_from_records():
    rs = [rec("p", True, sample=0), rec("p", True, sample=1), rec("p", False, sample=2, extracted="7")]
    rs += [rec("p", False, sample=3, extracted="7")]
    rs += [rec("q", False, sample=s, extracted=str(s)) for s in range(4)]
    out = parallel_curves(rs)
    assert out["pass@k"] == {1: pytest.approx(0.25), 2: pytest.approx((5 / 6 + 0) / 2), 4: 0.5}
    # p: maj@1 = 0.5, maj@2 = 0.5, maj@4 = 0.5; q: always 0
    assert out["maj@k"] == {1: pytest.approx(0.25), 2: pytest.approx(0.25), 4: pytest.approx(0.25)}


def test_by_subject_and_level_and_summary():
    rs = [
        rec("a", True, 100, cap=128, meta={"subject": "Algebra", "level": 1}),
        rec("b", False, 120, cap=128, meta={"subject": "Algebra", "level": 5}),
        rec("a", True, 200, cap=256, meta={"subject": "Algebra", "level": 1}),
        rec("b", True, 300, cap=256, meta={"subject": "Algebra", "level": 5}),
    ]
    assert by_field(rs, "level")["5"]["accuracy"] == 0.5
    s = summarize(rs)
    assert [x["accuracy"] for x in s["settings"]] == [0.5, 1.0]
    assert [x["mean_thinking_tokens"] for x in s["settings"]] == [110, 250]
    assert s["control"] == 0.75  # 300 > 256
    assert s["scaling"] == pytest.approx((100 - 50) / 140 * 1000)
    assert s["performance"] == 100.0
    assert s["settings"][0]["by_subject"]["Algebra"]["n"] == 2


def test_summary_counts_the_votes_equivalence_checks_and_their_timeouts():
    # two samples of one problem: 1/2 and x+1 need one check; a comparer that times out (None) keeps
    # them apart, and the summary says so
    rs = [rec("p", True, sample=0, extracted=r"\frac{1}{2}"), rec("p", False, sample=1, extracted="x+1")]
    s = summarize(rs, equal=lambda pairs, kind: [None] * len(pairs))
    assert s["vote_checks"] == {"pairs": 1, "timed_out": 1}
    assert s["settings"][0]["maj@k"]["2"] == 0.5  # a 1-1 tie between the two clusters
    assert summarize(rs[:1], equal=never_asked)["vote_checks"] == {"pairs": 0, "timed_out": 0}


def never_asked(pairs, kind):
    raise AssertionError("one answer: nothing to compare")
