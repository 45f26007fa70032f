"""s1kit: budget forcing, evaluation, curation and fine-tuning for test-time scaling.

Example:
    >>> from s1kit import Budget, Generator
    >>> gen = Generator.load("default")                                     # doctest: +SKIP
    >>> out = gen.generate("What is 7*8?", Budget(max_thinking_tokens=64))  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from s1kit.budget import Budget
from s1kit.completion import Completion, Timings
from s1kit.errors import S1kitError
from s1kit.forcing import ForcingEvent, ForcingState
from s1kit.formats import ReasoningFormat, get_format
from s1kit.sampling import SamplingParams

__version__ = "0.1.0"

# Heavier parts load on first use (the import path is the registry).
_LAZY = {
    "Generator": "s1kit.generate",
    "load_engine": "s1kit.backends",
    "grade": "s1kit.grading",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 's1kit' has no attribute {name!r}")


__all__ = [
    "Budget",
    "Completion",
    "ForcingEvent",
    "ForcingState",
    "Generator",
    "ReasoningFormat",
    "S1kitError",
    "SamplingParams",
    "Timings",
    "get_format",
    "grade",
    "load_engine",
]
