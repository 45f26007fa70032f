"""The methods that followed s1, end to end on the embedded model (slow tier): run folders, the
comparison plot and table, and the HTML report showing each method's events."""

from __future__ import annotations

import json

import pytest

from s1kit.evaluation.runner import EvalConfig, run_eval

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # seven runs on a shared 2-core box

BUDGET = 32
CASES = {
    "bf": ("budget_forcing", {}, 0.0),
    "msg": ("budget_forcing", {}, 0.0),
    "nowait": ("nowait", {}, 0.0),
    "alphaone": ("alphaone", {"alpha": 1.0, "p0": 1.0, "schedule": "linear"}, 0.0),
    "deepconf": (
        "deepconf",
        {"mode": "online", "traces": 4, "warmup": 2, "window": 8, "top_k": 20, "keep": 0.5},
        0.7,
    ),
    "tree": (
        "tree_search",
        {"beam_width": 2, "expansion": 2, "step_tokens": 12, "scorer": "mean_logprob"},
        0.7,
    ),
    "dynasor": (
        "early_exit",
        {"probe_every": 8, "probe_agree": 2, "probe_tokens": 12, "probe_text": "dynasor"},
        0.0,
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    from s1kit.backends import load_engine
    from s1kit.generation.generator import Generator

    # one thread: on a shared, oversubscribed box more threads spin (53 s against 4 s for one prompt)
    gen = Generator(load_engine("default", "llamacpp", n_ctx=2048, n_threads=1), "r1")
    root = tmp_path_factory.mktemp("after_s1")
    out = {}
    for name, (method, params, temp) in CASES.items():
        cfg = EvalConfig(
            task="gsm8k",
            limit=2,
            budgets=(BUDGET,),
            method=method,
            method_params=params,
            temperature=temp,
            max_answer_tokens=16,
            budget_message=" Time is up, so I answer now." if name == "msg" else "",
            grading_workers=1,
        )
        run_eval(cfg, root / name, generator=gen)
        out[name] = [json.loads(line) for line in (root / name / "records.jsonl").read_text().splitlines()]
    return root, out


def test_every_method_writes_records_with_its_compute(runs):
    _, recs = runs
    for name, rs in recs.items():
        assert len(rs) == 2, name
        for r in rs:
            assert r["thinking_tokens"] <= BUDGET, name
    assert all(r["events"][0]["kind"] == "budget_message" for r in recs["msg"] if r["forced_end"])
    for r in recs["deepconf"]:
        info = r["method_info"]
        assert len(info["traces"]) == info["n_traces"] and info["max_traces"] == 4
        assert info["n_traces"] == 4 or info["consensus_share"] >= info["consensus"]  # drawn all, or agreed
        assert info["compute_tokens"] == sum(t["thinking_tokens"] for t in info["traces"])
    for r in recs["tree"]:
        info = r["method_info"]
        assert info["branches"] >= 2 and info["compute_tokens"] >= r["thinking_tokens"]
    for r in recs["nowait"]:
        assert r["method_info"]["masked_tokens"] > 0
        assert " Wait" not in r["thinking"] and " wait" not in r["thinking"]
    for r in recs["dynasor"]:
        assert r["method_info"]["probe_text"].startswith("... Oh, I suddenly")


def test_comparison_and_report_show_every_method(runs, tmp_path):
    from s1kit.methods.compare import write_comparison
    from s1kit.report.html import build_data

    root, recs = runs
    text = write_comparison(recs, tmp_path)
    assert (tmp_path / "methods.png").stat().st_size > 0
    for name in CASES:
        assert f"{name}: " in text
    data = build_data([root / n for n in CASES], questions=False)
    by_method = {}
    for smp in data["samples"]:
        by_method.setdefault(data["runs"][smp["run"]]["name"], []).append(smp)
    assert all(s["mi"] and "traces" in s["mi"]["note"] for s in by_method["deepconf"])
    assert all(s["mi"]["rows"] for s in by_method["tree"])
    assert all("nowait" in s["mi"]["note"] for s in by_method["nowait"])
