"""Shipped tasks, GPQA's seeded shuffle (never printing a question), custom JSONL errors."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from s1kit.errors import S1kitError
from s1kit.tasks import get_task
from s1kit.tasks.gpqa import shuffle_options


@pytest.mark.parametrize(
    "name, n, kind, first_gold",
    [
        ("aime24", 30, "aime", "204"),
        ("aime25", 30, "aime", "70"),
        ("math500", 500, "math", None),
        ("gsm8k", 1319, "math", "18"),
        ("gpqa_diamond", 198, "gpqa", None),
    ],
)
def test_shipped_tasks(name, n, kind, first_gold):
    t = get_task(name)
    assert len(t.problems) == n and t.kind == kind and t.version
    assert len({p.id for p in t.problems}) == n
    assert t.describe()["options"]["sha256"]
    if first_gold:
        assert t.problems[0].gold == first_gold


def test_aime25_answers_match_the_official_list():
    official = "70 588 16 117 279 504 821 77 62 81 259 510 204 60 735 468 49 82 106 336 293 237 610 149 907 113 19 248 104 240"
    assert [p.gold for p in get_task("aime25").problems] == official.split()


def test_math500_meta_and_prompt_styles():
    t = get_task("math500")
    assert Counter(p.meta["subject"] for p in t.problems)["Algebra"] == 124
    p = t.problems[0]
    assert t.prompt(p, "s1") == p.question
    assert t.prompt(p, "boxed").endswith("within \\boxed{}.")
    with pytest.raises(S1kitError, match="prompt style"):
        t.prompt(p, "chat")  # type: ignore[arg-type]


def test_gpqa_options_shuffled_with_a_recorded_seed():
    a, b, a2 = (
        get_task("gpqa_diamond", seed=0),
        get_task("gpqa_diamond", seed=1),
        get_task("gpqa_diamond", seed=0),
    )
    assert a.options["seed"] == 0 and b.options["seed"] == 1
    assert [p.gold for p in a.problems] == [p.gold for p in a2.problems]
    assert [p.gold for p in a.problems] != [p.gold for p in b.problems]
    counts = Counter(p.gold for p in a.problems)
    assert set(counts) == set("ABCD") and min(counts.values()) > 25  # no letter is always right
    prompt = a.prompt(a.problems[0], "boxed")
    has_options = all(f"\n{x}) " in prompt for x in "ABCD")
    asks_letter = "letter" in prompt
    del prompt  # a failing assert must not print a GPQA question
    assert has_options and asks_letter
    opts, gold = shuffle_options("rec1", 7, "right", ["w1", "w2", "w3"])
    assert opts["ABCD".index(gold)] == "right" and sorted(opts) == ["right", "w1", "w2", "w3"]


def test_limit_and_unknown_task():
    assert len(get_task("aime24").limited(3).problems) == 3
    with pytest.raises(S1kitError, match="unknown task 'aime23'"):
        get_task("aime23")
    with pytest.raises(S1kitError, match="does not take options"):
        get_task("aime24", seed=1)


def test_custom_task(tmp_path):
    f = tmp_path / "qs.jsonl"
    f.write_text(
        json.dumps({"q": "1+1?", "a": 2, "id": "x"})
        + "\n\n"
        + json.dumps({"q": "2+2?", "a": "4", "id": "y"})
        + "\n"
    )
    t = get_task("custom", path=str(f), question_field="q", answer_field="a", id_field="id")
    assert [(p.id, p.gold, p.kind) for p in t.problems] == [("x", "2", "math"), ("y", "4", "math")]
    assert t.options["sha256"] and t.options["question_field"] == "q"


@pytest.mark.parametrize(
    "lines, opts, match",
    [
        (['{"question": "a", "answer": "1"}', '{"question": "b"}'], {}, r"line 2: missing field 'answer'"),
        (['{"question": "a", "answer": "1"}', "{oops"], {}, r"line 2: not valid JSON"),
        (['{"prompt": "a", "answer": "1"}'], {}, r"line 1: missing field 'question'"),
        (['{"question": "a", "answer": null}'], {}, r"line 1: field 'answer' must be"),
        (['["a", "b"]'], {}, "line 1: expected a JSON object"),
        (
            ['{"question": "a", "answer": "1", "id": 1}', '{"question": "b", "answer": "2", "id": 1}'],
            {"id_field": "id"},
            "line 2: duplicate id",
        ),
        ([], {}, "has no rows"),
    ],
)
def test_custom_task_errors_name_line_and_field(tmp_path, lines, opts, match):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(lines))
    with pytest.raises(S1kitError, match=match):
        get_task("custom", path=str(f), **opts)


def test_custom_task_missing_file_and_kind(tmp_path):
    with pytest.raises(S1kitError, match="not found"):
        get_task("custom", path=str(tmp_path / "nope.jsonl"))
    with pytest.raises(S1kitError, match="needs a file"):
        get_task("custom")
    with pytest.raises(S1kitError, match="kind"):
        get_task("custom", path=str(tmp_path), kind="physics")
