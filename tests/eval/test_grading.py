"""Grading: a table of realistic outputs, the public verdict, the timeout and the fallback."""

from __future__ import annotations

import time

import pytest
from tests.eval.grading_cases import CASES

from s1kit.errors import S1kitError
from s1kit.grading.api import grade
from s1kit.grading.judge import aime_int, boxed_all, extract_answer, gpqa_letter, judge
from s1kit.grading.pool import GradingPool


@pytest.fixture(scope="module")
def pool():
    with GradingPool(workers=2, timeout=5.0) as p:
        yield p


def test_table_is_large_and_covers_every_kind():
    assert len(CASES) >= 100
    kinds = {k for k, *_ in CASES}
    assert kinds == {"math", "aime", "gpqa"}
    assert sum(1 for c in CASES if c[3]) >= 5, "answers only in the thinking"
    assert sum(1 for c in CASES if not c[4]) >= 30, "enough cases that must be graded wrong"


def test_grading_table_through_worker_pool(pool):
    verdicts = pool.grade_many([(answer, gold, kind, thinking) for kind, gold, answer, thinking, _ in CASES])
    wrong = [
        (i, kind, gold, answer[:60], expected, v)
        for i, ((kind, gold, answer, _, expected), v) in enumerate(zip(CASES, verdicts, strict=True))
        if v.correct != expected
    ]
    assert not wrong, "\n".join(map(str, wrong))


def test_fallback_to_thinking_is_recorded():
    v = judge("", "8", "math", thinking=r"so it is $\boxed{8}$. Wait, yes.")
    assert v.correct and v.source == "thinking" and v.extracted == "8"
    v = judge(r"$\boxed{8}$", "8", "math", thinking=r"$\boxed{9}$")
    assert v.source == "answer"
    v = judge("no idea", "8", "math", thinking="nothing boxed")
    assert not v.correct and v.source == "none" and v.extracted is None


def test_public_grade_function():
    import s1kit

    assert s1kit.grade is grade  # the lazy top-level re-export
    assert grade(r"The answer is $\boxed{\frac{1}{2}}$.", "0.5") is True
    assert grade(r"$\boxed{025}$", "25", kind="aime") is True
    assert grade("Answer: (B)", "C", kind="gpqa") is False
    with pytest.raises(S1kitError, match="unknown grading kind"):
        grade("1", "1", kind="chemistry")  # type: ignore[arg-type]


def test_pathological_answers_are_wrong_within_the_timeout():
    hostile = [
        (r"$\boxed{9^{9^{9^{9^{9^{9}}}}}}$", "3", "math", ""),
        (r"$\boxed{" + r"\frac{1}{" * 400 + "2" + "}" * 400 + "}$", "3", "math", ""),
        (r"$\boxed{3}$", "3", "math", ""),  # a normal item after the kills still grades
    ]
    timeout = 1.0
    t0 = time.monotonic()
    with GradingPool(workers=1, timeout=timeout) as p:
        p.grade_many([("1", "1", "math", "")])  # warm: the worker has started
        start_cost = time.monotonic() - t0  # one worker start (imports sympy, math-verify), measured here
        t1 = time.monotonic()
        out = p.grade_many(hostile)
        elapsed = time.monotonic() - t1
        durations, killed = p.last_durations, p.timeouts
    assert [v.correct for v in out] == [False, False, True]
    assert killed >= 1 and killed == sum(v.timed_out for v in out)
    # Each killed item gets its verdict at its timeout (+ the poll/kill slack, well under 0.5 s) ...
    assert all(d < timeout + 0.5 for d, v in zip(durations, out, strict=True) if v.timed_out), durations
    # ... and the whole call costs, per kill, the timeout plus starting the replacement worker (a restart
    # imports what the first start imported, with warm disk caches: at most start_cost; 2x for the load
    # swings of a shared machine), plus one normal item (< 1 s). The old test allowed 2 x 1 s + 30 s.
    bound = killed * (timeout + 2 * start_cost) + 1.0
    assert elapsed < bound, (elapsed, bound, start_cost)


def test_nothing_in_an_answer_is_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = rf"$\boxed{{__import__('os').system('touch {marker}')}}$"
    assert not judge(payload, "0", "math").correct
    assert not marker.exists()


def test_extraction_helpers():
    assert boxed_all(r"a \boxed{x^{2}} b \boxed{\frac{1}{2}}") == ["x^{2}", r"\frac{1}{2}"]
    assert boxed_all(r"\boxed{unclosed") == []
    assert extract_answer("Final Answer: $12$.") == "12"
    assert extract_answer("work... Answer: 3\nmore text") == "3"
    assert extract_answer("no answer here") is None
    assert aime_int("025") == 25 and aime_int("1,000") == 1000 and aime_int("12.5") is None
    assert gpqa_letter("The answer is (D).") == "D"
    assert gpqa_letter(r"\boxed{A or B}") is None
