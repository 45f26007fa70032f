"""The toy task's generator: exact answers, one intermediate result per step, the trace kinds, seeds."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from s1kit.errors import S1kitError
from s1kit.toy.problems import (
    ANSWER_TEMPLATE,
    WAIT,
    PoolSpec,
    ToyProblem,
    eval_problems,
    make_trace,
    parse_question,
    pool_rows,
    worked_trace,
)


def _check_steps(p: ToyProblem, lines: list[str]) -> None:
    """Every line adds the next digit to the previous running sum, mod 10."""
    s = 0
    for i, line in enumerate(lines):
        d, r = line.split(">")
        assert int(d) == p.digits[i]
        s = (s + int(d)) % 10
        assert int(r) == s


def test_the_answer_is_the_last_step_of_the_worked_trace():
    rng = random.Random(1)
    for _ in range(200):
        p = ToyProblem(tuple(rng.randrange(10) for _ in range(rng.randint(1, 15))))
        lines = worked_trace(p).split("\n")
        assert len(lines) == p.k
        _check_steps(p, lines)
        assert lines[-1].split(">")[1] == p.answer == str(sum(p.digits) % 10)


def test_lazy_traces_stop_early_and_guess_the_partial_sum():
    p = ToyProblem((3, 1, 4, 1, 5))
    thinking, attempt = make_trace(p, "lazy", 2)
    assert thinking.split("\n") == ["3>3", "1>4"]
    assert attempt == ANSWER_TEMPLATE.format(4)  # the running sum so far, not the answer (4 here by chance)
    thinking, attempt = make_trace(p, "lazy", 3)
    assert attempt == ANSWER_TEMPLATE.format(8) != ANSWER_TEMPLATE.format(p.answer)


def test_resumed_traces_wait_then_finish_correctly():
    p = ToyProblem((3, 1, 4, 1, 5))
    thinking, attempt = make_trace(p, "resume", 2)
    lines = thinking.split("\n")
    assert lines[2] == WAIT
    _check_steps(p, lines[:2] + lines[3:])
    assert attempt == ANSWER_TEMPLATE.format(p.answer)


@pytest.mark.parametrize("kind", ["lazy", "resume"])
def test_early_stops_must_be_before_the_last_step(kind):
    with pytest.raises(S1kitError, match="stops after 1..4"):
        make_trace(ToyProblem((1, 2, 3, 4, 5)), kind, 5)


def test_questions_parse_back_and_foreign_text_does_not():
    p = ToyProblem((0, 9, 5))
    assert parse_question(p.question) == p
    assert parse_question("What is 2+2?") is None
    assert parse_question("Sum mod 10: 1 22") is None
    with pytest.raises(S1kitError):
        ToyProblem(())


def test_pool_is_a_function_of_the_seed_and_mixes_the_trace_kinds():
    a, b, c = (
        pool_rows(0, PoolSpec(size=2000)),
        pool_rows(0, PoolSpec(size=2000)),
        pool_rows(1, PoolSpec(size=2000)),
    )
    assert a == b and a != c
    kinds = Counter(r["metadata"]["trace"] for r in a)
    assert 0.25 < kinds["lazy"] / len(a) < 0.35
    assert 0.11 < kinds["resume"] / len(a) < 0.19
    assert 10 < kinds["api_error"] + kinds["cut"] < 120
    for r in a:
        p = parse_question(r["question"])
        assert p is not None and r["answer"] == p.answer and r["msc"] == f"K{p.k:02d}"
        assert set(r) >= {"question", "thinking_trajectories", "attempt", "solution", "metadata"}
        if r["metadata"]["trace"] in ("full", "resume"):
            assert r["attempt"] == ANSWER_TEMPLATE.format(p.answer)


def test_eval_problems_spread_k_evenly_and_depend_on_the_seed():
    ps = eval_problems(0, 100, 2, 11)
    assert Counter(p.k for p in ps) == {k: 10 for k in range(2, 12)}
    assert ps == eval_problems(0, 100, 2, 11) and ps != eval_problems(1, 100, 2, 11)
    with pytest.raises(S1kitError, match="k_min"):
        eval_problems(0, 10, 5, 2)
