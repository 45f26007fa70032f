"""The toy task's generator: exact answers, one intermediate result per step, the trace kinds, seeds."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from s1kit.errors import S1kitError
from s1kit.toy.problems import (
    ANSWER_TEMPLATE,
    KEYS,
    LINE_TOKENS,
    MAX_K,
    QUESTION_PREFIX,
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
        for key, d, line in zip(KEYS, p.digits, lines, strict=False):
            s = (s + d) % 10
            assert line == f"{key}{d}{s}"
        assert lines[-1][-1] == p.answer == str(sum(p.digits) % 10)


def test_every_line_finds_its_digit_by_its_key_in_the_question():
    rng = random.Random(2)
    for _ in range(100):
        p = ToyProblem(tuple(rng.randrange(10) for _ in range(rng.randint(1, MAX_K))))
        slots = p.question[len(QUESTION_PREFIX) :].split()
        for line in p.lines:
            assert f"{line[0]}{line[1]}" in slots  # key + digit, as the question writes them


def test_questions_have_one_length_whatever_k():
    assert len({len(ToyProblem((1,) * k).question) for k in range(1, MAX_K + 1)}) == 1


def test_lazy_traces_stop_early_and_guess_the_running_sum():
    p = ToyProblem((3, 1, 4, 1, 5))
    assert make_trace(p, "lazy", 3) == ("A33\nB14\nC48", ANSWER_TEMPLATE.format(8))
    assert ANSWER_TEMPLATE.format(8) != ANSWER_TEMPLATE.format(p.answer)


def test_resumed_and_checked_traces_restate_the_step_before_wait_and_end_right():
    p = ToyProblem((3, 1, 4, 1, 5))
    thinking, attempt = make_trace(p, "resume", 2)
    # "Wait" is a line of its own; the line after it restates step 2, then steps 3..5 follow
    assert thinking.split("\n") == ["A33", "B14", WAIT, "B14", "C48", "D19", "E54"]
    assert attempt == ANSWER_TEMPLATE.format(p.answer)
    thinking, attempt = make_trace(p, "check", 0)
    assert thinking.split("\n") == [*worked_trace(p).split("\n"), WAIT, "E54"]
    assert attempt == ANSWER_TEMPLATE.format(p.answer)
    # a second "Wait" comes after the last step, and again restates the line before it
    assert make_trace(p, "check", 0, waits=2)[0].split("\n")[-4:] == [WAIT, "E54", WAIT, "E54"]
    assert make_trace(p, "resume", 2, waits=2)[0].split("\n") == [
        *["A33", "B14", WAIT, "B14", "C48", "D19", "E54"],
        *[WAIT, "E54"],
    ]
    # the lines a resumed trace writes after "Wait" are the worked trace's, from step j on
    for j in range(1, p.k):
        lines = make_trace(p, "resume", j)[0].split("\n")
        assert lines[:j] == p.lines[:j] and lines[j] == WAIT and lines[j + 1 :] == p.lines[j - 1 :]


def test_wait_lines_match_what_budget_forcing_inserts():
    pytest.importorskip("transformers")
    from s1kit.backends.tokenizer import HFTokenizer
    from s1kit.toy.model import build_tokenizer

    tok = build_tokenizer()
    p = ToyProblem((3, 1, 4, 1, 5))
    ids = tok.encode(make_trace(p, "resume", 2)[0], add_special_tokens=False)
    pieces = tok.convert_ids_to_tokens(ids)
    # the model ends step 2 with a newline, its stop attempt is replaced by "Wait" encoded as plain text
    # (what budget forcing feeds), and it writes a newline: the training trace has the same tokens
    forced = HFTokenizer(tok).encode_text(WAIT)
    w = next(i for i in range(len(ids)) if ids[i : i + len(forced)] == forced)
    assert pieces[w - 1] == "\n" and pieces[w + len(forced)] == "\n"
    assert set(KEYS).isdisjoint(WAIT)  # no key character occurs in "Wait"
    plain = tok.encode(worked_trace(p) + "\n", add_special_tokens=False)
    assert len(plain) == LINE_TOKENS * p.k


@pytest.mark.parametrize(("kind", "bad"), [("lazy", 5), ("resume", 5), ("resume", 0)])
def test_early_stops_leave_a_step(kind, bad):
    with pytest.raises(S1kitError, match="stops after"):
        make_trace(ToyProblem((1, 2, 3, 4, 5)), kind, bad)


def test_questions_parse_back_and_foreign_text_does_not():
    p = ToyProblem((0, 9, 5))
    assert parse_question(p.question) == p
    assert parse_question("What is 2+2?") is None
    assert parse_question("Sum mod 10: A1 B2 C3") is None
    assert parse_question("Sum mod 10: A1 B_ C3 D_ E_ F_ G_ H_ I_") is None
    assert parse_question("Sum mod 10: B1 A2 C_ D_ E_ F_ G_ H_ I_") is None
    assert parse_question("Sum mod 10: 1 2 3 _ _ _ _ _ _") is None
    with pytest.raises(S1kitError):
        ToyProblem(())


def test_pool_is_a_function_of_the_seed_and_mixes_the_trace_kinds():
    a = pool_rows(0, PoolSpec(size=2000))
    assert a == pool_rows(0, PoolSpec(size=2000)) and a != pool_rows(1, PoolSpec(size=2000))
    kinds = Counter(r["metadata"]["trace"] for r in a)
    assert 0.25 < kinds["lazy"] / len(a) < 0.36
    assert 0.06 < kinds["resume"] / len(a) < 0.12
    assert 0.1 < kinds["check"] / len(a) < 0.2
    waits = Counter(r["metadata"]["waits"] for r in a if r["metadata"]["trace"] in ("resume", "check"))
    assert set(waits) == {1, 2} and 0.25 < waits[2] / sum(waits.values()) < 0.55
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
