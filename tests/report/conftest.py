"""Fixtures for the HTML report: a real run on a tiny model, a hand-made run, and headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_helpers import CHROMIUM, CHROMIUM_ARGS, QUESTIONS, synthetic_records, write_run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_engine):
    """A real ``run_eval`` on a 2-layer random Llama (stops often: forced ends and "Wait"s)."""
    from s1kit.evaluation.runner import EvalConfig, run_eval
    from s1kit.generation.generator import Generator

    base = tmp_path_factory.mktemp("tiny")
    task = base / "easy.jsonl"
    task.write_text("".join(json.dumps({"question": q, "answer": "1"}) + "\n" for q in QUESTIONS))
    cfg = EvalConfig(
        task="custom",
        task_options={"path": str(task)},
        budgets=(8, 64),
        num_ignore=(0, 1),
        max_answer_tokens=12,
        batch_size=4,
        grading_workers=1,
    )
    out = base / "tiny-run"
    run_eval(cfg, out, generator=Generator(tiny_engine, "s1"))
    return out


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("synth") / "synth-run", synthetic_records())


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/ci-system-deps.sh (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
