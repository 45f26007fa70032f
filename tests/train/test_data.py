"""Reading s1K-schema files (JSONL, JSON, Parquet), s1K-1.1 names and Sky-T1 trace dumps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import SHARED

from s1kit.errors import S1kitError
from s1kit.training.data import load_examples

POOL_TRACES = SHARED / "pool" / "traces_skythought"


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_s1k_schema_list_and_string_trajectories(tmp_path):
    p = write_rows(
        tmp_path / "d.jsonl",
        [
            {"question": "Q1", "thinking_trajectories": ["a", "b"], "attempt": "A1", "source_type": "x"},
            {"question": "Q2", "thinking_trajectories": "c", "attempt": "A2"},
        ],
    )
    rows, report = load_examples(p)
    assert [(r.question, r.thinking, r.attempt) for r in rows] == [("Q1", "a\nb", "A1"), ("Q2", "c", "A2")]
    assert rows[0].source == "x" and report.rows == 2


def test_s1k_1_1_columns_are_preferred(tmp_path):
    p = write_rows(
        tmp_path / "d.jsonl",
        [
            {
                "question": "Q",
                "thinking_trajectories": ["gemini"],
                "attempt": "g",
                "deepseek_thinking_trajectory": "r1",
                "deepseek_attempt": "d",
            }
        ],
    )
    rows, _ = load_examples(p)
    assert (rows[0].thinking, rows[0].attempt) == ("r1", "d")


def test_parquet_and_json(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {"question": ["Q"], "thinking_trajectories": [["t1", "t2"]], "attempt": ["A"]}
    pq.write_table(pa.table(data), tmp_path / "d.parquet")
    rows, _ = load_examples(tmp_path / "d.parquet")
    assert (rows[0].thinking, rows[0].attempt) == ("t1\nt2", "A")
    (tmp_path / "d.json").write_text(
        json.dumps([{"question": "Q", "thinking_trajectories": "t", "attempt": "A"}])
    )
    assert load_examples(tmp_path / "d.json")[0][0].thinking == "t"


def test_missing_fields_name_them(tmp_path):
    p = write_rows(tmp_path / "d.jsonl", [{"question": "Q", "attempt": "A"}])
    with pytest.raises(
        S1kitError, match=r"d.jsonl:1: missing or non-text field\(s\) \['thinking_trajectories'\]"
    ):
        load_examples(p)


def test_empty_file_and_missing_path(tmp_path):
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(S1kitError, match="empty"):
        load_examples(tmp_path / "e.jsonl")
    with pytest.raises(S1kitError, match="not found"):
        load_examples(tmp_path / "nope.jsonl")
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(S1kitError, match="bad.jsonl:1 is not valid JSON"):
        load_examples(tmp_path / "bad.jsonl")


def sky_row(trace: str, score: bool = True) -> dict:
    return {"idx": 0, "question": "What is 1+1?", "gt": "2", "code": [trace], "score": [score]}


def test_sky_t1_traces_are_converted_and_filtered(tmp_path):
    good = "<|begin_of_thought|>\n\nOne plus one.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n2\n\n<|end_of_solution|>"
    rows = [sky_row(good), sky_row(good, score=False), sky_row("<|begin_of_thought|> cut off")]
    p = write_rows(tmp_path / "sky.jsonl", rows)
    examples, report = load_examples(p)
    assert [(e.thinking, e.attempt, e.source) for e in examples] == [("One plus one.", "2", "sky-t1")]
    assert dict(report.dropped) == {
        "traces graded incorrect": 1,
        "unfinished traces (no <|end_of_thought|>)": 1,
    }


def test_eval_set_trace_files_are_refused_or_left_out(tmp_path):
    good = "<|begin_of_thought|>x<|end_of_thought|><|begin_of_solution|>y<|end_of_solution|>"
    f = write_rows(tmp_path / "t__math500__EVALSET_DO_NOT_TRAIN.jsonl", [sky_row(good)])
    with pytest.raises(S1kitError, match="evaluation benchmark"):
        load_examples(f)
    assert len(load_examples(f, allow_eval_sets=True)[0]) == 1
    write_rows(tmp_path / "ok.jsonl", [sky_row(good)])
    examples, report = load_examples(tmp_path)
    assert len(examples) == 1 and report.skipped_files == (f.name,)


@pytest.mark.skipif(not POOL_TRACES.is_dir(), reason="shared pool traces not present")
def test_shared_pool_traces_load_without_the_eval_set():
    examples, report = load_examples(POOL_TRACES)
    # The pool README counts 27 usable minerva and 21 usable amc23 traces (correct and finished).
    assert len(examples) == 48
    assert all("EVALSET" not in f for f in report.files) and len(report.skipped_files) == 1
    assert all(
        "<|begin_of_thought|>" not in e.thinking and "<|end_of_solution|>" not in e.attempt for e in examples
    )
