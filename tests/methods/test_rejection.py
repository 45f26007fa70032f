"""Rejection sampling: the first fitting try is kept; tries and their cost are recorded."""

from __future__ import annotations

import pytest
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.methods.rejection import rejection_sampling

LONG = " ".join(f"w{i}" for i in range(80))
SHORT = "two plus two is four"
HOT = SamplingParams(temperature=1.0, seed=7)


def _run(gen, cap=40, tries=4, n=1, sampling=HOT):
    s = Setting(
        "rejection_sampling", Budget(max_thinking_tokens=cap, max_answer_tokens=8), {"max_tries": tries}
    )
    prompts = [gen.render(f"q{i}") for i in range(n)]
    return rejection_sampling(gen, prompts, s, [sampling] * n, EvalConfig(task="gsm8k"))


def test_stops_at_the_first_fitting_sample(smol_tokenizer):
    scripts = [Script(LONG), Script(LONG), Script(SHORT, " 4"), Script(SHORT, " 5")]
    gen = scripted_generator(smol_tokenizer, scripts)
    (c,) = _run(gen)
    assert gen.engine.counters.opens == 3 and len(gen.engine.scripts) == 1  # the 4th try never ran
    info = c.info
    assert info["tries"] == 3 and info["fitted"] and not c.forced_end
    assert "four" in c.thinking and "4" in c.answer
    slack = max(len(x) for x in gen.format_ids.stop_seqs) - 1
    # rejected tries were cut once past the cap (+ room for a multi-token delimiter), without an answer
    assert info["try_thinking_tokens"][:2] == [40 + slack] * 2
    assert info["compute_tokens"] == 2 * (40 + slack) + c.thinking_tokens


def test_gives_up_after_max_tries_with_a_budget_forced_answer(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(LONG)] * 3)
    (c,) = _run(gen, tries=3)
    info = c.info
    assert info["tries"] == 3 and not info["fitted"]
    assert c.forced_end and c.thinking_tokens == 40 and c.answer.startswith("Final Answer:")


def test_only_unfitted_prompts_are_retried(smol_tokenizer):
    # prompt 0 fits at once; prompt 1 needs a second try
    gen = scripted_generator(smol_tokenizer, [Script(SHORT), Script(LONG), Script(SHORT)])
    a, b = _run(gen, n=2)
    assert (a.info["tries"], b.info["tries"]) == (1, 2) and a.info["fitted"] and b.info["fitted"]


def test_greedy_resampling_is_refused(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(SHORT)])
    with pytest.raises(S1kitError, match="temperature"):
        _run(gen, sampling=SamplingParams())


def test_tries_are_seeded_repeatably(tiny_engine):
    from s1kit.generation.generator import Generator

    gen = Generator(tiny_engine, "s1")
    prompts = [gen.render("What is 2+2?")]
    s = Setting("rejection_sampling", Budget(max_thinking_tokens=6, max_answer_tokens=3), {"max_tries": 3})
    runs = [rejection_sampling(gen, prompts, s, [HOT], EvalConfig(task="gsm8k"))[0] for _ in range(2)]
    assert runs[0].token_ids == runs[1].token_ids and runs[0].info == runs[1].info
