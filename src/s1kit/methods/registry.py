"""The method registry: name -> lazy ``module:function`` entries, resolved on first use.

A method is ``fn(generator, rendered_prompts, setting, samplings, config)`` returning one Completion per
prompt; an optional question hook rewrites each question before it is rendered (length control in the
prompt). Names are validated when an :class:`~s1kit.evaluation.config.EvalConfig` is built, before any
model loads.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from s1kit.errors import S1kitError

# name: ("module:function", "module:question_hook" or None)
METHODS: dict[str, tuple[str, str | None]] = {
    "budget_forcing": ("s1kit.methods.budget_forcing:budget_forcing", None),
    "majority_vote": ("s1kit.methods.parallel:majority_vote", None),
    "grid": ("s1kit.methods.parallel:majority_vote", None),
    "best_of_n": ("s1kit.methods.parallel:best_of_n", None),
    "token_conditional": (
        "s1kit.methods.conditional:token_conditional",
        "s1kit.methods.conditional:token_question",
    ),
    "step_conditional": (
        "s1kit.methods.conditional:step_conditional",
        "s1kit.methods.conditional:step_question",
    ),
    "class_conditional": (
        "s1kit.methods.conditional:class_conditional",
        "s1kit.methods.conditional:class_question",
    ),
    "rejection_sampling": ("s1kit.methods.rejection:rejection_sampling", None),
    "early_exit": ("s1kit.methods.early_exit:early_exit", None),
    "deepconf": ("s1kit.methods.deepconf:deepconf", None),
    "nowait": ("s1kit.methods.nowait:nowait", None),
    "alphaone": ("s1kit.methods.alphaone:alphaone", None),
    "tree_search": ("s1kit.methods.tree_search:tree_search", None),
}


def _load(target: str) -> Callable[..., Any]:
    module, fn = target.split(":")
    return getattr(import_module(module), fn)


def check_method(name: str) -> str:
    """``name`` if it is a registered method, else a one-line error naming the valid ones."""
    if name not in METHODS:
        raise S1kitError(f"unknown method {name!r}: expected one of {sorted(METHODS)}")
    return name


def method_fn(name: str) -> Callable[..., Any]:
    """The generation function of a method."""
    return _load(METHODS[check_method(name)][0])


def question_hook(name: str) -> Callable[[str, Any], str] | None:
    """The question rewrite of a method, if it has one."""
    hook = METHODS[check_method(name)][1]
    return _load(hook) if hook else None


def register_method(name: str, fn: str, *, question: str | None = None) -> None:
    """Add a method by its ``module:function`` path (and an optional ``module:function`` question hook)."""
    if not isinstance(fn, str) or ":" not in fn:
        raise S1kitError(f"method {name!r}: expected a 'module:function' path, got {fn!r}")
    METHODS[name] = (fn, question)


__all__ = ["METHODS", "check_method", "method_fn", "question_hook", "register_method"]
