from __future__ import annotations

import json

import pytest
from curation_paths import read_jsonl

from s1kit.curation.difficulty import DifficultyConfig, difficulty
from s1kit.curation.ingest import read_file
from s1kit.curation.records import Row
from s1kit.curation.specs import JsonlCache, ModelRef, parse_spec, parse_specs
from s1kit.curation.traces import TracesConfig, generate_traces
from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget

TINY = ModelRef("tiny", "hf", "tiny")
SMALL = DifficultyConfig(budget=Budget(max_thinking_tokens=8, max_answer_tokens=8), batch_size=2)
ROWS = [
    Row("a", "What is 2+3?", "5", thinking="so 5"),
    Row("b", "What is 6*7?", "42", thinking="so forty-two"),
]


def test_parse_spec():
    assert parse_spec("hf:/m/qwen") == ModelRef("hf:/m/qwen", "hf", "/m/qwen")
    assert parse_spec("openai:http://127.0.0.1:8000/v1").model == "http://127.0.0.1:8000/v1"
    assert parse_spec("llamacpp:/m/x.gguf").backend == "llamacpp"
    assert parse_spec("default").backend == "auto"
    assert [r.backend for r in parse_specs("hf:/a,default")] == ["hf", "auto"]
    for bad in ("", "hf:", "vllm:/x", "/no/such/model"):
        with pytest.raises(S1kitError):
            parse_spec(bad)
    assert parse_spec("openai:http://h:1/v1").slug == "openai_http_h_1_v1"


def test_a_random_model_solves_nothing_and_results_are_cached(tiny_generator, tmp_path):
    kept, dropped = difficulty(
        ROWS, [TINY], tmp_path, SMALL, loaded={"tiny": tiny_generator}, length=lambda t: len(t.split())
    )
    assert [r.id for r in kept] == ["a", "b"] and dropped == []
    assert [r.trace_tokens for r in kept] == [2, 2]
    cache = tmp_path / "cache" / "solver-tiny.jsonl"
    recs = [json.loads(line) for line in cache.read_text().splitlines()]
    assert {r["uid"] for r in recs} == {ROWS[0].uid, ROWS[1].uid}
    assert all(r["correct"] is False and r["thinking_tokens"] <= 8 for r in recs)
    # resumed: everything is cached, so the (unloadable) solver is never loaded
    kept2, _ = difficulty(ROWS, [ModelRef("tiny", "hf", "/nonexistent")], tmp_path, SMALL)
    assert [r.id for r in kept2] == ["a", "b"]


def test_a_question_any_solver_answers_is_dropped(tmp_path):
    # solver results written by an earlier (interrupted) run: solver 1 got "b" right
    JsonlCache(tmp_path / "cache" / "solver-s1.jsonl").add(
        [{"uid": ROWS[0].uid, "correct": False}, {"uid": ROWS[1].uid, "correct": True}]
    )
    JsonlCache(tmp_path / "cache" / "solver-s2.jsonl").add(
        [{"uid": ROWS[0].uid, "correct": False}, {"uid": ROWS[1].uid, "correct": False}]
    )
    solvers = [ModelRef("s1", "hf", "/x"), ModelRef("s2", "hf", "/y")]
    kept, dropped = difficulty(ROWS, solvers, tmp_path, SMALL)
    assert [r.id for r in kept] == ["a"]
    assert (dropped[0].id, dropped[0].reason, dropped[0].detail) == (
        "b",
        "solved",
        "answered correctly by s1",
    )


def test_cache_ignores_a_torn_last_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"uid": "u1", "correct": true}\n{"uid": "u2", "corr')
    cache = JsonlCache(p)
    assert "u1" in cache and "u2" not in cache
    cache.add([{"uid": "u3", "correct": False}])
    assert [json.loads(line)["uid"] for line in p.read_text().splitlines()] == ["u1", "u3"]


def test_traces_are_written_in_the_s1k_schema_and_resume(tiny_generator, tmp_path):
    out = tmp_path / "traces.jsonl"
    config = TracesConfig(budget=Budget(max_thinking_tokens=6, max_answer_tokens=4), batch_size=2)
    rows = [Row(f"q{i}", f"What is {i} plus {i}?", str(2 * i), source="toy") for i in range(3)]
    assert generate_traces(rows[:2], tiny_generator, out, config, teacher="tiny") == (2, 0)
    assert generate_traces(rows, tiny_generator, out, config, teacher="tiny") == (1, 2)
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == ["q0", "q1", "q2"]
    first = recs[0]
    assert list(first) == [
        "id", "question", "answer", "solution", "cot_type", "source_type", "metadata",
        "thinking_trajectories", "attempt",
    ]  # fmt: skip
    assert first["metadata"]["teacher"] == "tiny" and first["metadata"]["thinking_tokens"] <= 6
    assert first["metadata"]["budget"]["max_thinking_tokens"] == 6
    assert first["source_type"] == "toy" and first["answer"] == "0"
    # the traces file is a valid curate input
    back = read_file(out).rows
    assert [r.id for r in back] == ["q0", "q1", "q2"] and back[2].gold == "4"
    assert back[0].thinking == first["thinking_trajectories"][0]


def test_traces_cli_with_an_hf_folder_teacher_resumes(tiny_generator, smol_tokenizer, tmp_path, capsys):
    from curation_paths import TRACES

    from s1kit.cli import main

    folder = tmp_path / "tiny"
    tiny_generator.engine.model.save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    out = tmp_path / "traces.jsonl"
    args = ["traces", "--input", str(TRACES), "--teacher", f"hf:{folder}", "--out", str(out), "--limit", "3"]
    args += ["--max-thinking-tokens", "4", "--max-answer-tokens", "4", "--batch-size", "2"]
    assert main(args) == 0
    assert "wrote 3 trace(s)" in capsys.readouterr().err
    assert [r["id"] for r in read_jsonl(out)] == ["base-0", "base-1", "base-2"]
    assert main(args) == 0
    assert "wrote 0 trace(s) to" in capsys.readouterr().err
    assert main(["traces", "--input", str(TRACES), "--teacher", "vllm:x", "--out", str(out)]) == 2


def test_engines_without_step_access_use_threads_and_free_form_classification(tiny_generator, tmp_path):
    """The path taken over HTTP servers: no decode session (max_batch 0), "generate until a stop" only."""
    from s1kit.backends.hf import HFEngine
    from s1kit.curation.diversity import classify, msc_titles
    from s1kit.generation.generator import Generator

    eng = tiny_generator.engine
    engine = HFEngine.from_objects(eng.model, eng.tokenizer.tok, model_name="tiny")
    engine.max_batch = 0  # an engine without step access, as the openai backend is (0 is not a user option)
    gen = Generator(engine, "s1")
    rows = [Row(f"q{i}", f"What is {i} times {i}?", str(i * i)) for i in range(3)]
    out = tmp_path / "t.jsonl"
    config = TracesConfig(budget=Budget(max_thinking_tokens=4, max_answer_tokens=4), workers=3)
    assert generate_traces(rows, gen, out, config) == (3, 0)
    assert [r["id"] for r in read_jsonl(out)] == ["q0", "q1", "q2"]  # input order despite threads
    classified, how = classify(rows, ModelRef("tiny", "hf", "tiny"), tmp_path, loaded=gen)
    assert all(r.domain in msc_titles() for r in classified)
    assert set(how) <= {"model", "fallback"} and sum(how.values()) == 3
