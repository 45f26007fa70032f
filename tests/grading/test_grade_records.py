"""A grading failure is recorded as such (``grade_error``), never as a plain wrong answer."""

from __future__ import annotations

import os
import signal
import threading
import time

from s1kit.evaluation.config import Setting
from s1kit.evaluation.metrics import summarize
from s1kit.evaluation.runner import Batch, make_record
from s1kit.forcing.budget import Budget
from s1kit.generation.completion import Completion, Timings
from s1kit.grading.pool import GradingPool
from s1kit.tasks import Problem

HOSTILE = r"$\boxed{9^{9^{9^{9^{9^{9}}}}}}$"


def _completion(answer: str) -> Completion:
    return Completion("q", "", answer, 3, 2, False, 0, "stop", (), Timings(0.1, 0.1, 5))


def test_a_crashed_worker_is_a_grade_error_in_the_record_and_the_summary():
    items = [(r"$\boxed{4}$", "4", "math", ""), (r"$\boxed{5}$", "4", "math", ""), (HOSTILE, "4", "math", "")]
    with GradingPool(workers=1, timeout=60.0) as pool:
        pool.grade_many([("1", "1", "math", "")])  # started
        verdicts: list = []
        t = threading.Thread(target=lambda: verdicts.extend(pool.grade_many(items)))
        t.start()
        deadline = time.monotonic() + 30
        while pool._workers[0].item != 2:  # until the two normal items are done and the hostile one is sent
            time.sleep(0.02)
            assert time.monotonic() < deadline
        time.sleep(0.3)  # the worker is parsing it
        os.kill(pool._workers[0].proc.pid, signal.SIGKILL)  # a crash while grading (e.g. a segfault)
        t.join(60)
    ok, wrong, crashed = verdicts
    assert crashed.error and "died" in crashed.error and not crashed.timed_out and not crashed.correct
    assert ok.correct and wrong.error is None and not wrong.correct

    setting = Setting("budget_forcing", Budget(max_thinking_tokens=16))
    records = [
        make_record(Problem(f"p{i}", "q", "4", "math"), Batch(setting, 0, 0, (), 7), _completion(a), v)
        for i, ((a, *_), v) in enumerate(zip(items, verdicts, strict=True))
    ]
    assert [r["grade_error"] for r in records][:2] == [None, None]
    assert records[2]["grade_error"] == crashed.error and records[2]["correct"] is False
    (entry,) = summarize(records)["settings"]
    assert entry["grading_errors"] == 1 and entry["grading_timeouts"] == 0
