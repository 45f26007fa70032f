"""End to end on the embedded model (SmolLM2-135M-Instruct GGUF on llama.cpp), tiny limit and budget."""

from __future__ import annotations

import json

import pytest

from s1kit.cli import main


@pytest.mark.slow  # 80-180 s on 2 shared cores (llama.cpp prefill dominates)
def test_eval_embedded_model_then_resume_and_report(tmp_path, capsys):
    pytest.importorskip("llama_cpp")
    out = tmp_path / "smol-gsm8k"
    argv = [
        "eval",
        "--task",
        "gsm8k",
        "--model",
        "default",
        "--budgets",
        "16,48",
        "--limit",
        "2",
        "--max-answer-tokens",
        "24",
        "--n-ctx",
        "1024",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Control 100%" in printed and "Performance" in printed
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 4
    assert all(r["thinking_tokens"] <= r["setting"]["budget"]["max_thinking_tokens"] for r in records)
    assert all(r["answer_tokens"] <= 24 and r["answer"] for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["resolved"]["engine"] == "llamacpp"
    assert [s["setting"]["budget"]["max_thinking_tokens"] for s in summary["settings"]] == [16, 48]
    mtime = (out / "records.jsonl").stat().st_mtime_ns
    assert main(argv) == 0  # the same command again: nothing to redo
    assert (out / "records.jsonl").stat().st_mtime_ns == mtime
    assert main(["report", str(out)]) == 0
