"""One writer per run folder: a second run is refused naming the holder's PID; a dead holder never blocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.evaluation.rundir import LOCK, RECORDS, lock_run_dir

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "OMP_NUM_THREADS": "1"}
HOLD = (
    "import sys, time; from pathlib import Path; from s1kit.evaluation.rundir import lock_run_dir\n"
    "with lock_run_dir(Path(sys.argv[1]), {}):\n    print('held', flush=True); time.sleep(120)\n"
)


def _holder(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_is_refused_naming_the_holder_then_a_dead_holder_frees_the_folder(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        with (
            pytest.raises(S1kitError, match=rf"in use by another run \(PID {holder.pid}\)"),
            lock_run_dir(out, {}),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: the kernel drops it
        holder.wait()
    assert (out / LOCK).read_text().strip() == str(holder.pid)  # the stale file is still there...
    with lock_run_dir(out, {}):  # ...and does not block
        assert (out / LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(S1kitError, match=rf"PID {os.getpid()}"), lock_run_dir(out, {}):
            pass  # one process, two runs: refused too
    with lock_run_dir(out, {}):  # released on exit
        pass


def test_a_file_or_an_unwritable_place_is_a_one_line_error(tmp_path):
    (tmp_path / "f").write_text("x")
    for out in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(S1kitError, match="run folder"), lock_run_dir(out, {}):
            pass


# -- two real evals (the tiny model, in subprocesses) ------------------------------------------------------
CFG = {
    "task": "gsm8k",
    "model": "tiny",
    "limit": 4,
    "budgets": [8, 16],
    "batch_size": 4,
    "max_answer_tokens": 4,
    "grading_workers": 1,
}


def _eval(out: Path, delay: float = 0.0) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "tests/eval/tiny_eval_main.py"), str(out), json.dumps(CFG), str(delay)]
    return subprocess.Popen(cmd, env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_lock(out: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        lock = out / LOCK
        if lock.is_file() and lock.read_text().strip() == str(proc.pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"the run never took the lock (rc {proc.poll()})")


def _lines(out: Path) -> list[str]:
    path = out / RECORDS
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_two_concurrent_evals_on_one_folder_one_runs_one_is_refused(tmp_path):
    out = tmp_path / "run"
    first = _eval(out, delay=40.0)  # 2 batches x 40 s: the second loads its model while the first writes
    _wait_for_lock(out, first)
    second = _eval(out)
    _, err = second.communicate(timeout=300)
    assert first.poll() is None, "the first run ended before the second tried"
    assert second.returncode != 0
    assert f"is in use by another run (PID {first.pid})" in err.decode()
    _, err = first.communicate(timeout=400)
    assert first.returncode == 0, err.decode()[-2000:]
    keys = [json.loads(line)["key"] for line in _lines(out)]
    assert len(keys) == 4 * 2 and len(set(keys)) == len(keys)  # every record written once
    # a run killed while holding the lock: the next one takes over and completes, still once each
    out2 = tmp_path / "run2"
    dead = _eval(out2, delay=40.0)
    _wait_for_lock(out2, dead)
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    again = _eval(out2)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()[-2000:]
    keys = [json.loads(line)["key"] for line in _lines(out2)]
    assert len(keys) == 4 * 2 and len(set(keys)) == len(keys)
