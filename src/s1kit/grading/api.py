"""``grade()``: one verdict, graded in a worker process with a hard timeout."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from s1kit.errors import S1kitError
from s1kit.grading.judge import KINDS, Kind


_POOL: Any = None
_LOCK = threading.Lock()


def _shared_pool(timeout: float) -> Any:
    global _POOL
    from s1kit.grading.pool import GradingPool

    if _POOL is None or _POOL.closed:
        _POOL = GradingPool(workers=1, timeout=timeout)
        atexit.register(_POOL.close)
    _POOL.timeout = timeout
    return _POOL


def grade(output: str, gold: str, kind: Kind = "math", *, timeout: float = 5.0) -> bool:
    """Is ``output`` (a model's answer text) correct against ``gold``?

    Runs in a worker process with a hard ``timeout`` (seconds); a pathological answer is graded wrong.

    Args:
        output: the answer text; the last ``\\boxed{}`` is graded, else the last "Answer:".
        gold: the gold answer (GPQA: the letter).
        kind: ``math`` (symbolic equivalence), ``aime`` (integers), ``gpqa`` (strict letter).
        timeout: seconds allowed for this item.
    """
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    return _shared_pool(timeout).grade_many([(output, gold, kind, "")])[0].correct


