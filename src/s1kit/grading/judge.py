"""Grading model answers: extraction, symbolic equivalence (math-verify), AIME integers, GPQA letters.

Extraction follows the reference harness: the last ``\\boxed{...}`` of the answer, else the text after
the last "Answer:" (or "answer is"). Equivalence is decided symbolically by ``math-verify``, never by a
paid model. AIME answers are compared as integers; GPQA answers must be one clear letter A-D.

Model output is untrusted. Nothing in it is executed; math-verify parses LaTeX into sympy without
``eval``. Parsing can still be slow on hostile input (huge powers, deep nesting), so grading runs in
worker processes (:class:`GradingPool`) that are killed when an item passes its timeout; such an item is
graded wrong and marked ``timed_out``.

Known issues:
    * wrong answers that are equal in value but different in form count as different votes in maj@k;
    * "answer is" also matches prose such as "the answer is not obvious" (then nothing parses: wrong);
    * units are recognised only after a plain number ("12 cm", "12\\text{ cm}"), not inside expressions;
      different units are never equal (there is no unit conversion: "1 m" is not "100 cm").

Example:
    >>> grade(r"So the area is $\\boxed{\\frac{1}{2}}$.", "0.5")
    True
    >>> grade("Answer: (C)", "C", kind="gpqa")
    True
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from s1kit.errors import S1kitError
from s1kit.grading.extract import (
    aime_int,
    boxed_all,
    extract_answer,
    gpqa_letter,
    last_boxed,
    normalize_answer,
)

Kind = Literal["math", "aime", "gpqa"]
Source = Literal["answer", "thinking", "none"]
KINDS: tuple[str, ...] = get_args(Kind)  # the one list of grading kinds (tasks, CLI, votes use it)
MAX_EXTRACTED = 1_000  # characters; longer "answers" are not parsed (graded wrong)
PARSE_TIMEOUT_S = 3  # math-verify's own (signal-based) timeouts inside a worker; the pool's is the hard one


@dataclass(frozen=True)
class Verdict:
    """The grade of one output.

    Attributes:
        correct: the verdict.
        extracted: the extracted answer text (``None``: nothing to extract).
        source: where it came from: the answer part, the thinking (fallback when the answer part gave
            nothing), or nowhere.
        timed_out: grading passed its time limit (graded wrong).
        error: why grading failed, if it did (graded wrong).
    """

    correct: bool
    extracted: str | None
    source: Source
    timed_out: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- equivalence


_NUMBER = r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:/\d+)?"
_UNIT_TEXT = r"\\(?:text|mbox|mathrm)\{\s*([a-zA-Z][a-zA-Z .]*?)\.?\s*\}"
# a one-letter unit only after a space: "2x" is not 2 units of x
_UNIT_BARE = r"(?:(?<=\s)[a-zA-Z]|[a-zA-Z]{2,12})\.?"
_WITH_UNIT = re.compile(
    rf"\s*({_NUMBER})\s*(?:\\[,;! ]\s*)*(?:{_UNIT_TEXT}|({_UNIT_BARE}))(\^\{{?[23]\}}?)?\s*"
)


def split_unit(s: str) -> tuple[str, str] | None:
    r"""``(number, unit)`` of an answer that is a plain number and a unit ("12 cm", ``12\text{ m}^2``),
    else None. The unit's key ignores spaces, a final dot and a plural "s"."""
    m = _WITH_UNIT.fullmatch(s)
    if not m:
        return None
    unit = re.sub(r"\s|\.$", "", m.group(2) or m.group(3) or "")
    if len(unit) > 3 and unit.endswith("s") and not unit.endswith("ss"):
        unit = unit[:-1]
    power = re.sub(r"[{}^]", "", m.group(4) or "")
    return m.group(1), unit + (f"^{power}" if power else "")


def _parse(s: str) -> Any:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(f"${s}$", [LatexExtractionConfig(), ExprExtractionConfig()], parsing_timeout=PARSE_TIMEOUT_S)


def math_equal(pred: str, gold: str) -> bool:
    """Symbolic equivalence of two answers (math-verify), after a cheap string check.

    Units: a unit is stripped only when it is the same on both sides or absent on one side, so
    ``12\\text{ m}`` equals ``12`` and ``12 m`` but never ``12\\text{ cm}``.
    """
    key = normalize_answer(gold)
    if key is not None and normalize_answer(pred) == key:
        return True
    from math_verify import verify

    pu, gu = split_unit(pred), split_unit(gold)
    if pu and gu:
        if pu[1] != gu[1]:
            return False  # different units (no conversion): never the same answer
        pairs = [(pu[0], gu[0])]
    else:
        pairs = [(pred, gold)] + ([(pu[0], gold)] if pu else []) + ([(pred, gu[0])] if gu else [])
    for p_text, g_text in pairs:
        g = _parse(g_text)
        p = _parse(p_text) if g else None
        if g and p and verify(g, p, allow_set_relation_comp=True, timeout_seconds=PARSE_TIMEOUT_S):
            return True
    return False


def _letter(s: str) -> str | None:
    t = s.strip()
    return t.upper() if re.fullmatch(r"[A-Da-d]", t) else gpqa_letter(t)


def equivalent(a: str, b: str, kind: Kind = "math") -> bool:
    """The grader's equivalence of two extracted answers (``b`` in the place of the gold): math-verify for
    ``math``, integers for ``aime`` (math-verify when either is not an integer), one same letter for
    ``gpqa``. Used both to grade and to cluster votes (:func:`s1kit.vote`). Over-long answers are never
    equal to anything."""
    if len(a) > MAX_EXTRACTED or len(b) > MAX_EXTRACTED:
        return False
    if kind == "gpqa":
        la = _letter(a)
        return la is not None and la == _letter(b)
    if kind == "aime":
        n, g = aime_int(a), aime_int(b)
        if n is not None and g is not None:
            return n == g
    return math_equal(a, b)


def judge(answer: str, gold: str, kind: Kind = "math", *, thinking: str = "") -> Verdict:
    """Grade in this process (no timeout of its own; use :class:`GradingPool` for untrusted output)."""
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    extract = gpqa_letter if kind == "gpqa" else extract_answer
    source: Source = "answer"
    extracted = extract(answer)
    if extracted is None and thinking:
        # The answer part gave nothing (often empty when the context ran out): use the thinking's
        # last boxed answer, and say so in the record.
        box = last_boxed(thinking)
        if box is not None:
            extracted = gpqa_letter(f"\\boxed{{{box}}}") if kind == "gpqa" else box
            source = "thinking"
    if extracted is None:
        return Verdict(False, None, "none")
    if len(extracted) > MAX_EXTRACTED:
        return Verdict(False, extracted[:MAX_EXTRACTED], source, error="extracted answer too long")
    return Verdict(equivalent(extracted, gold, kind), extracted, source)


__all__ = [
    "KINDS",
    "Verdict",
    "aime_int",
    "boxed_all",
    "equivalent",
    "extract_answer",
    "gpqa_letter",
    "judge",
    "math_equal",
    "split_unit",
]
