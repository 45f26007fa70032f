"""``grade()``: one verdict, graded in a worker process with a hard timeout.

One pool of one worker is shared by every caller of :func:`grade` in the process; a lock makes it safe to
call from several threads at once (a server thread and the main thread). The pool is closed at exit.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from typing import Any

from s1kit.errors import S1kitError
from s1kit.grading.judge import KINDS, Kind

_POOL: Any = None
_LOCK = threading.Lock()


def _shared_pool(timeout: float | None = None) -> Any:
    """The shared pool (started on first use); hold ``_LOCK`` while using it (:func:`grade` and
    :func:`equal_many` do)."""
    global _POOL
    from s1kit.grading.pool import GradingPool

    if _POOL is None or _POOL.closed:
        _POOL = GradingPool(workers=1, timeout=5.0)
        atexit.register(_POOL.close)
    if timeout is not None:
        _POOL.timeout = float(timeout)
    return _POOL


def _check_timeout(timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise S1kitError(f"grading timeout={timeout!r} is invalid: expected seconds > 0")


def equal_many(
    pairs: Sequence[tuple[str, str]], kind: Kind = "math", *, timeout: float = 5.0
) -> list[bool | None]:
    """The grader's equivalence of each pair of answers, in the shared pool's worker (each pair bounded by
    ``timeout``; ``None`` where comparing timed out or failed). Thread-safe; used by :func:`s1kit.vote`."""
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    _check_timeout(timeout)
    if not pairs:
        return []
    with _LOCK:
        return _shared_pool(timeout).equal_many(pairs, kind)


def grade(output: str, gold: str, kind: Kind = "math", *, timeout: float = 5.0) -> bool:
    """Is ``output`` (a model's answer text) correct against ``gold``?

    Runs in a worker process with a hard ``timeout`` (seconds); a pathological answer is graded wrong.
    Works from a script without a ``__main__`` guard, ``python -c``, standard input, a notebook and from
    any thread.

    Args:
        output: the answer text; the last ``\\boxed{}`` is graded, else the last "Answer:".
        gold: the gold answer (GPQA: the letter).
        kind: ``math`` (symbolic equivalence), ``aime`` (integers), ``gpqa`` (strict letter).
        timeout: seconds allowed for this item.

    Raises:
        S1kitError: an unknown kind, a bad timeout, math-verify not installed, or workers that cannot start.
    """
    if kind not in KINDS:
        raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
    _check_timeout(timeout)
    with _LOCK:
        return _shared_pool(timeout).grade_many([(output, gold, kind, "")])[0].correct
