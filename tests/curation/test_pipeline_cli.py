from __future__ import annotations

import json
from pathlib import Path

import pytest
from curation_paths import MALFORMED, TRACES, read_jsonl

from s1kit.cli import main
from s1kit.curation.pipeline import S1K_FIELDS, CurateOptions, run_pipeline
from s1kit.errors import S1kitError

NO_MODEL = ("ingest", "dedup", "decontam", "quality", "diversity")


def run(tmp: Path, name: str, **kw) -> dict:
    opts = CurateOptions(inputs=(str(TRACES),), out=tmp / name, size=kw.pop("size", 6), stages=NO_MODEL, **kw)
    return run_pipeline(opts)


def test_funnel_dropped_rows_and_report(tmp_path):
    report = run(tmp_path, "a", seed=3)
    assert [(f["stage"], f["rows"]) for f in report["funnel"]] == [
        ("ingest", 24), ("dedup", 22), ("decontam", 20), ("quality", 12), ("diversity", 6),
    ]  # fmt: skip
    assert report["seed"] == 3 and report["selected"] == 6
    assert report["decontamination"]["hits"] == {"aime24": 1, "math500": 1}
    assert report["dropped_by_reason"]["quality"]["broken_formatting"] == 2
    assert report["classification"] == {"keywords": 12}
    assert sum(v["rows"] for v in report["domains"].values()) == 6
    out = tmp_path / "a"
    selected = read_jsonl(out / "selected.jsonl")
    assert len(selected) == 6 and all(list(r) == list(S1K_FIELDS) for r in selected)
    assert all(r["metadata"]["id"].startswith("base-") for r in selected)
    dropped = read_jsonl(out / "dropped.jsonl")
    assert len(dropped) == 18 and {d["stage"] for d in dropped} == {
        "dedup",
        "decontam",
        "quality",
        "diversity",
    }
    assert sum(d["reason"] == "not_sampled" for d in dropped) == 12 - 6
    assert all(d["reason"] and d["id"] for d in dropped)
    for png in ("domains.png", "trace_lengths.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_input_options_and_seed_give_the_same_bytes(tmp_path):
    run(tmp_path, "a", seed=11, parquet=True)
    run(tmp_path, "b", seed=11, parquet=True)
    run(tmp_path, "c", seed=12)
    files = [
        "selected.jsonl",
        "selected.parquet",
        "dropped.jsonl",
        "report.json",
        "domains.png",
        "trace_lengths.png",
    ]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    ids = [r["metadata"]["id"] for r in read_jsonl(tmp_path / "a" / "selected.jsonl")]
    assert ids != [r["metadata"]["id"] for r in read_jsonl(tmp_path / "c" / "selected.jsonl")]


def test_parquet_matches_jsonl(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    run(tmp_path, "a", parquet=True)
    table = pq.read_table(tmp_path / "a" / "selected.parquet").to_pylist()
    jsonl = read_jsonl(tmp_path / "a" / "selected.jsonl")
    assert [t["question"] for t in table] == [r["question"] for r in jsonl]
    assert json.loads(table[0]["metadata"]) == jsonl[0]["metadata"]


def test_stage_subset_without_sampling_keeps_every_survivor(tmp_path):
    opts = CurateOptions(inputs=(str(TRACES),), out=tmp_path / "q", stages=("ingest", "quality"))
    report = run_pipeline(opts)
    assert [f["stage"] for f in report["funnel"]] == ["ingest", "quality"]
    assert report["selected"] == 24 - 8


def test_malformed_rows_are_counted_and_listed(tmp_path):
    opts = CurateOptions(inputs=(str(MALFORMED),), out=tmp_path / "m", stages=("ingest",))
    report = run_pipeline(opts)
    assert report["malformed_rows"] == 4 and report["selected"] == 2
    dropped = read_jsonl(tmp_path / "m" / "dropped.jsonl")
    assert [d["id"] for d in dropped] == [f"malformed.jsonl:{n}" for n in (2, 3, 4, 5)]
    assert dropped[0]["detail"].startswith("line 2: bad JSON")


def test_options_are_checked():
    with pytest.raises(S1kitError, match="unknown stage"):
        CurateOptions(inputs=("x",), out=Path("o"), stages=("ingest", "dedupe"))
    with pytest.raises(S1kitError, match="needs --solvers"):
        CurateOptions(inputs=("x",), out=Path("o"), size=3)
    with pytest.raises(S1kitError, match="needs --size"):
        CurateOptions(inputs=("x",), out=Path("o"), stages=("ingest", "diversity"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--map", "question=problme"], "--map names field(s) ['problme']"),
        (["--size", "500"], "--size 500 is larger than the 12 rows that survive"),
        (["--stages", "ingest,shuffle"], "unknown stage(s) ['shuffle']"),
        (["--solvers", "vllm:/x", "--stages", "ingest,difficulty"], "model spec 'vllm:/x' is invalid"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    args = ["curate", "--input", str(TRACES), "--out", str(tmp_path / "o"), "--stages", ",".join(NO_MODEL)]
    args += ["--size", "5"] if "--size" not in extra else []
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_empty_input_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["curate", "--input", str(empty), "--out", str(tmp_path / "o"), "--stages", "ingest"]) == 2
    assert "holds no usable rows" in capsys.readouterr().err


def test_cli_runs_and_prints_a_summary(tmp_path, capsys):
    args = ["curate", "--input", str(TRACES), "--out", str(tmp_path / "o"), "--size", "4", "--seed", "2"]
    assert main(args + ["--stages", ",".join(NO_MODEL), "--parquet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["selected"] == 4 and summary["funnel"][-1] == {
        "stage": "diversity",
        "rows": 4,
        "dropped": 8,
    }
    assert (tmp_path / "o" / "selected.parquet").is_file()
