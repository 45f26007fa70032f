"""Metric formulas against values computed by hand."""

from __future__ import annotations

import math

import pytest

from s1kit.evaluation.metrics import (
    accuracy,
    by_field,
    control,
    k_values,
    maj_at_k,
    majority_correct,
    parallel_curves,
    pass_at_k,
    performance,
    scaling,
    summarize,
    thinking_stats,
    wilson,
)


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
        "extracted": extracted if extracted is not None else ("gold" if correct else "x"),
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


def test_majority_vote_by_hand():
    C = "\x00correct"
    assert majority_correct([C, C, "7"]) == 1.0
    assert majority_correct(["7", "7", C]) == 0.0
    assert majority_correct([C, "7"]) == 0.5  # tie: expected credit of a random tie-break
    assert majority_correct([None, None]) == 0.0
    # samples: correct, correct, wrong "7", wrong "7". maj@2 over the 6 pairs: CC=1 (1 pair),
    # 77=0 (1 pair), C7 ties=0.5 (4 pairs) -> (1 + 0 + 2) / 6 = 0.5; maj@4 is a 2-2 tie = 0.5;
    # maj@3: {C,C,7} x2 -> 1, {C,7,7} x2 -> 0 -> 0.5
    keys = [C, C, "7", "7"]
    assert maj_at_k(keys, 2) == pytest.approx(0.5)
    assert maj_at_k(keys, 3) == pytest.approx(0.5)
    assert maj_at_k(keys, 4) == pytest.approx(0.5)
    keys = [C, "7", "8", "9"]  # plurality of one each: 4-way tie at k=4 -> 1/4
    assert maj_at_k(keys, 4) == pytest.approx(0.25)


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
