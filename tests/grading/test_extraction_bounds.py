"""Extraction is one linear pass (issue 16, item 15), GPQA letters are strict (item 13), units are
never stripped across different units (item 14)."""

from __future__ import annotations

import time

import pytest

from s1kit.grading.extract import box_spans, extract_answer, gpqa_letter, last_boxed
from s1kit.grading.judge import split_unit

LINEAR_LIMIT_S = 0.5  # the quadratic extractor took 8.7 s for 4,000 nested boxes and 48 s for 10,000 unclosed


def _nested(depth: int, inner: str = "7") -> str:
    return "$" + r"\boxed{" * depth + inner + "}" * depth + "$"


def test_deeply_nested_and_unclosed_boxes_extract_in_linear_time():
    nested = _nested(4000)
    unclosed = r"\boxed{" * 10_000
    t0 = time.perf_counter()
    assert last_boxed(nested) == "7"  # the innermost box starts last
    assert len(box_spans(nested)) == 4000
    assert last_boxed(unclosed) is None and extract_answer(unclosed) is None
    elapsed = time.perf_counter() - t0
    assert elapsed < LINEAR_LIMIT_S, f"{elapsed:.2f} s"


def test_a_correct_deeply_nested_answer_grades_right(grading_pool):
    v_math, v_wrong, v_unclosed = grading_pool.grade_many(
        [
            (_nested(4000), "7", "math", ""),
            (_nested(4000, "8"), "7", "math", ""),
            (r"\boxed{" * 10_000 + "7", "7", "math", ""),
        ]
    )
    assert v_math.correct and v_math.extracted == "7" and not v_math.timed_out
    assert not v_wrong.correct and not v_wrong.timed_out
    assert not v_unclosed.correct and not v_unclosed.timed_out and v_unclosed.extracted is None


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("The answer is a tricky one, D", "D"),
        ("Answer: A and B are both wrong, so C", "C"),
        ("Answer: A and B are both wrong", None),
        ("The answer is A or C", None),
        ("The answer is either (A) or (C).", None),
        ("The answer is B/D", None),
        ("Answer: C, since B is ruled out", "C"),
        ("Answer: A is the only consistent option", "A"),
        ("Answer: A tricky one. I pick D.", "D"),
        ("answer: b", "B"),
        ("The answer is (b).", "B"),
        ("The answer is not A but C.", "C"),
        ("The answer is D-glucose", None),
        ("Answer: All of the above", None),
        (r"\boxed{A or C}", None),
        ("Answer:\n\n**C**", "C"),
    ],
)
def test_gpqa_letters(text, letter):
    assert gpqa_letter(text) == letter


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (r"12\text{ m}", ("12", "m")),
        (r"12\text{ cm}", ("12", "cm")),
        ("12 cm", ("12", "cm")),
        (r"12\,\text{m}", ("12", "m")),
        (r"3\text{ meters}", ("3", "meter")),
        (r"5\text{ m}^{2}", ("5", "m^2")),
        ("2x", None),  # a variable, not a unit
        ("12", None),
        (r"\frac{1}{2}", None),
    ],
)
def test_split_unit(text, parts):
    assert split_unit(text) == parts
