"""The records that flow through curation: a pool row, a dropped row, and the s1K output schema.

Every stage is a function ``rows -> (kept rows, dropped rows)``; rows are frozen and stages return
updated copies (``dataclasses.replace``), so a stage never changes what another stage saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from s1kit.grading.extract import last_boxed


def question_uid(question: str) -> str:
    """A stable key for a question (caches are keyed by it, so a resumed run finds its results)."""
    return hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Row:
    """One pool question, with its reference and (after ``s1kit traces``) a teacher trace.

    ``thinking`` is None when the row never had a trace (a bare question pool), and ``""`` when the
    trace is present but empty; the quality rules treat the two differently.
    """

    id: str
    question: str
    answer: str = ""
    solution: str = ""
    source: str = ""
    thinking: str | None = None
    attempt: str | None = None
    cot_type: str = "math"
    metadata: dict[str, Any] = field(default_factory=dict)
    trace_tokens: int | None = None
    domain: str | None = None

    @property
    def uid(self) -> str:
        return question_uid(self.question)

    @property
    def gold(self) -> str:
        """The reference answer to grade against: ``answer``, else the last box of the solution."""
        if self.answer.strip():
            return self.answer.strip()
        return last_boxed(self.solution) or ""

    def to_s1k(self) -> dict[str, Any]:
        """The row in the s1K schema (plus ``answer`` and the curation fields in ``metadata``)."""
        meta = dict(self.metadata)
        meta.update({"id": self.id, "answer": self.gold})
        if self.domain is not None:
            meta["msc"] = self.domain
        if self.trace_tokens is not None:
            meta["trace_tokens"] = self.trace_tokens
        return {
            "question": self.question,
            "solution": self.solution or self.gold,
            "cot_type": self.cot_type,
            "source_type": self.source,
            "metadata": meta,
            "thinking_trajectories": [self.thinking] if self.thinking is not None else [],
            "attempt": self.attempt or "",
        }


@dataclass(frozen=True)
class Dropped:
    """A row a stage removed, with the rule that removed it (``detail`` says why, for a human)."""

    stage: str
    reason: str
    id: str
    detail: str = ""
    question: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "reason": self.reason,
            "id": self.id,
            "detail": self.detail,
            "question": self.question,
        }


def drop(row: Row, stage: str, reason: str, detail: str = "") -> Dropped:
    return Dropped(stage=stage, reason=reason, id=row.id, detail=detail, question=row.question)


@dataclass(frozen=True)
class Malformed:
    """An input row that could not be read; ``line`` is 1-based (the row number for non-line formats)."""

    file: str
    line: int
    reason: str


@dataclass
class IngestResult:
    rows: list[Row] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.rows.extend(other.rows)
        self.malformed.extend(other.malformed)


def as_text(value: Any, name: str) -> str:
    """Coerce an answer-like value to text: 142.0 -> "142", [a, b] -> "a, b"; reject dicts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(as_text(v, name) for v in value)
    raise ValueError(f"field {name!r} has type {type(value).__name__}, expected text")
