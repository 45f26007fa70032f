"""Generation: the :class:`Generator`, sampling, completions and the decoding loop over an engine.

Names load on first use, so importing :mod:`s1kit.generation.sampling` never loads an engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Generator": "s1kit.generation.generator",
    "SamplingParams": "s1kit.generation.sampling",
    "Sampler": "s1kit.generation.sampling",
    "Completion": "s1kit.generation.completion",
    "Timings": "s1kit.generation.completion",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 's1kit.generation' has no attribute {name!r}")


__all__ = sorted(_LAZY)
