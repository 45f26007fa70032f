"""Parallel scaling: votes and selections over fixed records, scorers as pure functions, re-scoring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tests.conftest import tiny_llama
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.at_k import k_curve, samples_by_setting, select_at_k, vote_weight
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.grading.vote import vote
from s1kit.methods import parallel
from s1kit.methods.parallel import TokenStats


def rec(pid, sample, correct, extracted, think=100, **scores):
    return {
        "problem_id": pid,
        "sample": sample,
        "correct": correct,
        "extracted": extracted,
        "thinking_tokens": think,
        "method_info": {"scores": scores},
    }


# one problem, 4 samples: answers A(correct), B, B, A(correct)
P = [rec("p", 0, True, "1", s=0.9), rec("p", 1, False, "2", s=0.1), rec("p", 2, False, "2", s=0.2),
     rec("p", 3, True, "1", s=0.3)]  # fmt: skip


def one(records):
    (problem,) = samples_by_setting({"s": records})["s"]  # plain numbers: clustered without any worker
    return problem


def test_votes_cluster_without_the_gold():
    assert one(P).labels == (0, 1, 1, 0)
    assert vote(["1", "2", "2", None], extract=False) == "2"
    assert vote(["1", "2"], extract=False) == "1"  # tie: the cluster whose first voter comes first
    assert vote([None, None]) is None
    assert vote(["1", "2", "2"], weights=[0.9, 0.3, 0.3], extract=False) == "1"


def test_maj_at_k_by_hand():
    # k=1: 2 of 4 correct -> 0.5. k=2: 6 pairs; {0,3} correct (1), {1,2} wrong (0), 4 mixed ties (0.5) -> 0.5
    # k=4: 2-2 tie -> 0.5.
    assert select_at_k(one(P), 1, "majority") == 0.5
    assert select_at_k(one(P), 2, "majority") == 0.5
    assert select_at_k(one(P), 4, "majority") == 0.5


def test_best_of_k_and_weighted_by_hand():
    # best-of-4 picks sample 0 (0.9): correct. best-of-2 over 6 pairs: the best of each pair is correct
    # unless the pair is {1,2}: 5/6.
    assert select_at_k(one(P), 4, "best", "s") == 1.0
    assert select_at_k(one(P), 2, "best", "s") == pytest.approx(5 / 6)
    # weighted vote at k=4: correct 0.9+0.3=1.2 beats wrong 0.1+0.2=0.3
    assert select_at_k(one(P), 4, "weighted", "s") == 1.0


def test_curve_compute_is_k_times_mean_sample_tokens():
    rs = P + [rec("q", i, i == 0, str(i), think=200, s=1.0 - i / 10) for i in range(4)]
    pts = parallel.curve(rs, "majority")
    assert [k for k, _, _ in pts] == [1, 2, 4]
    assert [c for _, c, _ in pts] == [150.0, 300.0, 600.0]
    assert pts[0][2] == pytest.approx(100 * (0.5 + 0.25) / 2)
    assert pts == k_curve(samples_by_setting({"s": rs})["s"], "majority")  # one implementation


def test_scorers_on_fixed_inputs():
    st = TokenStats(logprobs=(-1.0, -3.0), certainties=(2.0, 4.0))
    assert parallel.mean_logprob(st) == -2.0 and parallel.self_certainty(st) == 3.0
    assert parallel.mean_logprob(TokenStats((), ())) == 0.0
    assert vote_weight("mean_logprob", -2.0) == pytest.approx(math.exp(-2))
    lp, cert = parallel.step_stats(np.log(np.array([0.5, 0.25, 0.25])), 1, 3)
    assert lp == pytest.approx(math.log(0.25))
    assert cert == pytest.approx(-math.log(3) - np.mean(np.log([0.5, 0.25, 0.25])))  # KL(U || p)
    uniform = parallel.step_stats(np.zeros(5), 0, 5)
    assert uniform[1] == pytest.approx(0.0, abs=1e-12)


def test_token_stats_match_one_forward_pass(smol_tokenizer):
    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    model = tiny_llama(smol_tokenizer, seed=1)
    gen = Generator(HFEngine.from_objects(model, smol_tokenizer), "s1")
    c = gen.generate("What is 2+2?", Budget(max_thinking_tokens=6, max_answer_tokens=3))
    stats = parallel.token_stats(gen, gen.render("What is 2+2?"), c.token_ids)
    prompt = gen.tokenizer.encode(gen.render("What is 2+2?"))
    ids = torch.tensor([prompt + list(c.token_ids)])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float()[:, : gen.tokenizer.vocab_size], -1)
    rows = logp[len(prompt) - 1 : -1]
    want = rows[torch.arange(len(c.token_ids)), torch.tensor(c.token_ids)]
    assert np.allclose(stats.logprobs, want.numpy(), atol=1e-4)
    v = gen.tokenizer.vocab_size
    assert np.allclose(stats.certainties, (-math.log(v) - rows.mean(-1)).numpy(), atol=1e-4)


def test_best_of_n_attaches_scores_and_reward_model(smol_tokenizer, tmp_path):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(smol_tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, num_labels=1, pad_token_id=0)  # fmt: skip
    LlamaForSequenceClassification(cfg).save_pretrained(tmp_path / "rm")
    smol_tokenizer.save_pretrained(tmp_path / "rm")
    gen = Generator(HFEngine.from_objects(tiny_llama(smol_tokenizer), smol_tokenizer), "s1")
    s = Setting(
        "best_of_n",
        Budget(max_thinking_tokens=5, max_answer_tokens=3),
        {"scorers": ["mean_logprob", "self_certainty", "reward_model"], "reward_model": str(tmp_path / "rm")},
    )
    prompts = [gen.render("What is 2+2?")]
    sp = [SamplingParams(temperature=1.0, seed=3)]
    outs = parallel.best_of_n(gen, prompts, s, sp, EvalConfig(task="gsm8k"))
    again = parallel.best_of_n(gen, prompts, s, sp, EvalConfig(task="gsm8k"))
    for o, a in zip(outs, again, strict=True):
        sc = o.info["scores"]
        assert sc["mean_logprob"] < 0 and sc["self_certainty"] > 0 and 0 < sc["reward_model"] < 1
        assert o.to_dict()["method_info"] == a.to_dict()["method_info"]  # seeded: repeatable


def test_log_prob_scorers_refused_over_http_like_engines(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script("x")], max_batch=0)
    with pytest.raises(S1kitError, match="llamacpp or hf backend"):
        parallel.token_stats(gen, "prompt", [1, 2])
    with pytest.raises(S1kitError, match="--reward-model"):
        parallel.score_completions(gen, [], {"scorers": ["reward_model"]})
