"""Grading: answer extraction, equivalence, voting without the gold, and the worker pool that bounds time.

=============  =========================================================================
module         job
=============  =========================================================================
``extract``    the answer of an output: last ``\\boxed{}``, else "Answer:"; GPQA letters; AIME integers
``judge``      equivalence (math-verify), :class:`Verdict`, :func:`judge`
``vote``       :func:`vote`: the majority answer of many samples, clustered by equivalence, gold-free
``pool``       :class:`GradingPool`: worker processes (``python -m s1kit.grading.worker``), hard timeouts
``api``        :func:`grade`: one verdict through a shared pool
=============  =========================================================================
"""

from __future__ import annotations

from s1kit.grading.api import grade
from s1kit.grading.judge import (
    KINDS,
    Verdict,
    aime_int,
    boxed_all,
    equivalent,
    extract_answer,
    gpqa_letter,
    judge,
    math_equal,
)

__all__ = [
    "KINDS",
    "Verdict",
    "aime_int",
    "boxed_all",
    "equivalent",
    "extract_answer",
    "gpqa_letter",
    "grade",
    "judge",
    "math_equal",
]
