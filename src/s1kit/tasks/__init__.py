"""Evaluation tasks: versioned problem sets shipped inside the package, and custom JSONL tasks.

A :class:`Task` is a tuple of :class:`Problem` (id, question, gold answer, grading kind) plus the
options that built it (a GPQA shuffle seed, a custom file's field names). Tasks carry a version that
changes whenever their problems, gold answers or prompt text change, and the run records it.

Example:
    >>> task = get_task("aime24")
    >>> len(task.problems), task.kind, task.version
    (30, 'aime', '1')
    >>> task.problems[0].gold
    '204'
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from s1kit.errors import S1kitError
from s1kit.grading.judge import Kind as GradeKind  # the grading kinds are defined once, by the grader

PromptStyle = Literal["s1", "boxed"]
PROMPT_STYLES: tuple[str, ...] = ("s1", "boxed")

BOXED_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
GPQA_S1_SUFFIX = "\n\nAnswer with the letter of the correct option."
GPQA_BOXED_SUFFIX = "\n\nPlease reason step by step, and put the letter of the correct option (A, B, C or D) within \\boxed{}."


@dataclass(frozen=True)
class Problem:
    """One question with its gold answer.

    Attributes:
        id: stable identifier inside the task (used as the record key).
        question: the question text as sent (GPQA: with its shuffled options "A) ..." to "D) ...").
        gold: the gold answer (GPQA: the letter of the correct option).
        kind: how answers are graded (see :func:`s1kit.grading.grade`).
        meta: extra fields (MATH500: ``subject`` and ``level``).
    """

    id: str
    question: str
    gold: str
    kind: GradeKind
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A named, versioned set of problems."""

    name: str
    version: str
    kind: GradeKind
    problems: tuple[Problem, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def prompt(self, problem: Problem, style: PromptStyle = "boxed") -> str:
        """The user message for one problem under a prompt style.

        ``s1`` sends the bare question (the paper's evaluation: s1 models were trained to think and box);
        ``boxed`` asks to reason step by step and box the final answer. GPQA always asks for the letter.
        """
        if style not in PROMPT_STYLES:
            raise S1kitError(f"unknown prompt style {style!r}: expected one of {list(PROMPT_STYLES)}")
        if problem.kind == "gpqa":
            return problem.question + (GPQA_BOXED_SUFFIX if style == "boxed" else GPQA_S1_SUFFIX)
        return problem.question + (BOXED_SUFFIX if style == "boxed" else "")

    def limited(self, limit: int | None) -> Task:
        """The first ``limit`` problems (all when ``None``)."""
        if limit is None:
            return self
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise S1kitError(f"limit={limit!r} is invalid: expected a positive integer")
        return Task(self.name, self.version, self.kind, self.problems[:limit], self.options)

    def describe(self) -> dict[str, Any]:
        """What a run records about the task (never the questions themselves)."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "problems": len(self.problems),
            "options": dict(self.options),
        }


def data_path(name: str) -> Any:
    """A file shipped in ``s1kit/tasks/data`` (a Traversable; ``.read_bytes()`` works for zips too)."""
    return resources.files("s1kit.tasks").joinpath("data", name)


def sha256_of(name: str) -> str:
    return hashlib.sha256(data_path(name).read_bytes()).hexdigest()


# name -> (module, version). A loader is ``load(**opts) -> Task``; modules import on first use.
TASKS: dict[str, tuple[str, str]] = {
    "aime24": ("s1kit.tasks.builtin", "1"),
    "aime25": ("s1kit.tasks.builtin", "1"),
    "math500": ("s1kit.tasks.builtin", "1"),
    "gpqa_diamond": ("s1kit.tasks.gpqa", "1"),
    "gsm8k": ("s1kit.tasks.builtin", "1"),
    "custom": ("s1kit.tasks.custom", "1"),
    "toy": ("s1kit.toy.task", "2"),  # generated running-sum problems (docs/toy.md); 2: keyed slots, K = 3..9
}


def get_task(name: str, **opts: Any) -> Task:
    """Load a task by name.

    Args:
        name: one of ``aime24``, ``aime25``, ``math500``, ``gpqa_diamond``, ``gsm8k``, ``custom``, ``toy``.
        **opts: task options: ``seed`` for ``gpqa_diamond`` (option shuffle); ``path``,
            ``question_field``, ``answer_field``, ``id_field``, ``kind`` for ``custom``.

    Raises:
        S1kitError: unknown task name, or options the task does not take.
    """
    import inspect
    from importlib import import_module

    if name not in TASKS:
        raise S1kitError(f"unknown task {name!r}: expected one of {sorted(TASKS)}")
    module, version = TASKS[name]
    loader: Callable[..., Task] = import_module(module).load
    accepted = [p for p in inspect.signature(loader).parameters if p not in ("name", "version")]
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise S1kitError(f"task {name!r} does not take options {unknown}: expected among {accepted}")
    return loader(name, version, **opts)


__all__ = ["PROMPT_STYLES", "TASKS", "GradeKind", "Problem", "PromptStyle", "Task", "get_task"]
