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

import atexit
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from s1kit.errors import S1kitError

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


# ---------------------------------------------------------------- extraction


def boxed_all(text: str) -> list[str]:
    r"""Contents of every ``\boxed{...}`` / ``\fbox{...}`` (braces matched), in order; linear time."""
    out: list[str] = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*(\{)?", text):
        if m.group(1) is None:  # "\boxed 5"
            tail = re.match(r"\s*([^\s$]+)", text[m.end() :])
            if tail:
                out.append(tail.group(1))
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[m.end() : i - 1].strip())
    return out


_ANSWER_RE = re.compile(r"answer\s*(?:is\s*:?|:)", re.IGNORECASE)


def extract_answer(text: str) -> str | None:
    """The last boxed answer, else what follows the last "Answer:"/"answer is" on its line."""
    boxes = boxed_all(text)
    if boxes:
        return boxes[-1]
    last = None
    for m in _ANSWER_RE.finditer(text):
        last = m
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t*:")
    line = rest.split("\n\n")[0].split("\n")[0] if rest.strip() else ""
    line = line.strip().strip("*").strip().rstrip(".").strip()
    line = re.sub(r"^\$+|\$+$", "", line).strip()
    line = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", line).strip()
    line = re.split(r"\.\s+(?=[A-Z])", line)[0]  # "12. I hope it is correct." -> "12"
    line = line.rstrip(".").strip()
    return line or None


# ---------------------------------------------------------------- equivalence


def _strip_units(s: str) -> str | None:
    m = re.fullmatch(
        r"\s*([-+]?[\d.,]+(?:/\d+)?)\s*(?:\\(?:text|mbox|mathrm)\{\s*[a-zA-Z .]+\}|[a-zA-Z]{1,12}\.?)\s*", s
    )
    return m.group(1) if m else None


def _norm(s: str) -> str:
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\[,;!: ]|\\left|\\right|\$|\s", "", s)
    return s.replace("dfrac", "frac").replace("tfrac", "frac").rstrip(".").lower()


def math_equal(pred: str, gold: str) -> bool:
    """Symbolic equivalence of two answers (math-verify), after a cheap string check."""
    if _norm(pred) == _norm(gold) and _norm(gold):
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


def aime_int(s: str) -> int | None:
    """An AIME answer as an integer ("025", "$25$", "25.0", "1,000", "25^\\circ"), else None."""
    t = _norm(s)
    t = re.sub(r"\^\{?\\circ\}?|\\%|%|^\\\(|\\\)$", "", t)
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    m = re.fullmatch(r"\+?(\d+)(?:\.0*)?", t)
    return int(m.group(1)) if m else None


_LETTER_INNER = re.compile(r"\(?([A-Da-d])\)?(?:[.):]|\s|$)")
_GPQA_ANSWER = re.compile(
    r"answer\s*(?:is|:)\s*(?:option\s*)?[:\s*]*(?:\$?\\boxed\{)?\s*\(?\s*([A-D])\b(?![-'’])", re.IGNORECASE
)


def gpqa_letter(text: str) -> str | None:
    """Strict letter extraction: a boxed letter, else "Answer: X" / "answer is (X)", else a bare letter."""
    boxes = boxed_all(text)
    if boxes:
        inner = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}", r"\1", boxes[-1]).strip()
        inner = re.sub(r"^(?:option|choice)\s*", "", inner, flags=re.IGNORECASE)
        m = _LETTER_INNER.match(inner)
        if m and (len(inner) <= 3 or inner[1:2] in (")", ".", ":") or inner[2:3] == ")"):
            return m.group(1).upper()
        return None
    last = None
    for m in _GPQA_ANSWER.finditer(text):
        last = m
    if last is not None:
        return last.group(1).upper()
    bare = re.fullmatch(r"\s*\**\s*\(?([A-D])\)?[.)]?\s*\**\s*(?:\)\s*.*)?", text.strip().split("\n")[0])
    return bare.group(1) if bare and len(text.strip()) < 200 else None


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
        boxes = boxed_all(thinking)
        if boxes:
            extracted = gpqa_letter(f"\\boxed{{{boxes[-1]}}}") if kind == "gpqa" else boxes[-1]
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


# ---------------------------------------------------------------- public verdict

_POOL: Any = None


def _shared_pool(timeout: float) -> Any:
    global _POOL
    from s1kit.grading_pool import GradingPool

    if _POOL is None or _POOL.closed:
        _POOL = GradingPool(workers=1, timeout=timeout)
        atexit.register(_POOL.close)
    _POOL.timeout = timeout
    return _POOL


def grade(output: str, gold: str, kind: Kind = "math", *, timeout: float = 5.0) -> bool:
    """Is ``output`` (a model's answer text) correct against ``gold``?

    Runs in a worker process with a hard ``timeout`` (seconds); a pathological answer is graded wrong.

    Args:
        output: the answer text; the last ``\\boxed{}`` is graded, else the last "Answer:".
        gold: the gold answer (GPQA: the letter).
        kind: ``math`` (symbolic equivalence), ``aime`` (integers), ``gpqa`` (strict letter).
        timeout: seconds allowed for this item.
    """
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    return _shared_pool(timeout).grade_many([(output, gold, kind, "")])[0].correct


__all__ = ["KINDS", "Verdict", "aime_int", "boxed_all", "extract_answer", "gpqa_letter", "grade", "judge"]
