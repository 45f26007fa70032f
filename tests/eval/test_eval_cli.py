"""``s1kit eval`` and ``s1kit report`` from the command line: bad input, report, paper tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from s1kit.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--task", "aime23", "--out", "{tmp}/r"], "unknown task 'aime23'"),
        (["--task", "aime24", "--budgets", ",", "--out", "{tmp}/r"], "--budgets is empty"),
        (["--task", "aime24", "--budgets", "12,x", "--out", "{tmp}/r"], "'x' is not an integer"),
        (["--task", "aime24", "--num-ignore", "-1", "--out", "{tmp}/r"], "negative"),
        (["--task", "custom", "--out", "{tmp}/r"], "needs a file"),
        (
            ["--task", "custom", "--task-file", "{tmp}/bad.jsonl", "--out", "{tmp}/r"],
            "line 2: missing field 'answer'",
        ),
        (["--task", "aime24", "--samples", "3", "--out", "{tmp}/r"], "temperature"),
    ],
)
def test_eval_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, match):
    (tmp_path / "bad.jsonl").write_text('{"question": "a", "answer": "1"}\n{"question": "b"}\n')
    code = main(["eval", *[a.format(tmp=tmp_path) for a in argv], "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_eval_refuses_a_folder_of_another_config_before_loading_a_model(tmp_path, capsys):
    from s1kit.evaluation.runner import EvalConfig
    from s1kit.tasks import get_task

    out = tmp_path / "r"
    out.mkdir()
    ident = EvalConfig(task="aime24", budgets=(64,)).identity(get_task("aime24"))
    (out / "config.yaml").write_text(json.dumps({"identity": ident}))
    code = main(["eval", "--task", "aime24", "--budgets", "128", "--out", str(out), "--no-progress"])
    assert code == 2 and "another configuration (differs in budgets" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_engine):
    import torch

    from s1kit.evaluation.runner import EvalConfig, run_eval
    from s1kit.generation.generator import Generator

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "tiny-aime"
    cfg = EvalConfig(task="aime24", limit=2, budgets=(4, 8), max_answer_tokens=2, grading_workers=1)
    run_eval(cfg, out, generator=Generator(tiny_engine, "s1"))
    torch.set_num_threads(threads)
    return out


def test_report_recomputes_from_records(run_dir, tmp_path, capsys):
    (run_dir / "summary.json").unlink()
    (run_dir / "scaling.png").unlink()
    assert main(["report", str(run_dir), "--paper"]) == 0
    out = capsys.readouterr().out
    assert "Control 100%" in out and "Table 3" in out and "56.7" in out and "(this run) tiny-aime" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["task"] == "aime24" and len(summary["settings"]) == 2
    assert (run_dir / "scaling.png").exists()
    # two runs into one folder, one line per run
    twin = tmp_path / "twin"
    twin.mkdir()
    for f in ("records.jsonl", "config.yaml"):
        (twin / f).write_bytes((run_dir / f).read_bytes())
    assert main(["report", str(run_dir), str(twin), "--out", str(tmp_path / "rep")]) == 0
    combined = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert set(combined["runs"]) == {"tiny-aime", "twin"} and "scaling.png" in combined["plots"]


def test_report_bad_input(tmp_path, capsys, run_dir):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    import importlib.util

    if importlib.util.find_spec("s1kit.report.html") is None:
        assert main(["report", str(run_dir), "--html", str(tmp_path / "r.html")]) == 2
        assert "--html is not available" in capsys.readouterr().err


def test_eval_help_lists_the_sweep_options():
    res = subprocess.run(
        [sys.executable, "-m", "s1kit.cli", "eval", "--help"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        cwd=ROOT,
        timeout=120,
    )
    for flag in ("--budgets", "--num-ignore", "--samples", "--prompt-style", "--ignore-sweep", "--out"):
        assert flag in res.stdout
