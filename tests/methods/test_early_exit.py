"""Early exit: probes on side branches, stopping exactly when the last M probes agree."""

from __future__ import annotations

import pytest
from tests.conftest import tiny_llama
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.methods.early_exit import early_exit

THINKING = " ".join(f"step{i}" for i in range(60))  # far more than the tests' budgets


def _run(gen, setting, n=1):
    cfg = EvalConfig(task="gsm8k")
    prompts = [gen.render(f"q{i}") for i in range(n)]
    return early_exit(gen, prompts, setting, [SamplingParams()] * n, cfg)


def test_stops_exactly_when_m_probes_agree(smol_tokenizer):
    probes = ["12", "13", "$13$.", "13", "99"]  # probes 2 and 3 agree after normalisation
    gen = scripted_generator(smol_tokenizer, [Script(THINKING, " 13")], probes)
    s = Setting("early_exit", Budget(max_thinking_tokens=100), {"probe_every": 8, "probe_agree": 2})
    (c,) = _run(gen, s)
    info = c.info
    assert [k for _, k in info["probes"]] == ["12", "13", "13"]
    assert [pos for pos, _ in info["probes"]] == [8, 16, 24]
    assert info["exited"] and c.thinking_tokens == 24 and info["saved_vs_cap"] == 76
    assert [e.kind for e in c.events] == ["early_exit"]
    assert c.answer.startswith("Final Answer:") and "13" in c.answer
    # every probe forced exactly the delimiter and the primer, on top of the untouched main sequence
    engine = gen.engine
    forced = tuple(gen.format_ids.think_end) + tuple(gen.plan(s.budget).primer_ids)
    assert [f for _, f in engine.counters.branches] == [forced] * 3
    assert info["probe_tokens"] == sum(len(forced) + len(smol_tokenizer.encode(p)) for p in probes[:3])
    # the prompt was read once: probes never re-read it
    assert engine.counters.opens == 1


@pytest.mark.parametrize("agree", [1, 3])
def test_m_controls_when_it_stops(smol_tokenizer, agree):
    probes = ["7", "7", "7", "7"]
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)], probes)
    s = Setting("early_exit", Budget(max_thinking_tokens=100), {"probe_every": 5, "probe_agree": agree})
    (c,) = _run(gen, s)
    assert c.thinking_tokens == 5 * agree and c.info["n_probes"] == agree


def test_no_answer_never_agrees_and_budget_still_caps(smol_tokenizer):
    probes = ["", "", "", "", "", ""]  # nothing extractable: None never counts as agreement
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)], probes)
    s = Setting("early_exit", Budget(max_thinking_tokens=30), {"probe_every": 10, "probe_agree": 2})
    (c,) = _run(gen, s)
    assert not c.info["exited"] and c.thinking_tokens == 30 and c.forced_end
    assert [e.kind for e in c.events] == ["forced_end"] and c.info["saved_vs_cap"] == 0


def test_probes_leave_the_main_sequence_untouched_on_hf(smol_tokenizer):
    """With probes that can never agree (M larger than the probe count), early exit must produce
    exactly the budget-forced tokens: the side branches leave cache and logits as they were."""
    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    engine = HFEngine.from_objects(tiny_llama(smol_tokenizer, seed=3), smol_tokenizer, max_batch=2)
    gen = Generator(engine, "s1")
    budget = Budget(max_thinking_tokens=16, max_answer_tokens=4)
    prompts = [gen.render(q) for q in ("What is 2+2?", "Name a prime.")]
    plain = gen.generate_batch(prompts, budget, rendered=True)
    s = Setting("early_exit", budget, {"probe_every": 4, "probe_agree": 50, "probe_tokens": 5})
    probed = early_exit(gen, prompts, s, [SamplingParams()] * 2, EvalConfig(task="gsm8k"))
    for a, b in zip(plain, probed, strict=True):
        assert a.token_ids == b.token_ids
        assert b.info["n_probes"] == 4 and b.info["probe_tokens"] > 0


def test_refused_without_step_level_decoding(smol_tokenizer):
    from s1kit.errors import S1kitError

    gen = scripted_generator(smol_tokenizer, [Script(THINKING)], max_batch=0)
    s = Setting("early_exit", Budget(max_thinking_tokens=30), {})
    with pytest.raises(S1kitError, match="step-level decoding"):
        _run(gen, s)
