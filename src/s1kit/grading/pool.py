"""Worker processes that grade with a hard per-item timeout.

math-verify's own timeouts use ``signal.alarm`` and work only in a main thread; sympy can also stall in
C code where a signal is not delivered promptly. So each item is sent to a worker process, and a worker
that has not answered within ``timeout`` seconds is killed and replaced; the item is graded wrong with
``timed_out=True``. Workers also cap their address space, so a hostile answer cannot exhaust memory.

Example:
    >>> with GradingPool(workers=2, timeout=5) as pool:                    # doctest: +SKIP
    ...     pool.grade_many([(r"\\boxed{2}", "2", "math", "")])[0].correct
    True
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from s1kit.errors import S1kitError
from s1kit.grading.judge import Verdict

Item = tuple[str, str, str, str]  # (answer, gold, kind, thinking)
START_TIMEOUT_S = 120.0  # a worker imports math-verify and sympy before it is ready
MEMORY_LIMIT = 4 << 30  # bytes of address space per worker


def _worker(conn: Connection) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    import math_verify  # noqa: F401  (imported before "ready", so no item pays for it)

    from s1kit.grading.judge import judge

    # math-verify logs the (untrusted, possibly huge) text it timed out on; the verdict records it instead.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        answer, gold, kind, thinking = msg
        try:
            v = judge(answer, gold, kind, thinking=thinking)  # type: ignore[arg-type]
        except MemoryError:
            v = Verdict(False, None, "none", error="out of memory")
        except Exception as e:  # a grader bug or a parser failure: wrong, with the reason
            v = Verdict(False, None, "none", error=f"{type(e).__name__}: {str(e)[:200]}")
        conn.send(("done", v.to_dict()))


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    ready: bool = False
    started: float = 0.0
    item: int | None = None
    deadline: float = 0.0


class GradingPool:
    """A small pool of grading processes with a hard timeout per item.

    Args:
        workers: number of processes (at least 1).
        timeout: seconds one item may take before its worker is killed and it is graded wrong.
    """

    def __init__(self, workers: int = 2, timeout: float = 5.0) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise S1kitError(f"grading workers={workers!r} is invalid: expected an integer >= 1")
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise S1kitError(f"grading timeout={timeout!r} is invalid: expected seconds > 0")
        self.timeout = float(timeout)
        self.closed = False
        self.timeouts = 0  # items killed so far
        self.last_durations: list[float] = []  # seconds per item (dispatch to verdict) of the last call
        self._ctx = mp.get_context("spawn")  # never fork a parent that may hold engine threads
        self._slots = [self._start() for _ in range(workers)]

    def _start(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker, args=(child,), daemon=True, name="s1kit-grader")
        proc.start()
        child.close()
        return _Slot(proc, parent, started=time.monotonic())

    def _restart(self, i: int) -> None:
        s = self._slots[i]
        s.proc.kill()
        s.proc.join(5)
        s.conn.close()
        self._slots[i] = self._start()

    def grade_many(self, items: Sequence[Item]) -> list[Verdict]:
        """Grade items (answer, gold, kind, thinking) in parallel; results in input order."""
        if self.closed:
            raise RuntimeError("grading pool is closed")
        results: list[Verdict | None] = [None] * len(items)
        started = [0.0] * len(items)
        self.last_durations = [0.0] * len(items)
        pending = list(range(len(items)))[::-1]
        while pending or any(s.item is not None for s in self._slots):
            now = time.monotonic()
            for s in self._slots:
                if s.ready and s.item is None and pending:
                    s.item = pending.pop()
                    s.deadline = now + self.timeout
                    started[s.item] = now
                    s.conn.send(items[s.item])
            waits = [
                s.deadline if s.item is not None else s.started + START_TIMEOUT_S
                for s in self._slots
                if s.item is not None or not s.ready
            ]
            ready = wait([s.conn for s in self._slots], timeout=max(0.0, min(waits) - now) if waits else None)
            for i, s in enumerate(self._slots):
                item = s.item
                if s.conn in ready:
                    self._receive(i, results)
                elif s.item is not None and time.monotonic() >= s.deadline:
                    self.timeouts += 1
                    results[s.item] = Verdict(False, None, "none", timed_out=True, error="grading timed out")
                    self._restart(i)
                elif not s.ready and time.monotonic() >= s.started + START_TIMEOUT_S:
                    raise RuntimeError("a grading worker did not start (math-verify import failed?)")
                if item is not None and results[item] is not None and not self.last_durations[item]:
                    self.last_durations[item] = time.monotonic() - started[item]
        return [r for r in results if r is not None]

    def _receive(self, i: int, results: list[Verdict | None]) -> None:
        s = self._slots[i]
        try:
            kind, payload = s.conn.recv()
        except (EOFError, OSError):  # the worker died (e.g. killed by the memory limit)
            if s.item is not None:
                results[s.item] = Verdict(False, None, "none", error="grading worker died")
            self._restart(i)
            return
        if kind == "ready":
            s.ready = True
            return
        if s.item is not None:
            results[s.item] = Verdict(**payload)
        s.item = None

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for s in self._slots:
            with contextlib.suppress(OSError, BrokenPipeError):
                s.conn.send(None)
        for s in self._slots:
            s.proc.join(2)
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join(2)
            s.conn.close()

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
