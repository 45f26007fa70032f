"""Worker processes that grade with a hard per-item timeout.

math-verify's own timeouts use ``signal.alarm`` and work only in a main thread; sympy can also stall in
C code where a signal is not delivered promptly. So each item is sent to a worker process
(``python -m s1kit.grading.worker``, JSON lines over pipes, see :mod:`s1kit.grading.worker`), and a
worker that has not answered within ``timeout`` seconds is killed and replaced; the item is graded wrong
with ``timed_out=True``. Workers also cap their address space, so a hostile answer cannot exhaust memory.

Workers are started as a module of s1kit, never by ``multiprocessing``: nothing re-imports the caller's
``__main__``, so grading works from a script without a ``__main__`` guard, ``python -``, ``python -c``,
a notebook and a server thread. A missing math-verify is reported before any worker starts; two failed
starts in a row raise :class:`~s1kit.errors.S1kitError` with the worker's last lines of stderr.

Example:
    >>> with GradingPool(workers=2, timeout=5) as pool:                    # doctest: +SKIP
    ...     pool.grade_many([(r"\\boxed{2}", "2", "math", "")])[0].correct
    True
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1kit.errors import MissingExtraError, S1kitError
from s1kit.grading.judge import KINDS, Verdict

Item = tuple[str, str, str, str]  # (answer, gold, kind, thinking)
START_TIMEOUT_S = 120.0  # a worker imports math-verify and sympy before it is ready
STDERR_LINES = 20  # lines of a worker's stderr kept for error messages
_CHUNK = 1 << 16


def _check_math_verify() -> None:
    try:
        found = importlib.util.find_spec("math_verify") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingExtraError("grading", "eval", "math-verify")


def _worker_env() -> dict[str, str]:
    """The caller's environment, with the folder that holds this s1kit first on the path (so a worker
    imports the same s1kit, installed or not)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


@dataclass(eq=False)
class _Worker:
    proc: subprocess.Popen
    started: float
    ready: bool = False
    item: int | None = None
    deadline: float = 0.0
    out: bytearray = field(default_factory=bytearray)  # stdout not yet split into lines
    err: bytearray = field(default_factory=bytearray)  # the unfinished last stderr line
    err_lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=STDERR_LINES))
    pending_in: bytes = b""  # request bytes not yet written to stdin
    dead: bool = False

    def fds(self) -> tuple[int, int, int]:
        return self.proc.stdin.fileno(), self.proc.stdout.fileno(), self.proc.stderr.fileno()  # type: ignore[union-attr]

    def stderr_tail(self) -> str:
        lines = [*self.err_lines, self.err.decode("utf-8", "replace")]
        return " | ".join(x.strip() for x in lines if x.strip())[-2000:]


def _kill_all(workers: list[_Worker]) -> None:
    for w in workers:
        if w.dead:  # its stdout closed: it is exiting; let it, so its exit status is its own
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(1.0)
        with contextlib.suppress(OSError):
            w.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            w.proc.wait(2)
        with contextlib.suppress(OSError, ValueError):  # what it wrote last: kept for error messages
            while chunk := os.read(w.proc.stderr.fileno(), _CHUNK):  # type: ignore[union-attr]
                _add_err(w, chunk)
        for f in (w.proc.stdin, w.proc.stdout, w.proc.stderr):
            with contextlib.suppress(OSError):
                f.close()  # type: ignore[union-attr]


class GradingPool:
    """A small pool of grading processes with a hard timeout per item; safe to share between threads.

    Args:
        workers: number of processes (at least 1).
        timeout: seconds one item may take before its worker is killed and it is graded wrong
            (settable between calls: ``pool.timeout = 2``).
    """

    def __init__(self, workers: int = 2, timeout: float = 5.0) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise S1kitError(f"grading workers={workers!r} is invalid: expected an integer >= 1")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise S1kitError(f"grading timeout={timeout!r} is invalid: expected seconds > 0")
        _check_math_verify()
        self.timeout = float(timeout)
        self.closed = False
        self.timeouts = 0  # items killed so far
        self.last_durations: list[float] = []  # seconds per item (dispatch to verdict) of the last call
        self._lock = threading.RLock()
        self._failed_starts = 0  # in a row, over all workers
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _kill_all, self._workers)
        for _ in range(workers):
            self._workers.append(self._start())

    # ------------------------------------------------------------------ processes

    def _start(self) -> _Worker:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "s1kit.grading.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_worker_env(),
        )
        for f in (proc.stdin, proc.stdout, proc.stderr):
            os.set_blocking(f.fileno(), False)  # type: ignore[union-attr]
        return _Worker(proc, started=time.monotonic())

    def _replace(self, w: _Worker) -> _Worker:
        """Kill ``w`` (if still running) and start a new worker in its place."""
        _kill_all([w])
        new = self._start()
        self._workers[self._workers.index(w)] = new
        return new

    def _failed_start(self, w: _Worker, why: str) -> None:
        self._failed_starts += 1
        _kill_all([w])
        if self._failed_starts >= 2:
            code = w.proc.returncode
            tail = w.stderr_tail() or "(no output on stderr)"
            self.close()
            raise S1kitError(
                f"grading workers failed to start twice in a row ({why}, exit status {code}); "
                f"last stderr of `{sys.executable} -m s1kit.grading.worker`: {tail}"
            )
        self._workers[self._workers.index(w)] = self._start()

    # ------------------------------------------------------------------ the loop

    def _run(self, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send each request to a worker; replies in input order. An item that overruns ``timeout`` or
        whose worker dies gets ``{"timed_out": True}`` / ``{"died": "..."}`` instead of a reply."""
        with self._lock:
            if self.closed:
                raise RuntimeError("grading pool is closed")
            results: list[dict[str, Any] | None] = [None] * len(requests)
            started = [0.0] * len(requests)
            self.last_durations = [0.0] * len(requests)
            queue = collections.deque(range(len(requests)))
            lines = [json.dumps(r, ensure_ascii=True).encode() + b"\n" for r in requests]

            def finish(w: _Worker, reply: dict[str, Any]) -> None:
                if w.item is not None:
                    results[w.item] = reply
                    self.last_durations[w.item] = time.monotonic() - started[w.item]
                w.item = None

            try:
                self._loop(queue, lines, started, finish)
            except BaseException:  # a KeyboardInterrupt: no late reply may reach the next call
                for w in [] if self.closed else list(self._workers):
                    if w.item is not None or w.pending_in:
                        w.item, w.pending_in = None, b""
                        self._replace(w)
                raise
            return [r or {"died": "no reply"} for r in results]

    def _loop(self, queue: collections.deque, lines: list[bytes], started: list[float], finish: Any) -> None:
        """Dispatch, wait, and replace workers that overran, died or never started, until all are done."""
        while queue or any(w.item is not None for w in self._workers):
            now = time.monotonic()
            for w in self._workers:
                if w.ready and w.item is None and queue:
                    w.item = queue.popleft()
                    started[w.item] = now
                    w.deadline = now + self.timeout
                    w.pending_in = lines[w.item]
            self._wait(finish)
            now = time.monotonic()
            for w in list(self._workers):
                if w.dead:
                    if not w.ready:
                        self._failed_start(w, "it exited before it was ready")
                        continue
                    code = w.proc.poll()
                    finish(w, {"died": f"grading worker died (exit status {code})"})
                    self._replace(w)
                elif w.item is not None and now >= w.deadline:
                    self.timeouts += 1
                    finish(w, {"timed_out": True})
                    self._replace(w)
                elif not w.ready and now >= w.started + START_TIMEOUT_S:
                    self._failed_start(w, f"not ready after {START_TIMEOUT_S:.0f} s")

    def _wait(self, finish: Any) -> None:
        """One round of I/O: write pending requests, read replies and stderr, until the nearest deadline."""
        sel = selectors.DefaultSelector()
        try:
            deadlines = []
            for w in self._workers:
                fin, fout, ferr = w.fds()
                sel.register(fout, selectors.EVENT_READ, (w, "out"))
                sel.register(ferr, selectors.EVENT_READ, (w, "err"))
                if w.pending_in:
                    sel.register(fin, selectors.EVENT_WRITE, (w, "in"))
                if w.item is not None:
                    deadlines.append(w.deadline)
                elif not w.ready:
                    deadlines.append(w.started + START_TIMEOUT_S)
            wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in sel.select(wait):
                w, what = key.data
                if w.dead:
                    continue
                if what == "in":
                    try:
                        n = os.write(key.fd, w.pending_in[:_CHUNK])
                    except BlockingIOError:
                        continue
                    except OSError:  # broken pipe: the worker died; its stdout says so next
                        w.pending_in = b""
                        continue
                    w.pending_in = w.pending_in[n:]
                    continue
                try:
                    chunk = os.read(key.fd, _CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if what == "err":
                    _add_err(w, chunk)
                elif not chunk:
                    w.dead = True
                else:
                    w.out += chunk
                    self._replies(w, finish)
        finally:
            sel.close()

    def _replies(self, w: _Worker, finish: Any) -> None:
        while (nl := w.out.find(b"\n")) >= 0:
            line, w.out[:] = bytes(w.out[:nl]), w.out[nl + 1 :]
            try:
                msg = json.loads(line)
            except ValueError:
                _add_err(w, b"unreadable reply: " + line[:200] + b"\n")
                continue
            if msg.get("ready"):
                w.ready = True
                self._failed_starts = 0
            elif w.item is not None:
                finish(w, msg)

    # ------------------------------------------------------------------ the public operations

    def grade_many(self, items: Sequence[Item]) -> list[Verdict]:
        """Grade items (answer, gold, kind, thinking) in parallel; verdicts in input order."""
        replies = self._run(
            [{"op": "grade", "answer": a, "gold": g, "kind": k, "thinking": t} for a, g, k, t in items]
        )
        return [_verdict(r) for r in replies]

    def equal_many(self, pairs: Sequence[tuple[str, str]], kind: str) -> list[bool | None]:
        """Is each pair of answers equivalent, by the grader's own equivalence
        (:func:`~s1kit.grading.judge.equivalent`)? ``None`` where comparing timed out or failed."""
        if kind not in KINDS:
            raise S1kitError(f"unknown grading kind {kind!r}: expected one of {list(KINDS)}")
        replies = self._run([{"op": "equal", "a": a, "b": b, "kind": kind} for a, b in pairs])
        return [r.get("equal") if isinstance(r.get("equal"), bool) else None for r in replies]

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for w in self._workers:
                with contextlib.suppress(OSError):
                    w.proc.stdin.close()  # type: ignore[union-attr]  # end of input: the worker exits
            deadline = time.monotonic() + 2
            for w in self._workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.proc.wait(max(0.0, deadline - time.monotonic()))
            self._finalizer()  # kills what is left and closes the pipes

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add_err(w: _Worker, chunk: bytes) -> None:
    w.err += chunk
    *done, rest = bytes(w.err).split(b"\n")
    for line in done:
        w.err_lines.append(line[:500].decode("utf-8", "replace"))
    w.err[:] = rest[-4000:]


def _verdict(reply: dict[str, Any]) -> Verdict:
    if isinstance(reply.get("verdict"), dict):
        return Verdict(**reply["verdict"])
    if reply.get("timed_out"):
        return Verdict(False, None, "none", timed_out=True, error="grading timed out")
    return Verdict(False, None, "none", error=str(reply.get("died") or reply.get("error") or "no reply"))
