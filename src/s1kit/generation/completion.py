"""The record of one budget-forced generation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from s1kit.forcing.state import ForcingEvent


@dataclass(frozen=True)
class Timings:
    prefill_s: float
    decode_s: float
    generated_tokens: int

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.decode_s if self.decode_s > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "prefill_s": round(self.prefill_s, 6),
            "decode_s": round(self.decode_s, 6),
            "generated_tokens": self.generated_tokens,
            "tokens_per_s": round(self.tokens_per_s, 3),
        }


@dataclass(frozen=True)
class Completion:
    """One prompt's thinking and answer, with what the budget did.

    ``thinking`` includes appended ignore strings (they are part of what the model thought with);
    ``answer`` is the text after the end-of-thinking delimiter, including a forced answer primer.
    ``thinking_tokens`` counts the thinking section; ``answer_tokens`` the model's own answer tokens.
    """

    prompt: str
    thinking: str
    answer: str
    thinking_tokens: int
    answer_tokens: int
    forced_end: bool
    ignored_stops: int
    finish_reason: Literal["stop", "length"]
    events: tuple[ForcingEvent, ...]
    timings: Timings
    prompt_tokens: int = 0
    token_ids: tuple[int, ...] = field(default=(), repr=False)

    def to_dict(self, *, with_ids: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "prompt": self.prompt,
            "thinking": self.thinking,
            "answer": self.answer,
            "thinking_tokens": self.thinking_tokens,
            "answer_tokens": self.answer_tokens,
            "forced_end": self.forced_end,
            "ignored_stops": self.ignored_stops,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "events": [e.to_dict() for e in self.events],
            "timings": self.timings.to_dict(),
        }
        if with_ids:
            d["token_ids"] = list(self.token_ids)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
