"""AlphaOne on a scripted model: "Wait" after each paragraph break before the α moment, and the
model's own "Wait" after it replaced by the end of thinking."""

from __future__ import annotations

import pytest
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.methods.alphaone import alpha_moment, alphaone, wait_probability

THINK = "one two\n\nthree four\n\nfive six seven eight nine Wait ten eleven twelve"


def _run(gen, params, budget=None):
    budget = budget or Budget(max_thinking_tokens=100)
    s = Setting("alphaone", budget, params)
    return alphaone(gen, [gen.render("q")], s, [SamplingParams()], EvalConfig(task="gsm8k"))


def test_waits_before_the_moment_and_the_end_after_it(smol_tokenizer):
    ids = smol_tokenizer.encode(THINK)
    nl = smol_tokenizer.encode("\n")[0]
    brk = [i + 1 for i in range(1, len(ids)) if ids[i] == ids[i - 1] == nl]  # SmolLM2 writes "\n", "\n"
    assert len(brk) == 2
    at_wait = ids.index(smol_tokenizer.encode(" Wait")[0])
    n_w = len(smol_tokenizer.encode("Wait"))
    gen = scripted_generator(smol_tokenizer, [Script(THINK, " 3")])
    # the moment falls after both breaks and before the model's own "Wait"
    (c,) = _run(gen, {"alpha": 1.0, "think_length": at_wait, "p0": 1.0, "schedule": "constant"})
    assert [e.kind for e in c.events] == ["inserted", "inserted", "replaced_end"]
    assert [e.position for e in c.events[:2]] == [brk[0], brk[1] + n_w]
    assert c.thinking_tokens == at_wait + 2 * n_w and c.info["replaced_at"] == c.thinking_tokens
    assert c.thinking.count("Wait") == 2 and "ten" not in c.thinking
    assert c.answer.startswith("Final Answer:") and "3" in c.answer and c.info["inserted_waits"] == 2


def test_no_wait_with_probability_zero_and_no_end_before_the_moment(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINK, " 3")])
    (c,) = _run(gen, {"alpha": 1.0, "think_length": 500, "p0": 0.0})
    assert c.events == () and "twelve" in c.thinking and c.info["inserted_waits"] == 0


def test_schedule_and_moment():
    assert wait_probability("linear", 0.6, 0.0) == 0.6
    assert wait_probability("linear", 0.6, 0.5) == pytest.approx(0.3)
    assert wait_probability("constant", 0.6, 0.9) == 0.6
    s = Setting("alphaone", Budget(max_thinking_tokens=100), {"alpha": 1.4})
    assert alpha_moment(s) == 140
    assert alpha_moment(Setting("alphaone", Budget(), {"alpha": 0.5, "think_length": 30})) == 15
    with pytest.raises(S1kitError, match="think-length"):
        alpha_moment(Setting("alphaone", Budget(), {}))


def test_refused_without_step_level_decoding(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINK)], max_batch=0)
    with pytest.raises(S1kitError, match="step-level decoding"):
        _run(gen, {})
