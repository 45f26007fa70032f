"""The thinking budget: how long a model may and must think, and how to force it.

Example:
    >>> Budget(max_thinking_tokens=256, num_ignore=1).ignore_string(0)
    'Wait'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from s1kit.errors import ConfigError


@dataclass(frozen=True)
class Budget:
    """Budget forcing settings (paper section 3.1).

    Attributes:
        max_thinking_tokens: cap on thinking tokens; when spent, the end-of-thinking delimiter and the
            answer primer are forced. ``None`` means no cap (the context length still bounds it).
        min_thinking_tokens: attempts to stop thinking before this many tokens are always suppressed.
        num_ignore: how many attempts to stop thinking are suppressed (each replaced by an ignore string).
        ignore_strings: strings appended in place of a suppressed stop, used in rotation.
        answer_primer: text forced after the end-of-thinking delimiter when the end is forced.
        max_answer_tokens: cap on answer tokens after thinking ends.
        budget_message: text forced before the end-of-thinking delimiter when the cap is reached
            (Qwen3's documented early stop, llama.cpp's ``--reasoning-budget-message``). It counts as
            thinking and is placed so that it ends exactly at the cap; empty: none.
    """

    max_thinking_tokens: int | None = None
    min_thinking_tokens: int = 0
    num_ignore: int = 0
    ignore_strings: tuple[str, ...] = ("Wait",)
    answer_primer: str = "Final Answer:"
    max_answer_tokens: int = 512
    budget_message: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.ignore_strings, str):
            raise ConfigError("ignore_strings", self.ignore_strings, "a list of strings, not one string")
        object.__setattr__(self, "ignore_strings", tuple(self.ignore_strings))
        _check_int("min_thinking_tokens", self.min_thinking_tokens, minimum=0)
        _check_int("num_ignore", self.num_ignore, minimum=0)
        _check_int("max_answer_tokens", self.max_answer_tokens, minimum=1)
        if self.max_thinking_tokens is not None:
            _check_int("max_thinking_tokens", self.max_thinking_tokens, minimum=0)
            if self.min_thinking_tokens > self.max_thinking_tokens:
                raise ConfigError(
                    "min_thinking_tokens",
                    self.min_thinking_tokens,
                    f"at most max_thinking_tokens ({self.max_thinking_tokens})",
                )
        if not self.ignore_strings:
            raise ConfigError("ignore_strings", list(self.ignore_strings), "at least one string")
        for s in self.ignore_strings:
            if not isinstance(s, str) or not s:
                raise ConfigError("ignore_strings", list(self.ignore_strings), "non-empty strings")
        if not isinstance(self.answer_primer, str):
            raise ConfigError("answer_primer", self.answer_primer, "a string (may be empty)")
        if not isinstance(self.budget_message, str):
            raise ConfigError("budget_message", self.budget_message, "a string (may be empty)")

    def ignore_string(self, k: int) -> str:
        """The string appended for the k-th suppressed stop (0-based), in rotation."""
        return self.ignore_strings[k % len(self.ignore_strings)]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ignore_strings"] = list(self.ignore_strings)
        if not self.budget_message:
            del d["budget_message"]  # budgets written before the option existed keep their identity
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Budget:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ConfigError("budget", unknown, f"fields among {sorted(cls.__dataclass_fields__)}")
        return cls(**known)


def _check_int(field: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(field, value, f"an integer >= {minimum}")
