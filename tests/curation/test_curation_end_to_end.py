"""The whole pipeline with the embedded model (SmolLM2-135M-Instruct) as solver and classifier."""

from __future__ import annotations

import json

import pytest
from curation_paths import TRACES, read_jsonl

from s1kit.cli import main
from s1kit.curation.diversity import msc_titles

pytest.importorskip("llama_cpp")


@pytest.mark.slow
def test_curate_end_to_end_with_the_embedded_model(tmp_path, capsys):
    out = tmp_path / "s1k"
    args = [
        "curate", "--input", str(TRACES), "--out", str(out), "--size", "4", "--seed", "1",
        "--solvers", "default", "--classifier", "default", "--tokenizer", "tests/fixtures/smollm2-tokenizer",
        "--solver-max-thinking-tokens", "8", "--solver-max-answer-tokens", "8", "--parquet",
    ]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    stages = [f["stage"] for f in summary["funnel"]]
    assert stages == ["ingest", "dedup", "decontam", "quality", "difficulty", "diversity"]
    report = json.loads((out / "report.json").read_text())
    survivors = report["funnel"][3]["rows"]
    solver_cache = read_jsonl(out / "cache" / "solver-default.jsonl")
    assert len(solver_cache) == survivors == 12
    solved = sum(r["correct"] for r in solver_cache)
    assert report["funnel"][4]["rows"] == survivors - solved
    assert report["classification"] == {"model": survivors - solved}
    selected = read_jsonl(out / "selected.jsonl")
    assert len(selected) == 4
    assert all(r["metadata"]["msc"] in msc_titles() and r["metadata"]["trace_tokens"] > 0 for r in selected)
    assert report["trace_length"]["unit"] == "tokens (smollm2-tokenizer)"
    # a rerun resumes from the caches (no model call) and writes the same bytes
    first = {
        f: (out / f).read_bytes()
        for f in ("selected.jsonl", "dropped.jsonl", "report.json", "selected.parquet")
    }
    assert main(args) == 0
    assert {f: (out / f).read_bytes() for f in first} == first
