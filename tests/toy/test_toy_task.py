"""The toy task as an evaluation task: registered, versioned, graded by the normal grader."""

from __future__ import annotations

from collections import Counter

import pytest

from s1kit.errors import S1kitError
from s1kit.tasks import TASKS, get_task
from s1kit.toy.problems import parse_question


def test_toy_is_a_registered_task_with_exact_answers():
    assert "toy" in TASKS
    task = get_task("toy")
    assert task.kind == "math" and task.version == "2" and len(task.problems) == 210
    for p in task.problems:
        q = parse_question(p.question)
        assert q is not None and q.answer == p.gold and q.k == p.meta["k"]
    assert Counter(p.meta["k"] for p in task.problems) == {k: 30 for k in range(3, 10)}
    assert task.describe()["options"] == {"seed": 0, "n": 210, "k_min": 3, "k_max": 9}


def test_options_change_the_problems_and_unknown_ones_are_refused():
    assert get_task("toy", seed=1).problems != get_task("toy").problems
    assert len(get_task("toy", n=7, k_min=3, k_max=3).problems) == 7
    with pytest.raises(S1kitError, match="does not take options"):
        get_task("toy", digits=3)


def test_the_normal_grader_reads_the_toy_answer():
    from s1kit.grading import grade

    gold = get_task("toy").problems[0].gold
    wrong = str((int(gold) + 1) % 10)
    assert grade("Final Answer: " + gold, gold)
    assert not grade("Final Answer: " + wrong, gold)
    assert grade("\\boxed{" + gold + "}", gold)
