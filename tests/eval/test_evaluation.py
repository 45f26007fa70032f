"""The eval runner with a tiny random model: run folder, schema, resumption after kills, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from s1kit.errors import S1kitError
from s1kit.evaluation.runner import RECORDS, EvalConfig, read_records, run_eval
from s1kit.generation.generator import Generator

ROOT = Path(__file__).resolve().parents[2]
CFG = {
    "task": "gsm8k",
    "model": "tiny",
    "limit": 5,
    "budgets": [8, 16],
    "num_ignore": [0, 1],
    "batch_size": 2,
    "max_answer_tokens": 4,
    "grading_workers": 1,
}
VOLATILE = ("timings",)  # wall-clock times differ between runs


def stable(records):
    return sorted(
        ({k: v for k, v in r.items() if k not in VOLATILE} for r in records), key=lambda r: r["key"]
    )


def launch(out: Path, delay: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "tests/eval/tiny_eval_main.py"), str(out), json.dumps(CFG), str(delay)]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def lines(out: Path) -> int:
    p = out / RECORDS
    return p.read_bytes().count(b"\n") if p.exists() else 0


def kill_after(out: Path, n: int, timeout: float = 120) -> None:
    proc = launch(out, delay=0.25)
    t0 = time.monotonic()
    while lines(out) < n and proc.poll() is None and time.monotonic() - t0 < timeout:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run in a subprocess (the same process setup as the killed runs)."""
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = launch(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return read_records(out / RECORDS)


@pytest.mark.slow
def test_uninterrupted_run_folder(reference):
    assert len(reference) == 5 * 4  # problems x settings
    assert len({r["key"] for r in reference}) == len(reference)
    r = reference[0]
    for field in (
        "problem_id",
        "setting",
        "method",
        "sample",
        "gold",
        "extracted",
        "correct",
        "grade_source",
        "thinking",
        "answer",
        "thinking_tokens",
        "answer_tokens",
        "events",
        "timings",
        "seed",
    ):
        assert field in r, field
    assert r["method"] == "budget_forcing" and r["setting"]["method"] == "budget_forcing"
    assert "prompt" not in r  # the question text is never recorded
    assert all(x["thinking_tokens"] <= x["setting"]["budget"]["max_thinking_tokens"] for x in reference)


@pytest.mark.slow
def test_resume_after_kills_equals_uninterrupted_run(reference, tmp_path):
    out = tmp_path / "run"
    for n in (1, 7, 14):  # kill after the first batch, mid-way, and near the end
        kill_after(out, n)
        got = read_records(out / RECORDS)
        assert len({r["key"] for r in got}) == len(got)
    with (out / RECORDS).open("ab") as f:  # what a kill in the middle of a write leaves behind
        f.write(b'{"key": "gsm8k-4|bf:max=16')
    proc = launch(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    raw = (out / RECORDS).read_bytes()
    assert raw.endswith(b"\n") and all(json.loads(line) for line in raw.splitlines())
    assert stable(read_records(out / RECORDS)) == stable(reference)


def test_read_records_cuts_a_torn_last_line(tmp_path):
    p = tmp_path / RECORDS
    p.write_text('{"key": "a", "x": 1}\n{"key": "b", "x": 2}\n{"key": "c", "x"')
    assert [r["key"] for r in read_records(p)] == ["a", "b"]
    assert p.read_text().endswith('"x"')  # not repaired unless asked
    read_records(p, repair=True)
    assert p.read_text() == '{"key": "a", "x": 1}\n{"key": "b", "x": 2}\n'
    p.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(S1kitError, match="line 2"):
        read_records(p)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models run several times faster on one thread when the cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def gen(tiny_engine):
    return Generator(tiny_engine, "s1")


def test_in_process_run_summary_and_refusals(gen, tmp_path):
    out = tmp_path / "run"
    cfg = EvalConfig(task="aime24", limit=3, budgets=(4, 12), max_answer_tokens=3, grading_workers=1)
    calls = []
    summary = run_eval(cfg, out, generator=gen, progress=lambda d, t, c: calls.append((d, t)))
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    assert {"control", "scaling", "performance", "settings"} <= set(summary)
    assert [s["mean_thinking_tokens"] for s in summary["settings"]] == [4, 12]  # the tiny model never stops
    assert summary["control"] == 1.0
    doc = yaml.safe_load((out / "config.yaml").read_text())
    assert doc["identity"]["task_info"]["version"] == "1" and doc["resolved"]["format"] == "s1"
    assert "s1kit" in doc["versions"] and "math-verify" in doc["versions"]
    assert (out / "scaling.png").stat().st_size > 1000 and (out / "thinking_hist.png").exists()
    again = run_eval(cfg, out, generator=gen)  # nothing left to do: same records, no duplicates
    assert again["records"] == 6 and len(read_records(out / RECORDS)) == 6
    other = EvalConfig(task="aime24", limit=3, budgets=(4, 16), max_answer_tokens=3, grading_workers=1)
    with pytest.raises(S1kitError, match="another configuration .*budgets"):
        run_eval(other, out, generator=gen)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(S1kitError, match="not empty"):
        run_eval(cfg, tmp_path / "foreign", generator=gen)


def test_gpqa_questions_never_reach_the_run_folder(gen, tmp_path):
    from s1kit.tasks import get_task

    cfg = EvalConfig(task="gpqa_diamond", limit=2, budgets=(4,), max_answer_tokens=2, grading_workers=1)
    run_eval(cfg, tmp_path / "g", generator=gen)
    written = "".join(
        p.read_text(errors="ignore") for p in (tmp_path / "g").glob("*.*") if p.suffix != ".png"
    )
    questions = [p.question.split("\n\n")[0][:60] for p in get_task("gpqa_diamond").problems[:2]]
    leaked = any(q in written for q in questions)
    assert not leaked  # (never print the text itself)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budgets": ()}, "budgets"),
        ({"samples": 4}, "greedy"),
        ({"prompt_style": "chat"}, "prompt_style"),
        ({"num_ignore": (-1,)}, "num_ignore"),
    ],
)
def test_bad_configs(kwargs, match):
    with pytest.raises(S1kitError, match=match):
        EvalConfig(task="aime24", **kwargs)


class Crashing:
    """The real generator, crashing (like a kill between batches) after ``n`` batches."""

    def __init__(self, gen, n):
        self.gen, self.n = gen, n
        self.engine, self.format = gen.engine, gen.format

    def render(self, *a, **k):
        return self.gen.render(*a, **k)

    def generate_batch(self, *a, **k):
        if self.n == 0:
            raise KeyboardInterrupt
        self.n -= 1
        return self.gen.generate_batch(*a, **k)


def test_resume_after_crashes_in_process(gen, tmp_path):
    """Fast tier: crash after 1 and 3 batches, tear the last line, resume; equal to an uninterrupted run."""
    cfg = EvalConfig(**{**CFG, "model": "tiny", "limit": 3, "budgets": (6, 10), "num_ignore": (0, 1)})
    ref = run_eval(cfg, tmp_path / "ref", generator=gen)
    out = tmp_path / "run"
    for n in (1, 3):
        with pytest.raises(KeyboardInterrupt):
            run_eval(cfg, out, generator=Crashing(gen, n))
    assert 0 < len(read_records(out / RECORDS)) < ref["records"]
    with (out / RECORDS).open("ab") as f:
        f.write(b'{"key": "gsm8k-2|bf:max=10')
    run_eval(cfg, out, generator=gen)
    assert stable(read_records(out / RECORDS)) == stable(read_records(tmp_path / "ref" / RECORDS))
    assert (out / RECORDS).read_bytes().count(b"\n") == ref["records"]
