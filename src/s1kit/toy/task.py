"""The toy task as an evaluation task: ``s1kit eval --task toy`` (see :mod:`s1kit.toy.problems`).

Problems are generated, not shipped: ``n`` problems with K spread evenly over ``[k_min, k_max]``,
seed digits drawn from ``seed``. The answer is one digit, graded by the normal grader (``math`` kind) from
the model's "Final Answer: d" (or a boxed answer).

Example:
    >>> from s1kit.tasks import get_task
    >>> task = get_task("toy")
    >>> len(task.problems), task.problems[0].question, task.problems[0].meta["k"]
    (210, 'Sum mod 10: A8 B9 C2 D_ E_ F_ G_ H_ I_', 3)
"""

from __future__ import annotations

from s1kit.tasks import Problem, Task
from s1kit.toy.problems import eval_problems

DEFAULT_N = 210  # 30 problems of each K
DEFAULT_K = (3, 9)  # K <= 2 questions do not survive decontamination of the training pool (docs/toy.md)


def load(
    name: str,
    version: str,
    seed: int = 0,
    n: int = DEFAULT_N,
    k_min: int = DEFAULT_K[0],
    k_max: int = DEFAULT_K[1],
) -> Task:
    """The toy task: ``n`` running-sum problems (ids ``toy-<i>``, ``meta.k`` = steps needed)."""
    problems = tuple(
        Problem(f"toy-{i}", p.question, p.answer, "math", {"k": p.k, "level": f"K={p.k:02d}"})
        for i, p in enumerate(eval_problems(seed, n, k_min, k_max))
    )
    return Task(name, version, "math", problems, {"seed": seed, "n": n, "k_min": k_min, "k_max": k_max})


__all__ = ["DEFAULT_K", "DEFAULT_N", "load"]
