"""The transformers path: continuous batching in the Generator, shared prefill, device-side greedy,
a clear fallback for caches that cannot be rolled back, and no reseeding of torch's global RNG."""

from __future__ import annotations

import pytest
from tests.engines.conftest import QUESTIONS
from tests.engines.test_llamacpp_batch import BUDGETS

from s1kit import Budget, SamplingParams
from s1kit.generation.generator import Generator


@pytest.fixture(scope="module")
def small_batch_engine(smol_tokenizer):
    from tests.conftest import tiny_llama

    from s1kit.backends.hf import HFEngine

    return HFEngine.from_objects(tiny_llama(smol_tokenizer, eos_boost=3.0), smol_tokenizer, max_batch=3)


def test_hf_batched_equals_one_at_a_time_with_rows_joining(small_batch_engine):
    """Six prompts with mixed budgets through three rows: finished rows leave the batch and waiting
    prompts join it; greedy output equals decoding each prompt alone."""
    g = Generator(small_batch_engine, "s1")
    batched = g.generate_batch(QUESTIONS, BUDGETS)
    single = [g.generate(q, b) for q, b in zip(QUESTIONS, BUDGETS, strict=True)]
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]
    assert len({len(c.token_ids) for c in batched}) > 2


def test_hf_identical_prompts_are_prefilled_once(small_batch_engine):
    g = Generator(small_batch_engine, "s1")
    ids = g.tokenizer.encode(g.render(QUESTIONS[1]))
    s = small_batch_engine.open([ids, ids, ids], SamplingParams())
    try:
        assert s.prefilled_tokens == len(ids)
        assert all(bool((s.logits(i) == s.logits(0)).all()) for i in range(3))
    finally:
        s.close()
    budgets = [Budget(max_thinking_tokens=m, max_answer_tokens=3) for m in (5, 9, 13)]
    batched = g.generate_batch([QUESTIONS[1]] * 3, budgets)
    assert [c.token_ids for c in batched] == [g.generate(QUESTIONS[1], b).token_ids for b in budgets]


def test_hf_argmax_reads_the_batch_in_one_call(small_batch_engine):
    g = Generator(small_batch_engine, "s1")
    ids = [g.tokenizer.encode(g.render(q)) for q in QUESTIONS[:3]]
    s = small_batch_engine.open(ids, SamplingParams())
    try:
        vocab = g.tokenizer.vocab_size
        assert s.argmax([0, 1, 2], vocab) == [int(s.logits(i)[:vocab].argmax()) for i in range(3)]
        assert s.host_logits([2, 0]).shape == (2, s.logits(0).shape[-1])
        assert str(s.mask.device) == str(small_batch_engine.device)
    finally:
        s.close()


def test_sliding_window_models_fall_back_to_rounds(smol_tokenizer):
    """A cache that drops old positions cannot be rolled back by masking: the engine offers no
    step-level sessions (a one-line error), and the Generator forces round by round instead."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    from s1kit.backends.hf import HFEngine
    from s1kit.errors import S1kitError

    torch.manual_seed(0)
    cfg = MistralConfig(
        vocab_size=len(smol_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=16,
        max_position_embeddings=512,
    )
    engine = HFEngine.from_objects(MistralForCausalLM(cfg), smol_tokenizer)
    assert engine.max_batch == 0 and "sliding-window" in engine.no_step_reason
    with pytest.raises(S1kitError, match="use --mode rounds"):
        engine.open([[1, 2, 3]], SamplingParams())
    out = Generator(engine, "s1").generate(QUESTIONS[0], Budget(max_thinking_tokens=6, max_answer_tokens=2))
    assert out.thinking_tokens <= 6


def test_hf_rounds_leave_torchs_global_rng_alone(tiny_engine):
    import torch

    g = Generator(tiny_engine, "s1")
    sp = SamplingParams(temperature=1.0, seed=7)
    budget = Budget(max_thinking_tokens=16, num_ignore=2, max_answer_tokens=4)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = g.generate(QUESTIONS[0], budget, sp, mode="rounds")
    assert torch.equal(torch.get_rng_state(), state)
    b = g.generate(QUESTIONS[0], budget, sp, mode="rounds")
    assert a.token_ids == b.token_ids  # the same seed gives the same run
