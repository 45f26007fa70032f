"""Tree search on a scripted model: the sure step is kept, the unsure one pruned, budgets hold per path."""

from __future__ import annotations

import pytest
from tests.conftest import tiny_llama
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.methods.tree_search import tree_search

WARM = SamplingParams(temperature=0.1, seed=1)  # the scripted winner is 12+ logits ahead: deterministic


def _run(gen, params, budget=None, n=1):
    budget = budget or Budget(max_thinking_tokens=50)
    s = Setting("tree_search", budget, params)
    prompts = [gen.render(f"q{i}") for i in range(n)]
    return tree_search(gen, prompts, s, [WARM] * n, EvalConfig(task="gsm8k"))


@pytest.mark.parametrize("scorer", ["mean_logprob", "self_certainty"])
def test_keeps_the_sure_step_and_prunes_the_unsure_one(smol_tokenizer, scorer):
    long = " alpha beta gamma delta epsilon zeta eta theta iota"
    step = smol_tokenizer.encode(long)[:6]
    scripts = [
        Script(long, unsure=(0, 99)),  # round 1, candidate 0: unsure (pruned)
        Script(long),  # round 1, candidate 1: sure (kept)
        Script(" the end", " 5", unsure=(0, 99)),  # round 2 from the kept path: finishes, unsure
        Script(" the end", " 8"),  # round 2: finishes, sure
    ]
    gen = scripted_generator(smol_tokenizer, scripts)
    (c,) = _run(gen, {"beam_width": 1, "expansion": 2, "step_tokens": 6, "scorer": scorer})
    info = c.info
    assert info["n_rounds"] == 2 and info["branches"] == 4 and info["pruned"] == 2
    assert [[x["kept"] for x in r] for r in info["rounds"]] == [[True, False], [True, False]]
    assert "8" in c.answer
    end = len(smol_tokenizer.encode(" the end"))
    assert c.thinking_tokens == 6 + end and c.thinking.startswith(smol_tokenizer.decode(step))
    assert info["compute_tokens"] == 2 * 6 + 2 * end
    # round 2 re-read the kept path: both of its prompts end with the sure step's text
    assert all(p.endswith(smol_tokenizer.decode(step)) for p in gen.engine.counters.prompts[2:])


def test_every_path_obeys_the_budget_on_a_tiny_model(smol_tokenizer):
    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    engine = HFEngine.from_objects(tiny_llama(smol_tokenizer, seed=4), smol_tokenizer, max_batch=8)
    gen = Generator(engine, "s1")
    budget = Budget(max_thinking_tokens=20, max_answer_tokens=3)
    outs = _run(gen, {"beam_width": 2, "expansion": 2, "step_tokens": 6}, budget, n=2)
    for c in outs:
        info = c.info
        assert c.thinking_tokens <= 20 and c.answer_tokens <= 3
        assert info["branches"] == sum(len(r) for r in info["rounds"]) >= 4
        assert info["pruned"] == sum(not x["kept"] for r in info["rounds"] for x in r)
        assert info["compute_tokens"] >= c.thinking_tokens
        assert info["n_rounds"] <= 20 // 1 + 1
        assert all(e.position <= (3 if e.kind == "answer_limit" else 20) for e in c.events)


def test_refusals(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(" a")] * 4)
    with pytest.raises(S1kitError, match="budgets"):
        _run(gen, {}, Budget())
    with pytest.raises(S1kitError, match="temperature"):
        tree_search(
            gen,
            [gen.render("q")],
            Setting("tree_search", Budget(max_thinking_tokens=9), {"expansion": 2}),
            [SamplingParams()],
            EvalConfig(task="gsm8k"),
        )
    with pytest.raises(S1kitError, match="reward-model"):
        _run(gen, {"scorer": "reward_model"})


def test_a_torch_row_gives_the_numpy_step_stats():
    import numpy as np
    import torch

    from s1kit.methods.parallel import step_stats
    from s1kit.methods.tree_search import _stats

    x = np.random.default_rng(1).normal(size=300).astype(np.float32)
    assert _stats(torch.from_numpy(x), 7, 256) == pytest.approx(step_stats(x, 7, 256), rel=1e-5)
