"""The grading workers: ``grade()`` from every way a user runs Python, missing or broken math-verify,
thread safety, and the equivalence operation used by voting.

The scripts run in a child interpreter exactly as a user would run them (a file without a
``__main__`` guard, ``python -``, ``python -c``): the old multiprocessing pool re-imported the script in
every worker and never returned, so each of these runs has a deadline.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.grading.api import grade
from s1kit.grading.pool import GradingPool

SRC = Path(__file__).resolve().parents[2] / "src"
SCRIPT = (
    "from s1kit import grade\n"
    "print(grade(r'The answer is $\\boxed{\\frac{1}{2}}$.', '0.5'), grade(r'$\\boxed{3}$', '2'),"
    " grade('Answer: (C)', 'C', kind='gpqa'))\n"
)
EXPECTED = "True False True"
RUN_LIMIT_S = 180  # a worker imports sympy and math-verify; the machine is shared, so be generous


def _env(*extra: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, extra), str(SRC), env.get("PYTHONPATH", "")])
    return env


def _run(args: list[str], cwd: Path, *, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or _env(),
        timeout=RUN_LIMIT_S,
    )


def _assert_clean(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == EXPECTED, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


def test_grade_from_a_plain_unguarded_script_file(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT)  # no `if __name__ == "__main__":` guard
    _assert_clean(_run([str(script)], tmp_path))


def test_grade_from_a_script_on_standard_input(tmp_path):
    _assert_clean(_run(["-"], tmp_path, stdin=SCRIPT))


def test_grade_from_python_dash_c(tmp_path):
    _assert_clean(_run(["-c", SCRIPT], tmp_path))


def test_shared_equal_many_and_bad_arguments():
    from s1kit.grading import api

    assert api.equal_many([(r"\frac{1}{2}", "0.5"), ("3", "4")], "math", timeout=5) == [True, False]
    assert api.equal_many([], "gpqa") == []
    with pytest.raises(S1kitError, match="unknown grading kind"):
        api.equal_many([("1", "1")], "chemistry")  # type: ignore[arg-type]
    with pytest.raises(S1kitError, match="timeout"):
        grade("1", "1", timeout=0)


def test_grade_from_a_thread_and_the_main_thread_at_once():
    cases = [
        (r"$\boxed{\frac{1}{2}}$", "0.5", "math", True),
        (r"$\boxed{7}$", "8", "math", False),
        (r"$\boxed{025}$", "25", "aime", True),
        ("Answer: B", "C", "gpqa", False),
    ]
    got: dict[str, list[bool]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            got[name] = [grade(o, g, k) for _ in range(3) for o, g, k, _ in cases]  # type: ignore[arg-type]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    work("main")
    for t in threads:
        t.join(RUN_LIMIT_S)
    assert not errors, errors
    expected = [want for _ in range(3) for *_, want in cases]
    assert got == {"t0": expected, "t1": expected, "main": expected}


BLOCKER = """
import importlib.abc, sys

class _NoMathVerify(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "math_verify" or name.startswith("math_verify."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoMathVerify())
"""

CATCH = textwrap.dedent(
    """
    import time
    from s1kit import grade
    from s1kit.errors import S1kitError
    t0 = time.monotonic()
    try:
        grade(r"$\\boxed{2}$", "2")
    except S1kitError as e:
        print(f"{time.monotonic() - t0:.2f}")
        print(repr(str(e)))
    else:
        print("no error")
    """
)


def test_missing_math_verify_is_one_line_error_within_30_s(tmp_path):
    # math-verify hidden from the parent and from every worker (sitecustomize runs in each interpreter)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(BLOCKER)
    t0 = time.monotonic()
    proc = _run(["-c", CATCH], tmp_path, env=_env(shim))
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    seconds, message = proc.stdout.strip().splitlines()
    message = ast.literal_eval(message)
    assert "\n" not in message
    assert "math-verify" in message and "pip install 's1kit[eval]'" in message
    assert float(seconds) < 30 and wall < 30 + 10  # + the interpreter's own start


def test_a_worker_that_dies_at_start_twice_raises_with_its_stderr(tmp_path):
    # a math_verify that is found but cannot be imported: every worker dies before it is ready
    shim = tmp_path / "shim"
    (shim / "math_verify").mkdir(parents=True)
    (shim / "math_verify" / "__init__.py").write_text(
        "import sys\nsys.stderr.write('broken-math-verify: cannot load the parser\\n')\nraise SystemExit(3)\n"
    )
    t0 = time.monotonic()
    proc = _run(["-c", CATCH], tmp_path, env=_env(shim))
    assert proc.returncode == 0, proc.stderr[-3000:]
    seconds, message = proc.stdout.strip().splitlines()
    message = ast.literal_eval(message)
    assert "failed to start twice" in message and "exit status 3" in message
    assert "broken-math-verify: cannot load the parser" in message  # the worker's own stderr
    assert float(seconds) < 30 and time.monotonic() - t0 < 60


def test_equal_many_uses_the_graders_equivalence(grading_pool):
    pool = grading_pool
    math = pool.equal_many(
        [
            (r"\frac{1}{2}", "0.5"),
            (r"\sqrt{18}", r"3\sqrt{2}"),
            (r"12\text{ m}", r"12\text{ cm}"),
            ("x^2+2x", "2x+x^2"),
            ("3", "4"),
        ],
        "math",
    )
    aime = pool.equal_many([("025", "25"), ("1,000", "1000"), (r"\frac{140}{2}", "70"), ("7", "8")], "aime")
    gpqa = pool.equal_many([("C", "(C)"), ("c", "C"), ("A", "B"), ("A or C", "A")], "gpqa")
    assert pool.equal_many([], "math") == []
    with pytest.raises(S1kitError, match="unknown grading kind"):
        pool.equal_many([("1", "1")], "chemistry")
    pool.timeout = 1.0
    try:
        hostile = pool.equal_many([(r"9^{9^{9^{9^{9^{9}}}}}", "3"), ("2", "2")], "math")
    finally:
        pool.timeout = 5.0
    assert math == [True, True, False, True, False]
    assert aime == [True, True, True, False]
    assert gpqa == [True, True, False, False]
    assert hostile[1] is True and hostile[0] in (False, None)  # None: it timed out (never True)


def test_pool_arguments_are_checked():
    with pytest.raises(S1kitError, match="workers"):
        GradingPool(workers=0)
    with pytest.raises(S1kitError, match="timeout"):
        GradingPool(workers=1, timeout=0)
    pool = GradingPool(workers=1, timeout=5)
    pool.close()
    assert pool.closed
    pool.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        pool.grade_many([("1", "1", "math", "")])


def test_an_interrupted_call_leaves_no_late_reply_for_the_next(grading_pool):
    deadline = time.monotonic() + RUN_LIMIT_S
    while not all(w.ready for w in grading_pool._workers):  # both workers ready: both get a hostile item
        grading_pool.grade_many([("1", "1", "math", "")] * 4)
        assert time.monotonic() < deadline
    grading_pool.timeout = 60.0
    # Ctrl-C (a real SIGINT, which interrupts the wait) while both workers parse a hostile answer
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            grading_pool.grade_many([(r"$\boxed{9^{9^{9^{9^{9^{9}}}}}}$", "3", "math", "")] * 2)
    finally:
        timer.cancel()
        grading_pool.timeout = 5.0
    # the next call (shorter than the interrupted one) gets its own verdicts, not the interrupted items'
    (ok,) = grading_pool.grade_many([(r"$\boxed{2}$", "2", "math", "")])
    (wrong,) = grading_pool.grade_many([(r"$\boxed{5}$", "2", "math", "")])
    assert (ok.correct, ok.extracted, wrong.correct, wrong.extracted) == (True, "2", False, "5")
    assert not ok.timed_out and not wrong.timed_out
