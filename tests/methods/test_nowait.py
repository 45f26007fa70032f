"""NoWait on a tiny model that always says "Wait": the mask removes it while thinking, and only then."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import tiny_llama

from s1kit import Budget, SamplingParams
from s1kit.errors import ConfigError, S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.generation.sampling import Sampler
from s1kit.methods.nowait import nowait, reflection_ids


def _always(tokenizer, word: str):
    """A tiny random Llama whose output layer has a bias making ``word`` the top token at every step."""
    import torch

    (wid,) = tokenizer.encode(word)
    model = tiny_llama(tokenizer, seed=1)
    head = model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        biased.bias[wid] = 1e3
    model.lm_head = biased
    return model, wid


@pytest.fixture(scope="module")
def wait_gen(smol_tokenizer):
    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    model, wid = _always(smol_tokenizer, " Wait")
    return Generator(HFEngine.from_objects(model, smol_tokenizer, max_batch=2), "r1"), wid


def test_the_model_says_wait_and_nowait_removes_it(wait_gen):
    gen, wid = wait_gen
    budget = Budget(max_thinking_tokens=12, max_answer_tokens=3)
    prompts = [gen.render(q) for q in ("What is 2+2?", "Name a prime.")]
    plain = gen.generate_batch(prompts, budget, rendered=True)
    assert all(c.token_ids[:12] == (wid,) * 12 for c in plain)
    outs = nowait(gen, prompts, Setting("nowait", budget), [SamplingParams()] * 2, EvalConfig(task="gsm8k"))
    masked = set(reflection_ids(gen, ("wait",)))
    assert wid in masked
    for c in outs:
        think = c.token_ids[: c.thinking_tokens]
        assert c.thinking_tokens == 12 and not masked & set(think)
        # every observed thinking step wanted "Wait" (all but the first, drawn right after the prompt)
        assert c.info["suppressed"] == 11
        assert [e.kind for e in c.events].count("suppressed") == 11
        assert c.info["suppressed_mass"] == pytest.approx(11, abs=1e-3)
        # the answer is decoded unmasked: the model says "Wait" again there
        assert "Wait" in c.answer


def test_reflection_ids_cover_case_and_punctuation_variants(smol_tokenizer):
    from tests.methods.scripted import scripted_generator

    gen = scripted_generator(smol_tokenizer, [])
    ids = set(reflection_ids(gen, ("wait", "hmm")))
    for text in (" Wait", "Wait", " wait", " WAIT"):
        enc = smol_tokenizer.encode(text)
        if len(enc) == 1:
            assert enc[0] in ids, text
    assert not ids & set(gen.format_ids.think_end)
    assert all(smol_tokenizer.decode([i]).strip(" .,!?").lower() in ("wait", "hmm") for i in ids)


def test_sampler_applies_the_bias_only_in_its_scope():
    x = np.array([5.0, 4.0, 1.0], dtype=np.float32)
    both = Sampler(SamplingParams(logit_bias={0: -100}), 3)
    think = Sampler(SamplingParams(logit_bias={0: -100}, bias_scope="thinking"), 3)
    assert both(x, thinking=False) == 1 and both(x) == 1
    assert think(x, thinking=True) == 1 and think(x, thinking=False) == 0
    warm = Sampler(SamplingParams(temperature=1.0, seed=0, logit_bias=((0, -100.0),)), 3)
    assert all(warm(x) != 0 for _ in range(200))  # a ban is -inf, never sampled
    boost = Sampler(SamplingParams(logit_bias={2: 10.0}), 3)
    assert boost(x) == 2


@pytest.mark.parametrize("bad", [{-1: 0.0}, {"a": 1.0}, [(1, 2.0), (1, 3.0)], [(1, float("nan"))]])
def test_bad_logit_bias_is_refused(bad):
    with pytest.raises(ConfigError, match="logit_bias"):
        SamplingParams(logit_bias=bad)


def test_local_rounds_cannot_mask(wait_gen):
    gen, _ = wait_gen
    with pytest.raises(S1kitError, match="--mode loop"):
        nowait(
            gen,
            [gen.render("q")],
            Setting("nowait", Budget(max_thinking_tokens=4)),
            [SamplingParams()],
            EvalConfig(task="gsm8k", mode="rounds"),
        )


def test_a_round_drops_a_thinking_only_bias_once_the_answer_begins(smol_tokenizer):
    from tests.methods.scripted import scripted_generator

    from s1kit.forcing.state import ForcingState
    from s1kit.generation.generator import _phase_sampling

    gen = scripted_generator(smol_tokenizer, [])
    st = ForcingState(gen.plan(Budget(max_thinking_tokens=0)))
    sp = SamplingParams(logit_bias={5: -100}, bias_scope="thinking")
    assert _phase_sampling(sp, st) is sp
    st.drain_forced()  # the cap of 0 forces the end: now answering
    assert _phase_sampling(sp, st).logit_bias == ()
    everywhere = SamplingParams(logit_bias={5: -100})
    assert _phase_sampling(everywhere, st) is everywhere


def test_a_torch_row_is_read_as_the_numpy_one(smol_tokenizer):
    import torch
    from tests.methods.scripted import scripted_generator

    from s1kit.methods.nowait import Suppressions

    gen = scripted_generator(smol_tokenizer, [])
    watch = Suppressions(gen, [3, 11, 500])
    x = np.random.default_rng(2).normal(size=gen.tokenizer.vocab_size).astype(np.float32)
    x[11] = 9.0
    top, mass = watch._look(torch.from_numpy(x))
    assert (top, mass) == (11, pytest.approx(watch._look(x)[1], rel=1e-4)) and watch._look(x)[0] == 11
