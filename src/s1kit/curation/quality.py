"""Quality: named rules that drop rows with API errors, broken traces or unusable questions.

Each rule is a pure function ``(row, config) -> detail | None``; the first rule that fires names the
reason in ``dropped.jsonl``. Trace rules apply only to rows that carry a trace (``thinking`` is not
None), so a bare question pool can be filtered before ``s1kit traces`` runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from s1kit.curation.records import Dropped, Row, drop
from s1kit.errors import ConfigError

STAGE = "quality"

# lower-case markers of a failed API call stored as if it were a trace (substring search is fast)
API_ERROR_MARKERS = (
    "error code: 4",
    "error code: 5",
    "ratelimiterror",
    "rate limit reached",
    "rate limit exceeded",
    "apierror",
    "apiconnectionerror",
    "internal server error",
    "service unavailable",
    "502 bad gateway",
    "traceback (most recent call last)",
    '{"error":',
    "{'error':",
    "context_length_exceeded",
    "content_filter",
    "i'm sorry, but i can't help",
    "i'm sorry, but i cannot help",
    "i'm sorry, but i can't assist",
)
_FIGURE_REF = re.compile(
    r"(?:\b(?:in|see|from|using)\s+the\s+(?:figure|diagram|picture|image)\b|"
    r"\b(?:figure|diagram|picture|graph|table)\s+(?:below|above)|"
    r"\b(?:shown|depicted|pictured|illustrated)\s+(?:below|above|in the (?:figure|diagram))|"
    r"\bthe (?:following|accompanying|adjacent) (?:figure|diagram|picture|graph)|\bfig\.\s*\w|"
    r"\[(?:img|image|figure)\]|<img|\.(?:png|jpe?g|gif|svg)\b)",
    re.IGNORECASE,
)
FIGURE_WORDS = (
    "figure",
    "diagram",
    "picture",
    "image",
    "graph",
    "table",
    "shown",
    "depicted",
    "illustrated",
    "fig.",
    "img",
    ".png",
    ".jp",
    ".gif",
    ".svg",
)
_FIGURE_PRESENT = re.compile(r"\[asy\]|\\begin\{(?:tikzpicture|picture|tabular|array)\}|\|\s*-{3,}\s*\|")
ART_CHARS = " \t|/\\_-+=*#.:o<>^v()[]"
REPEATED = tuple(c * 80 for c in "=-_*#.~+/\\|0")  # a run of 80 of one character
FINAL_MARKERS = ("\\boxed", "final answer", "answer is", "answer:", "therefore", "thus", "so the")


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the quality rules (all lengths in characters).

    Attributes:
        min_question_chars: shorter questions are dropped (``extreme_length``).
        max_question_chars: longer questions are dropped (``extreme_length``).
        max_trace_chars: longer traces are dropped (``extreme_length``).
        min_trace_chars: shorter (non-empty) traces are dropped (``extreme_length``).
        require_answer: drop rows without a gradable reference answer (``missing_answer``).
        disabled: rule names to skip.
    """

    min_question_chars: int = 10
    max_question_chars: int = 8_000
    min_trace_chars: int = 20
    max_trace_chars: int = 400_000
    require_answer: bool = True
    disabled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.min_question_chars < self.max_question_chars:
            raise ConfigError("max_question_chars", self.max_question_chars, "> min_question_chars >= 0")
        if not 0 <= self.min_trace_chars < self.max_trace_chars:
            raise ConfigError("max_trace_chars", self.max_trace_chars, "> min_trace_chars >= 0")
        unknown = set(self.disabled) - set(RULES)
        if unknown:
            raise ConfigError("disabled", sorted(unknown), f"rule names from {sorted(RULES)}")


def api_error(row: Row, _: QualityConfig) -> str | None:
    for name, text in (("thinking", row.thinking), ("attempt", row.attempt), ("question", row.question)):
        if text:
            low = (text if len(text) <= 4000 else text[:2000] + "\n" + text[-2000:]).lower()
            hit = next((m for m in API_ERROR_MARKERS if m in low), None)
            if hit is not None:
                return f"{name} contains {hit!r}"
    return None


def empty_trace(row: Row, _: QualityConfig) -> str | None:
    if row.thinking is not None and not row.thinking.strip():
        return "the thinking trace is empty"
    return None


def truncated_trace(row: Row, _: QualityConfig) -> str | None:
    if row.thinking is None:
        return None
    if row.metadata.get("finish_reason") == "length" and not row.metadata.get("forced_end"):
        return "the teacher stopped at its length limit"
    if not (row.attempt or "").strip():
        return "the trace has no attempt (cut off before the end of thinking)"
    tail = ((row.attempt or "") + "\n" + row.thinking[-3000:]).lower()
    if not any(m in tail for m in FINAL_MARKERS):
        return "neither the attempt nor the end of the thinking states a final answer"
    return None


def missing_answer(row: Row, config: QualityConfig) -> str | None:
    if config.require_answer and not row.gold:
        return "no reference answer (no 'answer' and no \\boxed{} in the solution)"
    return None


def missing_figure(row: Row, _: QualityConfig) -> str | None:
    if row.metadata.get("picture") or row.metadata.get("has_image"):
        return "the question needs an image that is not in the row"
    low = row.question.lower()
    if not any(k in low for k in FIGURE_WORDS):  # cheap prefilter before the regex
        return None
    m = _FIGURE_REF.search(row.question)
    if m and not _FIGURE_PRESENT.search(row.question):
        return f"refers to a figure that is not there ({m.group(0).strip()!r})"
    return None


def broken_formatting(row: Row, _: QualityConfig) -> str | None:
    for name, text in (("question", row.question), ("thinking", row.thinking or "")):
        if "\ufffd" in text:
            return f"{name} has undecodable characters (U+FFFD)"
        run = next((r for r in REPEATED if r in text), None)
        if run is not None:
            return f"{name} repeats {run[0]!r} 80+ times"
        art = 0
        for line in text.splitlines():
            art = art + 1 if len(line) >= 8 and not line.strip(ART_CHARS) else 0
            if art >= 3:
                return f"{name} has ASCII art (3+ lines of drawing characters)"
    if row.thinking:
        lines = row.thinking.splitlines()
        if len(lines) - len(set(lines)) >= 9:  # else no line can occur 10 times
            top = max((n for ln, n in Counter(lines).items() if len(ln.strip()) > 20), default=0)
            if top >= 10:
                return "the thinking repeats one line 10+ times (a degenerate loop)"
    return None


def extreme_length(row: Row, config: QualityConfig) -> str | None:
    n = len(row.question)
    if n < config.min_question_chars or n > config.max_question_chars:
        return (
            f"question has {n} characters (allowed {config.min_question_chars}-{config.max_question_chars})"
        )
    if row.thinking:
        t = len(row.thinking)
        if t < config.min_trace_chars or t > config.max_trace_chars:
            return f"trace has {t} characters (allowed {config.min_trace_chars}-{config.max_trace_chars})"
    return None


RULES: dict[str, Callable[[Row, QualityConfig], str | None]] = {
    "api_error": api_error,
    "empty_trace": empty_trace,
    "extreme_length": extreme_length,
    "broken_formatting": broken_formatting,
    "truncated_trace": truncated_trace,
    "missing_answer": missing_answer,
    "missing_figure": missing_figure,
}


def check(row: Row, config: QualityConfig) -> tuple[str, str] | None:
    """The first rule that fires on ``row`` as ``(rule name, detail)``, or None."""
    for name, rule in RULES.items():
        if name in config.disabled:
            continue
        detail = rule(row, config)
        if detail is not None:
            return name, detail
    return None


def quality(rows: Sequence[Row], config: QualityConfig | None = None) -> tuple[list[Row], list[Dropped]]:
    """Drop every row on which a rule fires; the rule's name is the dropped row's reason.

    Example:
        >>> kept, dropped = quality(rows, QualityConfig(disabled=("missing_answer",)))  # doctest: +SKIP
    """
    config = config or QualityConfig()
    kept: list[Row] = []
    dropped: list[Dropped] = []
    for row in rows:
        hit = check(row, config)
        if hit is None:
            kept.append(row)
        else:
            dropped.append(drop(row, STAGE, hit[0], hit[1]))
    return kept, dropped
