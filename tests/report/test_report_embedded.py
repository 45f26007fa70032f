"""Slow tier: the report of a real run of the embedded model (SmolLM2-135M on llama.cpp) in Chromium."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from report_helpers import ARTIFACTS, QUESTIONS, open_report

from s1kit.evaluation.runner import EvalConfig, read_records, run_eval
from s1kit.report.html import write_html


@pytest.mark.slow
def test_embedded_model_report(tmp_path, browser):
    pytest.importorskip("llama_cpp")
    task = tmp_path / "easy.jsonl"
    golds = ["4", "15", "3"]
    task.write_text(
        "".join(
            json.dumps({"question": q, "answer": a}) + "\n" for q, a in zip(QUESTIONS, golds, strict=True)
        )
    )
    cfg = EvalConfig(
        task="custom",
        task_options={"path": str(task)},
        budgets=(8, 64),
        num_ignore=(1,),
        max_answer_tokens=16,
        engine_options={"n_ctx": 1024},
        batch_size=4,
        grading_workers=1,
    )
    run = tmp_path / "smol-easy"
    run_eval(cfg, run)
    records = read_records(run / "records.jsonl")
    page = open_report(browser, write_html([run], tmp_path / "report.html"))
    assert page.locator("#plot .pt").count() == 2
    page.locator("#plot .pt").nth(1).click()
    assert page.evaluate("window.s1kitReport.filtered().length") == len(QUESTIONS)
    page.click("#f-clear")
    page.select_option("#f-verdict", "ok")
    assert page.evaluate("window.s1kitReport.filtered().length") == sum(r["correct"] for r in records)
    page.select_option("#f-verdict", "")
    verdicts = defaultdict(set)
    for r in records:
        verdicts[r["problem_id"]].add(r["correct"])
    page.check("#f-flip")
    flips = sum(len(verdicts[r["problem_id"]]) == 2 for r in records)
    assert page.evaluate("window.s1kitReport.filtered().length") == flips
    page.uncheck("#f-flip")
    page.select_option("#f-forced", "end")
    forced = page.evaluate("window.s1kitReport.filtered()")
    assert len(forced) == sum(r["forced_end"] for r in records) > 0
    page.evaluate(f"window.s1kitReport.show({forced[0]})")
    assert page.locator("#detail .ev-end").count() == 1
    assert page.locator("#detail mark.ev-primer").inner_text() == "Final Answer:"
    assert page.locator("#detail .question").inner_text() in QUESTIONS
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-embedded.png"), full_page=True)
    assert page.errors == []
