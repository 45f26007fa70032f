"""`s1kit toy`: the stages are ordinary verbs, bad input is a one-line error, summary curves use the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s1kit.cli import build_parser, main
from s1kit.errors import S1kitError
from s1kit.evaluation import metrics
from s1kit.toy.run import ToyOptions, plan
from s1kit.toy.summary import MAIN_CURVE, checks, write_summary


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


def _record(pid: str, cap: int | None, ignore: int, tokens: int, correct: bool) -> dict:
    budget = {
        "max_thinking_tokens": cap,
        "min_thinking_tokens": 0,
        "num_ignore": ignore,
        "ignore_strings": ["Wait"],
    }
    return {
        "problem_id": pid,
        "setting": {
            "id": f"bf:{cap}:{ignore}",
            "label": str(cap),
            "budget": budget,
            "method": "budget_forcing",
        },
        "method": "budget_forcing",
        "sample": 0,
        "correct": correct,
        "extracted": "1" if correct else "2",
        "thinking_tokens": tokens,
    }


def test_checks_read_the_curves_the_metrics_compute():
    recs = [
        _record(f"p{i}", cap, ign, min(cap or 9, 4 + ign) + (i % 2), correct=(i < (cap or 8) // 2 + ign))
        for cap in (2, 4, 8, None)
        for ign in (0, 1)
        for i in range(4)
    ]
    by_method = metrics.curves_by_method(metrics.curves(recs))
    assert set(by_method["budget_forcing"]) == {"budget_forcing", "budget_forcing +1 Wait"}
    got = checks(by_method)
    main = by_method["budget_forcing"][MAIN_CURVE]
    assert got["caps"] == [2, 4, 8]
    assert got["bf_scaling"] == main["scaling"] and got["bf_control"] == main["control"]
    assert (
        got["bf_accuracy_smallest_cap"]
        == 100 * sum(r["correct"] for r in recs if r["setting"]["id"] == "bf:2:0") / 4
    )
    assert (
        got["bf_accuracy_largest_cap"]
        == 100 * sum(r["correct"] for r in recs if r["setting"]["id"] == "bf:8:0") / 4
    )
    assert got["natural_length_accuracy"] == {"budget_forcing": 100.0, "budget_forcing +1 Wait": 100.0}
    assert got["rejection_sampling_scaling"] is None


def test_summary_gathers_the_run_folders_curves_by_method(tmp_path):
    run = tmp_path / "runs" / "budget_forcing"
    run.mkdir(parents=True)
    curves = {
        "budget_forcing": {MAIN_CURVE: {"control": 1.0, "scaling": 5.0, "performance": 90.0, "points": []}}
    }
    (run / "summary.json").write_text(json.dumps({"curves": curves}))
    out = write_summary(tmp_path, ["budget_forcing"])
    assert out["methods"] == curves and json.loads((tmp_path / "summary.json").read_text()) == out
    with pytest.raises(S1kitError, match="eval-majority_vote"):
        write_summary(tmp_path, ["budget_forcing", "majority_vote"])
