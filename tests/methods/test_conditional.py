"""The paper's length-control baselines: prompts, markers, with and without budget forcing."""

from __future__ import annotations

import json

import pytest
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget, SamplingParams
from s1kit.errors import S1kitError
from s1kit.evaluation.runner import EvalConfig, Setting, run_eval
from s1kit.methods import conditional

THINKING = " ".join(f"step{i}" for i in range(50))  # ~100 tokens, ends on its own


def _setting(method, cap=30, **params):
    return Setting(method, Budget(max_thinking_tokens=cap, max_answer_tokens=6), params)


def test_prompts_state_the_budget():
    assert (
        conditional.token_question("Q", _setting("token_conditional", 64))
        == "Q\n\nThink for up to 64 tokens."
    )
    s = _setting("step_conditional", 250, step_tokens=100)
    assert conditional.step_question("Q", s) == "Q\n\nThink for up to 3 steps."
    assert "briefly" in conditional.class_question("Q", _setting("class_conditional", length_class="brief"))
    assert "thoroughly" in conditional.class_question(
        "Q", _setting("class_conditional", length_class="thorough")
    )
    with pytest.raises(S1kitError, match="--budgets"):
        conditional.token_question("Q", Setting("token_conditional", Budget(), {}))


def test_forcing_decides_whether_the_budget_is_enforced(smol_tokenizer):
    for forcing, check in (
        (False, lambda c: c.thinking_tokens > 30),
        (True, lambda c: c.thinking_tokens == 30),
    ):
        gen = scripted_generator(smol_tokenizer, [Script(THINKING)])
        s = _setting("token_conditional", forcing=forcing)
        assert conditional.generation_budget(s).max_thinking_tokens == (30 if forcing else None)
        (c,) = conditional.token_conditional(
            gen, [gen.render("q")], s, [SamplingParams()], EvalConfig(task="gsm8k")
        )
        assert check(c) and c.info["forcing"] is forcing


def test_step_markers_count_down_inside_the_thinking(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)])
    s = _setting("step_conditional", cap=30, step_tokens=10, forcing=False)
    (c,) = conditional.step_conditional(
        gen, [gen.render("q")], s, [SamplingParams()], EvalConfig(task="gsm8k")
    )
    assert gen.engine.counters.prompts[0].endswith("3 steps left\n")  # the opening marker
    assert c.info["steps"] == 3 and c.info["markers"] == 3
    assert [m in c.thinking for m in ("2 steps left", "1 steps left", "0 steps left")] == [True] * 3
    assert c.thinking.index("2 steps left") < c.thinking.index("1 steps left") < c.thinking.index("0 steps")
    assert "step49" in c.thinking and not c.forced_end  # without forcing the model runs past its budget


def test_step_conditional_with_forcing_stays_within_budget(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)])
    s = _setting("step_conditional", cap=30, step_tokens=10, forcing=True)
    (c,) = conditional.step_conditional(
        gen, [gen.render("q")], s, [SamplingParams()], EvalConfig(task="gsm8k")
    )
    assert c.thinking_tokens == 30 and c.forced_end and "2 steps left" in c.thinking


def test_runner_applies_the_question_hook(smol_tokenizer, tmp_path):
    import s1kit.methods  # noqa: F401  (registers the methods)

    gen = scripted_generator(smol_tokenizer, [Script(THINKING, " 18")] * 2)
    cfg = EvalConfig(
        task="gsm8k",
        limit=2,
        budgets=(24,),
        max_answer_tokens=6,
        method="token_conditional",
        method_params={"forcing": True},
        grading_workers=1,
    )
    run_eval(cfg, tmp_path / "run", generator=gen)
    assert all(p.count("Think for up to 24 tokens.") == 1 for p in gen.engine.counters.prompts)
    records = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [r["method"] for r in records] == ["token_conditional"] * 2
    assert all(r["thinking_tokens"] == 24 and r["method_info"]["forcing"] for r in records)
