"""One grading worker: ``python -m s1kit.grading.worker``, JSON lines on stdin/stdout.

Started by :class:`~s1kit.grading.pool.GradingPool` as a module of s1kit, so nothing of the caller's
``__main__`` (a script without a guard, ``python -``, ``python -c``, a notebook) is ever re-imported.

Protocol (one JSON object per line each way):

* after importing math-verify the worker prints ``{"ready": true}``;
* ``{"op": "grade", "answer": ..., "gold": ..., "kind": ..., "thinking": ...}`` ->
  ``{"verdict": {...}}`` (the fields of :class:`~s1kit.grading.judge.Verdict`);
* ``{"op": "equal", "a": ..., "b": ..., "kind": ...}`` -> ``{"equal": true | false}`` (the grader's own
  equivalence, :func:`~s1kit.grading.judge.equivalent`), or ``{"equal": null, "error": ...}``;
* end of input: the worker exits.

The worker caps its address space (a hostile answer cannot exhaust the machine's memory) and moves file
descriptor 1 aside, so a stray print (or a C library writing to stdout) lands on stderr instead of
corrupting the protocol. Nothing an answer contains is executed; the parent kills a worker that overruns
its per-item timeout.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any

MEMORY_LIMIT = 4 << 30  # bytes of address space per worker


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # not POSIX, or a lower hard limit already: keep it
        pass


def _protocol_out() -> Any:
    """A private copy of stdout for replies; fd 1 (and ``sys.stdout``) now point at stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


def handle(msg: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request."""
    from s1kit.grading.judge import Verdict, equivalent, judge

    op = msg.get("op")
    if op == "grade":
        try:
            v = judge(msg["answer"], msg["gold"], msg["kind"], thinking=msg.get("thinking") or "")
        except MemoryError:
            v = Verdict(False, None, "none", error="out of memory")
        except Exception as e:  # a grader bug or a parser failure: wrong, with the reason
            v = Verdict(False, None, "none", error=f"{type(e).__name__}: {str(e)[:200]}")
        return {"verdict": v.to_dict()}
    if op == "equal":
        try:
            return {"equal": bool(equivalent(msg["a"], msg["b"], msg["kind"]))}
        except MemoryError:
            return {"equal": None, "error": "out of memory"}
        except Exception as e:
            return {"equal": None, "error": f"{type(e).__name__}: {str(e)[:200]}"}
    return {"error": f"unknown op {op!r}"}


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides what stops (a worker ends
    # when its stdin closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_memory()
    out = _protocol_out()
    import math_verify  # noqa: F401  (imported before "ready", so no item pays for it)

    import s1kit.grading.judge  # noqa: F401

    # math-verify logs the (untrusted, possibly huge) text it timed out on; the verdict records it instead.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    out.write('{"ready": true}\n')
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError as e:
            reply: dict[str, Any] = {"error": f"bad request: {e}"}
        else:
            reply = handle(msg)
        out.write(json.dumps(reply, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
