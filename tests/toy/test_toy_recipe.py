"""The whole toy recipe end to end (slow tier): data -> curate -> train -> sweeps -> report, and the paper's
shapes on the trained model (docs/toy.md). About 15 minutes on 2 idle cores; twice that for the rerun."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")
pytest.importorskip("math_verify")
pytest.importorskip("datasketch")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(5400)]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from s1kit.cli import main

    out = tmp_path_factory.mktemp("toy") / "run"
    assert main(["toy", "run", "--out", str(out), "--seed", "0"]) == 0
    return out, json.loads((out / "summary.json").read_text())


def _acc(curve, at):
    return next(p["accuracy"] for p in curve["points"] if p["at"] == at)


def test_every_stage_left_its_output(toy):
    out, summary = toy
    for path in (
        "data/pool.jsonl",
        "curated/selected.jsonl",
        "curated/report.json",
        "model/model.safetensors",
        "model-tokens/model.safetensors",
        "model-steps/model.safetensors",
        "report.html",
        "commands.sh",
        "timings.json",
    ):
        assert (out / path).is_file(), path
    assert set(summary["methods"]) == {
        "budget_forcing",
        "token_conditional",
        "step_conditional",
        "rejection_sampling",
        "majority_vote",
    }
    for curves in summary["methods"].values():
        assert curves
        for c in curves.values():
            assert {"control", "scaling", "performance", "points"} <= set(c)


def test_budget_forcing_controls_and_scales(toy):
    _, summary = toy
    bf = summary["methods"]["budget_forcing"]
    for name, c in bf.items():
        assert c["control"] == 1.0, name
    main = bf["budget_forcing"]
    caps = sorted(int(p["at"]) for p in main["points"] if p["at"] != "∞")
    assert len(caps) >= 5
    assert main["scaling"] > 0
    assert _acc(main, str(caps[-1])) >= 3 * max(_acc(main, str(caps[0])), 1e-9)


def test_wait_raises_accuracy_at_the_natural_length(toy):
    # the paper's "Wait": with no cap, one ignored stop beats none (lazy early stops get resumed)
    _, summary = toy
    bf = summary["methods"]["budget_forcing"]
    assert _acc(bf["budget_forcing +1 Wait"], "∞") > _acc(bf["budget_forcing"], "∞")


def test_prompt_length_control_and_rejection_sampling_trail_budget_forcing(toy):
    _, summary = toy
    m = summary["methods"]
    bf = m["budget_forcing"]["budget_forcing"]
    assert m["token_conditional"]["token_conditional"]["control"] < bf["control"]
    assert m["rejection_sampling"]["rejection_sampling"]["scaling"] < bf["scaling"]


def test_a_rerun_with_the_same_seed_gives_the_same_accuracies(toy, tmp_path):
    from s1kit.cli import main

    out, summary = toy
    again = tmp_path / "again"
    assert main(["toy", "run", "--out", str(again), "--seed", "0", "--methods", "budget_forcing"]) == 0
    rerun = json.loads((again / "summary.json").read_text())
    first = summary["methods"]["budget_forcing"]
    second = rerun["methods"]["budget_forcing"]
    assert {k: [p["accuracy"] for p in c["points"]] for k, c in first.items()} == {
        k: [p["accuracy"] for p in c["points"]] for k, c in second.items()
    }
