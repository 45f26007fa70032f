"""``s1kit eval --method`` and ``s1kit report`` across methods: bad input, every method end to end."""

from __future__ import annotations

import json

import pytest

from s1kit.cli import main
from s1kit.evaluation.runner import EvalConfig, read_records, run_eval

HOT = ["--temperature", "0.8", "--seed", "1"]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--method", "token_conditional", "--budgets", "none"], "without 'none'"),
        (["--method", "rejection_sampling", "--budgets", "32"], "--temperature > 0"),
        (["--method", "majority_vote", "--budgets", "32"], "--samples N >= 2"),
        (["--method", "best_of_n", "--samples", "2", *HOT, "--scorer", "length"], "--scorer 'length'"),
        (["--method", "best_of_n", "--samples", "2", *HOT, "--scorer", "reward_model"], "--reward-model"),
        (["--method", "early_exit", "--budgets", "32", "--probe-every", "0"], "--probe-every is 0"),
        (["--method", "rejection_sampling", "--budgets", "32", *HOT, "--max-tries", "0"], "--max-tries is 0"),
    ],
)
def test_bad_method_options_are_one_line_and_exit_2(tmp_path, capsys, argv, match):
    code = main(["eval", "--task", "gsm8k", *argv, "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and match in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # refused before any model loads


METHODS = [
    ("budget_forcing", {}, 1, 0.0),
    ("early_exit", {"probe_every": 4, "probe_agree": 2, "probe_tokens": 4}, 1, 0.0),
    ("rejection_sampling", {"max_tries": 2}, 1, 0.8),
    ("best_of_n", {"scorers": ["mean_logprob", "self_certainty"]}, 2, 0.8),
    ("step_conditional", {"step_tokens": 4, "forcing": True}, 1, 0.0),
    ("class_conditional", {"length_class": "brief", "forcing": False}, 1, 0.0),
]


@pytest.mark.slow  # ~1-5 min on 2 shared cores: seven runs, each with its grading workers
def test_every_method_through_the_runner_then_one_report(tiny_engine, tmp_path, capsys):
    import s1kit.methods  # noqa: F401
    from s1kit.generation.generator import Generator

    gen = Generator(tiny_engine, "s1")
    runs = []
    for method, params, samples, temp in METHODS:
        cfg = EvalConfig(
            task="gsm8k", limit=2, budgets=(8, 12), max_answer_tokens=4, method=method, method_params=params,
            samples=samples, temperature=temp, seed=5, grading_workers=1,
        )  # fmt: skip
        out = tmp_path / method
        run_eval(cfg, out, generator=gen)
        records = read_records(out / "records.jsonl")
        assert len(records) == 2 * 2 * samples and {r["method"] for r in records} == {method}
        runs.append(str(out))
        if method == "step_conditional":
            assert all(r["thinking_tokens"] <= r["setting"]["budget"]["max_thinking_tokens"] for r in records)
        if method == "rejection_sampling":
            assert all(1 <= r["method_info"]["tries"] <= 2 for r in records)
        if method == "early_exit":
            assert all(r["method_info"]["n_probes"] >= 1 for r in records)
    capsys.readouterr()
    assert main(["report", *runs, "--out", str(tmp_path / "rep")]) == 0
    printed = capsys.readouterr().out
    table = printed.split("== methods")[1]
    for label in ("budget_forcing", "early_exit (K=4, M=2)", "rejection_sampling", "best-of-N mean_logprob",
                  "weighted vote self_certainty", "step_conditional + BF", "class_conditional (brief)"):  # fmt: skip
        assert label in table
    assert (tmp_path / "rep" / "methods.png").stat().st_size > 0
    # runs are repeatable: the same config again regenerates identical records
    cfg = EvalConfig(task="gsm8k", limit=2, budgets=(8, 12), max_answer_tokens=4, method="rejection_sampling",
                     method_params={"max_tries": 2}, temperature=0.8, seed=5, grading_workers=1)  # fmt: skip
    run_eval(cfg, tmp_path / "again", generator=gen)
    a, b = (read_records(tmp_path / d / "records.jsonl") for d in ("rejection_sampling", "again"))
    assert [r["thinking"] for r in a] == [r["thinking"] for r in b]


@pytest.mark.slow
def test_methods_end_to_end_on_the_embedded_model(tmp_path, capsys):
    pytest.importorskip("llama_cpp")
    base = ["eval", "--task", "gsm8k", "--limit", "2", "--budgets", "24", "--max-answer-tokens", "16",
            "--n-ctx", "1024", "--no-progress"]  # fmt: skip
    runs = {
        "bf": [],
        "ee": ["--method", "early_exit", "--probe-every", "8", "--probe-agree", "2"],
        "rs": ["--method", "rejection_sampling", *HOT, "--max-tries", "2"],
        "mv": ["--method", "majority_vote", "--samples", "2", *HOT],
        "tc": ["--method", "token_conditional", "--forcing"],
    }
    for name, extra in runs.items():
        assert main([*base, *extra, "--out", str(tmp_path / name)]) == 0
    ee = [json.loads(x) for x in (tmp_path / "ee" / "records.jsonl").read_text().splitlines()]
    assert all(r["method_info"]["probes"] and r["thinking_tokens"] <= 24 for r in ee)
    capsys.readouterr()
    assert main(["report", *(str(tmp_path / n) for n in runs), "--out", str(tmp_path / "rep")]) == 0
    table = capsys.readouterr().out.split("== methods")[1]
    assert all(f"{n}: " in table for n in runs) and "majority_vote maj @24" in table


def test_report_draws_methods_from_run_folders(tmp_path, capsys):
    from tests.methods.test_compare import rec

    for name, method, params in (
        ("a", "budget_forcing", {}),
        ("b", "early_exit", {"probe_every": 8, "probe_agree": 2}),
    ):
        d = tmp_path / name
        d.mkdir()
        rows = [rec(method, cap, pid, 0, pid == "p1" and cap == 64, cap - 4, params=params)
                for cap in (32, 64) for pid in ("p1", "p2")]  # fmt: skip
        (d / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep")]) == 0
    table = capsys.readouterr().out.split("== methods")[1]
    row = next(line for line in table.splitlines() if line.startswith("b: early_exit (K=8, M=2)"))
    assert row.split()[-4:] == ["100%", "1562.5", "50.0%", "28-60"]  # slope: 50 points / 32 tokens
    assert (tmp_path / "rep" / "methods.png").is_file() and (tmp_path / "rep" / "methods_table.txt").is_file()
