"""The toy task's generator: exact answers, one intermediate result per step, the trace kinds, seeds."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from s1kit.errors import S1kitError
from s1kit.toy.problems import (
    ANSWER_TEMPLATE,
    MAX_K,
    WAIT,
    PoolSpec,
    ToyProblem,
    eval_problems,
    make_trace,
    parse_question,
    pool_rows,
    worked_trace,
)


def test_the_answer_is_the_last_step_of_the_worked_trace():
    rng = random.Random(1)
    for _ in range(300):
        p = ToyProblem(tuple(rng.randrange(10) for _ in range(rng.randint(1, MAX_K))))
        lines = worked_trace(p).split("\n")
        assert len(lines) == p.k
        s = 0
        for d, line in zip(p.digits, lines, strict=True):
            s = (s + d) % 10
            assert line == str(s)
        assert lines[-1] == p.answer == str(sum(p.digits) % 10)


def test_questions_have_one_length_whatever_k():
    assert len({len(ToyProblem((1,) * k).question) for k in range(1, MAX_K + 1)}) == 1


def test_lazy_traces_stop_early_and_guess_the_running_sum():
    p = ToyProblem((3, 1, 4, 1, 5))
    assert make_trace(p, "lazy", 3) == ("3\n4\n8", ANSWER_TEMPLATE.format(8))
    assert ANSWER_TEMPLATE.format(8) != ANSWER_TEMPLATE.format(p.answer)


def test_resumed_and_checked_traces_end_with_the_right_answer():
    p = ToyProblem((3, 1, 4, 1, 5))
    thinking, attempt = make_trace(p, "resume", 2)
    assert thinking.split("\n") == ["3", "4", WAIT, "9", "4"]  # "Wait" takes step 3's line; 9 = 4 + 4 + 1
    assert attempt == ANSWER_TEMPLATE.format(p.answer)
    thinking, attempt = make_trace(p, "check", 0)
    assert thinking.split("\n") == [*worked_trace(p).split("\n"), WAIT]
    assert attempt == ANSWER_TEMPLATE.format(p.answer)


@pytest.mark.parametrize(("kind", "bad"), [("lazy", 5), ("resume", 4)])
def test_early_stops_leave_a_step(kind, bad):
    with pytest.raises(S1kitError, match="stops after"):
        make_trace(ToyProblem((1, 2, 3, 4, 5)), kind, bad)


def test_questions_parse_back_and_foreign_text_does_not():
    p = ToyProblem((0, 9, 5))
    assert parse_question(p.question) == p
    assert parse_question("What is 2+2?") is None
    assert parse_question("Sum mod 10: 1 2 3") is None
    assert parse_question("Sum mod 10: 1 _ 3 _ _ _ _ _ _") is None
    with pytest.raises(S1kitError):
        ToyProblem(())


def test_pool_is_a_function_of_the_seed_and_mixes_the_trace_kinds():
    a = pool_rows(0, PoolSpec(size=2000))
    assert a == pool_rows(0, PoolSpec(size=2000)) and a != pool_rows(1, PoolSpec(size=2000))
    kinds = Counter(r["metadata"]["trace"] for r in a)
    assert 0.2 < kinds["lazy"] / len(a) < 0.32
    assert 0.08 < kinds["resume"] / len(a) < 0.16
    assert 0.1 < kinds["check"] / len(a) < 0.25
    assert 10 < kinds["api_error"] + kinds["cut"] < 120
    for r in a:
        p = parse_question(r["question"])
        assert p is not None and r["answer"] == p.answer and r["msc"] == f"K{p.k:02d}"
        assert set(r) >= {"question", "thinking_trajectories", "attempt", "solution", "metadata"}
        if r["metadata"]["trace"] in ("full", "resume", "check"):
            assert r["attempt"] == ANSWER_TEMPLATE.format(p.answer)


def test_eval_problems_spread_k_evenly_and_depend_on_the_seed():
    ps = eval_problems(0, 80, 2, 9)
    assert Counter(p.k for p in ps) == {k: 10 for k in range(2, 10)}
    assert ps == eval_problems(0, 80, 2, 9) and ps != eval_problems(1, 80, 2, 9)
    with pytest.raises(S1kitError, match="k_min"):
        eval_problems(0, 10, 5, 2)
