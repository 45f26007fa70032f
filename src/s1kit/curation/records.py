"""The records that flow through curation: a pool row, a dropped row, and the s1K output schema.

Every stage is a function ``rows -> (kept rows, dropped rows)``; rows are frozen and stages return
updated copies (``dataclasses.replace``), so a stage never changes what another stage saw.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

_BOXED = re.compile(r"\\boxed\s*\{")


def question_uid(question: str) -> str:
    """A stable key for a question (caches are keyed by it, so a resumed run finds its results)."""
    return hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:16]


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text`` (braces balanced), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i = starts[-1]
    depth, j = 1, i
    while j < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return text[i : j - 1].strip() if depth == 0 else None


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
