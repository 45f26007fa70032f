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
    * units are stripped only after a plain number ("12 cm", "12\\text{ cm}"), not inside expressions.

Example:
    >>> grade(r"So the area is $\\boxed{\\frac{1}{2}}$.", "0.5")
    True
    >>> grade("Answer: (C)", "C", kind="gpqa")
    True
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from s1kit.errors import S1kitError
from s1kit.grading.extract import aime_int, boxed_all, extract_answer, gpqa_letter, last_boxed, normalize_answer

Kind = Literal["math", "aime", "gpqa"]
Source = Literal["answer", "thinking", "none"]
KINDS: tuple[str, ...] = ("math", "aime", "gpqa")
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


def _strip_units(s: str) -> str | None:
    m = re.fullmatch(
        r"\s*([-+]?[\d.,]+(?:/\d+)?)\s*(?:\\(?:text|mbox|mathrm)\{\s*[a-zA-Z .]+\}|[a-zA-Z]{1,12}\.?)\s*", s
    )
    return m.group(1) if m else None


def math_equal(pred: str, gold: str) -> bool:
    """Symbolic equivalence of two answers (math-verify), after a cheap string check."""
    key = normalize_answer(gold)
    if key is not None and normalize_answer(pred) == key:
        return True
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    g = parse(f"${gold}$", configs, parsing_timeout=PARSE_TIMEOUT_S)
    if not g:
        return False
    candidates = [pred] + [u for u in [_strip_units(pred)] if u]
    for c in candidates:
        p = parse(f"${c}$", configs, parsing_timeout=PARSE_TIMEOUT_S)
        if p and verify(g, p, allow_set_relation_comp=True, timeout_seconds=PARSE_TIMEOUT_S):
            return True
    return False


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
    if kind == "gpqa":
        return Verdict(extracted == gold.strip().upper(), extracted, source)
    if kind == "aime":
        n, g = aime_int(extracted), aime_int(gold)
        if n is not None and g is not None:
            return Verdict(n == g, extracted, source)
    return Verdict(math_equal(extracted, gold), extracted, source)


__all__ = ["KINDS", "Verdict", "aime_int", "boxed_all", "extract_answer", "gpqa_letter", "judge", "math_equal"]
