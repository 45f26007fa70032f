from __future__ import annotations

import json

import pytest
from curation_paths import MALFORMED, POOL, SHARED_POOL, TRACES

from s1kit.curation.ingest import ingest, parse_mapping, read_file
from s1kit.curation.pool import split_skythought
from s1kit.errors import S1kitError


def test_malformed_rows_are_set_aside_with_line_and_reason():
    res = read_file(MALFORMED)
    assert [r.id for r in res.rows] == ["malformed:1", "malformed:6"]
    assert res.rows[1].answer == "3"  # 3.0 -> "3"
    lines = {m.line: m.reason for m in res.malformed}
    assert sorted(lines) == [2, 3, 4, 5]
    assert lines[2].startswith("bad JSON")
    assert "'problem' is int" in lines[3]
    assert "missing field 'question'" in lines[4]
    assert "'answer' has type dict" in lines[5]


def test_s1k_schema_is_read_back_with_ids_traces_and_answers():
    rows = read_file(TRACES).rows
    assert len(rows) == 24
    by_id = {r.id: r for r in rows}
    assert by_id["rule-empty"].thinking == ""
    assert by_id["base-0"].thinking.startswith("Let me work through this.")
    assert by_id["base-0"].attempt.startswith("The final answer is")
    assert all(r.source in ("math_train", "omni_math", "aime_csv", "agieval_math") for r in rows)


def test_field_mapping(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text(json.dumps({"prob": "What is 1+1?", "sol": "It is \\boxed{2}."}) + "\n")
    rows = read_file(p, parse_mapping("question=prob,solution=sol")).rows
    assert rows[0].question == "What is 1+1?" and rows[0].gold == "2"


@pytest.mark.parametrize(
    "text, message",
    [
        ("question", "expected FIELD=INPUT_FIELD"),
        ("colour=problem", "is unknown"),
        ("question=", "FIELD=INPUT"),
    ],
)
def test_bad_mapping_syntax(text, message):
    with pytest.raises(S1kitError, match=message):
        parse_mapping(text)


def test_mapping_to_a_missing_field_is_an_error(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text(json.dumps({"problem": "What is 1+1?"}) + "\n")
    with pytest.raises(S1kitError, match="no row of .* has"):
        read_file(p, {"question": "problme"})


def test_empty_and_missing_inputs(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(S1kitError, match="no usable rows"):
        ingest([empty])
    with pytest.raises(S1kitError, match="not found"):
        ingest([tmp_path / "nope.jsonl"])
    odd = tmp_path / "x.txt"
    odd.write_text("hello")
    with pytest.raises(S1kitError, match="unknown input format"):
        ingest([odd])


def test_parquet_and_datasets_folder(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.table({"problem": ["What is 2+3?", "What is 7*6?"], "answer": ["5", "42"]})
    pq.write_table(table, tmp_path / "p.parquet")
    rows = ingest([tmp_path / "p.parquet"]).rows
    assert [(r.question, r.answer) for r in rows] == [("What is 2+3?", "5"), ("What is 7*6?", "42")]
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"question": ["Is 7 prime?"], "answer": ["yes"]}).save_to_disk(tmp_path / "ds")
    rows = ingest([tmp_path / "ds"]).rows
    assert rows[0].question == "Is 7 prime?" and rows[0].id == "ds:1"


def test_pool_folder_is_read_with_its_own_field_maps():
    res = ingest([POOL])
    assert res.malformed == []
    by_source: dict[str, list] = {}
    for r in res.rows:
        by_source.setdefault(r.source, []).append(r)
    # the DO_NOT_TRAIN trace file is skipped
    assert not any("DO_NOT_TRAIN" in s for s in by_source)
    aqua = by_source["agieval/aqua-rat"]
    assert aqua[0].cot_type == "multiple_choice" and aqua[0].gold == "A" and "(A)" in aqua[0].question
    olymp = by_source["olympiadbench/olympiadbench_oe_to_maths_en_qwen"][0]
    assert olymp.gold and olymp.solution
    tq = by_source["theoremqa/theoremqa_test"]
    assert tq[0].gold == "11760" and tq[1].metadata.get("picture")
    sky = by_source["traces_skythought/sky_t1_math_correct_5k_14b__amc23"]
    assert sky[0].attempt and "\\boxed{4}" in sky[0].attempt
    assert sky[1].attempt == ""  # the trace never ended its thinking
    aime = by_source["aime/AIME_Dataset_1983_2024"]
    assert [r.gold for r in aime] == ["60", "65", "73"]


def test_split_skythought():
    t, a = split_skythought(
        "<|begin_of_thought|>\nthink\n<|end_of_thought|><|begin_of_solution|>ans<|end_of_solution|>"
    )
    assert (t, a) == ("think", "ans")
    assert split_skythought("<|begin_of_thought|>cut off") == ("cut off", "")


@pytest.mark.skipif(not SHARED_POOL.is_dir(), reason="the shared pool is not in this checkout")
def test_whole_shared_pool_reads_cleanly():
    res = ingest([SHARED_POOL])
    assert res.malformed == []
    # 26,330 question rows + 312 usable-format trace rows, minus nothing: every file is read
    assert len(res.rows) == 26_330 + 272 + 40
