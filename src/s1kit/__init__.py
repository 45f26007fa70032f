"""s1kit: budget forcing, evaluation, curation and fine-tuning for test-time scaling.

Example:
    >>> from s1kit import Budget, Generator
    >>> gen = Generator.load("default")                                     # doctest: +SKIP
    >>> out = gen.generate("What is 7*8?", Budget(max_thinking_tokens=64))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib import import_module
from typing import Any

from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.forcing.formats import ReasoningFormat, get_format
from s1kit.forcing.state import ForcingEvent, ForcingState
from s1kit.generation.completion import Completion, Timings
from s1kit.generation.sampling import SamplingParams

__version__ = "0.1.0"

# Heavier parts load on first use (the import path is the registry).
_LAZY = {
    "Generator": "s1kit.generation.generator",
    "load_engine": "s1kit.backends",
    "grade": "s1kit.grading.api",
    "vote": "s1kit.grading.vote",
    "run_eval": "s1kit.evaluation.runner",
    "EvalConfig": "s1kit.evaluation.config",
}

# Modules that moved in the package layout of 0.2: the old import paths keep working.
MOVED = {
    "s1kit.budget": "s1kit.forcing.budget",
    "s1kit.formats": "s1kit.forcing.formats",
    "s1kit.tokenizer": "s1kit.backends.tokenizer",
    "s1kit.models": "s1kit.backends.models",
    "s1kit.sampling": "s1kit.generation.sampling",
    "s1kit.completion": "s1kit.generation.completion",
    "s1kit.generate": "s1kit.generation.generator",
    "s1kit.grading_pool": "s1kit.grading.pool",
    "s1kit.metrics": "s1kit.evaluation.metrics",
    "s1kit.plots": "s1kit.evaluation.plots",
    "s1kit.paper": "s1kit.evaluation.paper",
    "s1kit.report_html": "s1kit.report.html",
    "s1kit.methods.options": "s1kit.cli.method_options",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to its new module (the same module object, so state is shared)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name in MOVED:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec: Any) -> Any:
        return import_module(MOVED[spec.name])

    def exec_module(self, module: Any) -> None:
        """Nothing to run: the new module is already imported (importlib files it under the old name)."""


if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
    sys.meta_path.append(_MovedFinder())


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    old = f"s1kit.{name}"
    if old in MOVED:  # `import s1kit; s1kit.metrics` after `import s1kit.metrics`
        return import_module(MOVED[old])
    raise AttributeError(f"module 's1kit' has no attribute {name!r}")


__all__ = [
    "Budget",
    "Completion",
    "EvalConfig",
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
    "run_eval",
    "vote",
]
