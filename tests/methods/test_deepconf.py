"""DeepConf on scripted confidence sequences: online stops where the window first drops below the
threshold, offline keeps the confident minority."""

from __future__ import annotations

import pytest
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.methods.deepconf import deepconf, lowest_group, token_confidence

THINKING = " ".join(f"w{i}" for i in range(30))
WARM = SamplingParams(temperature=0.1, seed=3)  # the scripted winner is 12+ logits ahead: deterministic


def _run(gen, params, n=1, budget=None):
    budget = budget or Budget(max_thinking_tokens=200)
    prompts = [gen.render(f"q{i}") for i in range(n)]
    return deepconf(gen, prompts, Setting("deepconf", budget, params), [WARM] * n, EvalConfig(task="gsm8k"))


def test_online_stops_a_trace_when_its_window_falls_below_the_threshold(smol_tokenizer):
    # 4 confident warm-up traces answering 7; then one trace unsure from thinking position 10 on
    # (stopped there: its window of 4 first holds an unsure step after the 10th token), one confident.
    scripts = [Script(THINKING, " 7") for _ in range(4)]
    scripts += [Script(THINKING, " 9", unsure=(10, 99)), Script(THINKING, " 7")]
    gen = scripted_generator(smol_tokenizer, scripts)
    params = {"mode": "online", "traces": 6, "warmup": 4, "window": 4, "top_k": 5, "keep": 0.5}
    (c,) = _run(gen, {**params, "consensus": 0})  # the warm-up agrees: with consensus on, it would stop
    info = c.info
    stopped = [t for t in info["traces"] if t["stopped"]]
    assert len(stopped) == 1 and stopped[0]["thinking_tokens"] == 10
    assert info["n_stopped"] == 1 and stopped[0]["answer"] is None and not stopped[0]["kept"]
    assert info["voted"] == "7" and "7" in c.answer
    full = len(smol_tokenizer.encode(THINKING))
    assert info["compute_tokens"] == 5 * full + 10
    assert info["threshold"] == pytest.approx(info["traces"][0]["confidence"])


def test_online_draws_no_more_traces_once_the_vote_has_consensus(smol_tokenizer):
    params = {"mode": "online", "traces": 10, "warmup": 3, "window": 4, "top_k": 5, "keep": 1.0, "chunk": 2}
    # a unanimous warm-up: consensus at once, no trace after it
    gen = scripted_generator(smol_tokenizer, [Script(THINKING, " 7") for _ in range(10)])
    (c,) = _run(gen, params)
    assert c.info["n_traces"] == 3 and c.info["max_traces"] == 10 and c.info["consensus_share"] == 1.0
    # 2 of 3 warm-up traces say 7: traces come 2 at a time until 7 holds 80% of the vote (4 of 5 say 7)
    scripts = [Script(THINKING, " 7"), Script(THINKING, " 9"), Script(THINKING, " 7")]
    scripts += [Script(THINKING, " 7") for _ in range(7)]
    gen = scripted_generator(smol_tokenizer, scripts)
    (c,) = _run(gen, {**params, "consensus": 0.8})
    assert c.info["n_traces"] == 5 and c.info["consensus_share"] == pytest.approx(0.8)
    assert c.info["voted"] == "7"
    # consensus 0: every trace is drawn
    gen = scripted_generator(smol_tokenizer, scripts)
    (c,) = _run(gen, {**params, "consensus": 0})
    assert c.info["n_traces"] == 10


def test_offline_votes_with_the_most_confident_traces_only(smol_tokenizer):
    # three unsure traces say 5, one confident trace says 8: majority 5, DeepConf (keep 25%) 8
    scripts = [Script(THINKING, " 5", unsure=(0, 99)) for _ in range(3)] + [Script(THINKING, " 8")]
    gen = scripted_generator(smol_tokenizer, scripts)
    params = {"mode": "offline", "traces": 4, "window": 8, "top_k": 5, "keep": 0.25}
    (c,) = _run(gen, params)
    assert c.info["voted"] == "8" and c.info["chosen"] == 3 and "8" in c.answer
    assert [t["kept"] for t in c.info["traces"]] == [False, False, False, True]
    assert c.info["n_stopped"] == 0
    # keeping everything, the vote is weighted: one confident trace outweighs three unsure ones
    gen = scripted_generator(smol_tokenizer, scripts)
    (c,) = _run(gen, {**params, "keep": 1.0})
    assert c.info["n_kept"] == 4 and c.info["voted"] == "8"


def test_confidence_of_a_peaked_and_a_flat_step():
    import numpy as np

    peaked = np.array([0.0] + [-1e4] * 9)
    flat = np.zeros(10)
    assert token_confidence(flat, 3, 10) == pytest.approx(np.log(10))
    assert token_confidence(peaked, 3, 10) > 6000
    assert lowest_group([5, 5, 1, 1, 5], 2) == 1 and lowest_group([4, 2], 8) == 3


def test_refusals(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)] * 4)
    s = Setting("deepconf", Budget(max_thinking_tokens=10), {"traces": 2, "warmup": 1})
    with pytest.raises(S1kitError, match="temperature"):
        deepconf(gen, [gen.render("q")], s, [SamplingParams()], EvalConfig(task="gsm8k"))
    with pytest.raises(S1kitError, match="warm-up"):
        _run(gen, {"traces": 2, "warmup": 2})
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)], max_batch=0)
    with pytest.raises(S1kitError, match="step-level decoding"):
        _run(gen, {"traces": 2, "warmup": 1})


def test_a_torch_row_gives_the_numpy_confidence():
    import numpy as np
    import torch

    x = np.random.default_rng(0).normal(size=300).astype(np.float32)
    assert token_confidence(torch.from_numpy(x), 20, 256) == pytest.approx(
        token_confidence(x, 20, 256), rel=1e-5
    )
