"""`s1kit toy`: the stages are ordinary verbs, bad input is a one-line error, summary curves use the metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from s1kit.cli import build_parser, main
from s1kit.evaluation import metrics
from s1kit.toy.run import ToyOptions, plan
from s1kit.toy.summary import checks, method_curves


def test_every_stage_is_an_ordinary_verb_with_valid_flags(tmp_path):
    opts = ToyOptions(out=tmp_path)
    stages = plan(opts)
    names = [s.name for s in stages]
    assert names[:4] == ["data", "solver", "curate", "train"] and names[-2:] == ["report", "summary"]
    assert [n for n in names if n.startswith("eval-")] == [f"eval-{m}" for m in opts.methods]
    parser = build_parser()
    for s in stages:
        if s.argv:
            args = parser.parse_args(list(s.argv))
            assert args.command == s.argv[0]
    from s1kit.cli.eval import config_from_args

    for s in stages:
        if s.argv and s.argv[0] == "eval":
            config = config_from_args(parser.parse_args(list(s.argv)))
            assert config.task == "toy" and config.backend == "hf"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["toy", "run", "--out", "x", "--pool", "0"], "--pool is 0"),
        (["toy", "run", "--out", "x", "--methods", "beam_search"], "--methods"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not Path(tmp_path, "x").exists()


def _record(pid: str, cap: int | None, ignore: int, tokens: int, correct: bool, sample: int = 0) -> dict:
    budget = {"max_thinking_tokens": cap, "min_thinking_tokens": 0, "num_ignore": ignore}
    return {
        "problem_id": pid,
        "setting": {
            "id": f"bf:{cap}:{ignore}",
            "label": str(cap),
            "budget": budget,
            "method": "budget_forcing",
        },
        "sample": sample,
        "correct": correct,
        "extracted": "1" if correct else "2",
        "thinking_tokens": tokens,
    }


def test_budget_forcing_curves_are_per_ignore_count_and_use_the_metrics():
    recs = [
        _record(f"p{i}", cap, ign, min(cap or 9, 4 + ign) + (i % 2), correct=(i < (cap or 8) // 2))
        for cap in (2, 4, 8, None)
        for ign in (0, 1)
        for i in range(4)
    ]
    curves = method_curves("budget_forcing", recs)
    assert set(curves) == {"ignore=0", "ignore=1"}
    c = curves["ignore=1"]
    assert [p["cap"] for p in c["points"]] == [2, 4, 8, None]
    subset = [r for r in recs if r["setting"]["budget"]["num_ignore"] == 1]
    pts = [(p["thinking_tokens"], p["accuracy"]) for p in c["points"]]
    assert c["scaling"] == pytest.approx(metrics.scaling(pts), abs=1e-3)
    assert c["control"] == pytest.approx(metrics.control(subset))
    assert c["performance"] == max(p for _, p in pts)
    summary = checks({"budget_forcing": curves})
    assert summary["bf_accuracy_smallest_cap"] == c["points"][0]["accuracy"]
    assert summary["natural_length_accuracy_by_ignore"] == {
        k: v["points"][-1]["accuracy"] for k, v in curves.items()
    }


def test_majority_vote_compute_is_k_times_one_sample():
    recs = [
        _record(f"p{i}", None, 0, 10, correct=(s + i) % 3 == 0, sample=s) for i in range(3) for s in range(4)
    ]
    curve = method_curves("majority_vote", recs)["maj@k"]
    assert [p["k"] for p in curve["points"]] == [1, 2, 4]
    assert [p["thinking_tokens"] for p in curve["points"]] == [10, 20, 40]
    maj = metrics.parallel_curves(recs)["maj@k"]
    assert [p["accuracy"] for p in curve["points"]] == [round(100 * maj[k], 2) for k in (1, 2, 4)]
