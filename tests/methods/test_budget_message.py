"""The budget message: text forced before the end-of-thinking delimiter at the cap, counted in it."""

from __future__ import annotations

import pytest
from tests.conftest import tiny_llama
from tests.methods.scripted import Script, scripted_generator

from s1kit import Budget
from s1kit.errors import ConfigError

THINKING = " ".join(f"step{i}" for i in range(80))
MESSAGE = " Considering the limited time, I answer now."


def test_message_ends_exactly_at_the_cap(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINKING, " 7")])
    n_msg = len(smol_tokenizer.encode(MESSAGE))
    c = gen.generate("q", Budget(max_thinking_tokens=40, budget_message=MESSAGE))
    assert c.thinking_tokens == 40 and c.forced_end
    assert c.thinking.endswith(MESSAGE)
    kinds = [(e.kind, e.position) for e in c.events]
    assert kinds == [("budget_message", 40 - n_msg), ("forced_end", 40)]
    assert c.answer.startswith("Final Answer:") and "7" in c.answer


def test_no_message_when_thinking_ends_before_the_cap(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script("short thought", " 7")])
    c = gen.generate("q", Budget(max_thinking_tokens=40, budget_message=MESSAGE))
    assert not c.forced_end and "budget_message" not in [e.kind for e in c.events]
    assert MESSAGE not in c.thinking


def test_a_message_longer_than_the_cap_is_cut_there(smol_tokenizer):
    gen = scripted_generator(smol_tokenizer, [Script(THINKING)])
    c = gen.generate("q", Budget(max_thinking_tokens=3, budget_message=MESSAGE))
    assert c.thinking_tokens == 3
    assert c.token_ids[:3] == tuple(smol_tokenizer.encode(MESSAGE)[:3])
    assert [e.kind for e in c.events] == ["budget_message", "forced_end"]


@pytest.mark.parametrize("cap", [10, 25])
def test_loop_and_rounds_agree_on_a_tiny_model(smol_tokenizer, cap):
    """Round-by-round forcing asks for cap - len(message) free tokens, then forces the message."""
    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    engine = HFEngine.from_objects(tiny_llama(smol_tokenizer, seed=5), smol_tokenizer, max_batch=2)
    gen = Generator(engine, "s1")
    b = Budget(max_thinking_tokens=cap, budget_message=MESSAGE, max_answer_tokens=4)
    loop = gen.generate("What is 1+1?", b, mode="loop")
    rounds = gen.generate("What is 1+1?", b, mode="rounds")
    assert loop.token_ids == rounds.token_ids
    assert loop.thinking_tokens == cap and loop.thinking.endswith(MESSAGE)


def test_budget_keeps_its_old_dict_without_a_message():
    assert "budget_message" not in Budget(max_thinking_tokens=5).to_dict()
    d = Budget(max_thinking_tokens=5, budget_message="x").to_dict()
    assert d["budget_message"] == "x" and Budget.from_dict(d).budget_message == "x"
    with pytest.raises(ConfigError, match="budget_message"):
        Budget(budget_message=3)  # type: ignore[arg-type]


def test_eval_setting_ids_change_only_with_a_message():
    from s1kit.evaluation.config import EvalConfig
    from s1kit.tasks import get_task

    plain = EvalConfig(task="gsm8k", budgets=(64,))
    msg = EvalConfig(task="gsm8k", budgets=(64,), budget_message=MESSAGE)
    assert plain.settings()[0].id == "bf:max=64:min=0:ignore=0:Wait"
    assert msg.settings()[0].id.endswith(f":message={MESSAGE}")
    assert msg.settings()[0].budget.budget_message == MESSAGE
    task = get_task("gsm8k").limited(1)
    assert "budget_message" not in plain.identity(task)
    assert msg.identity(task)["budget_message"] == MESSAGE


def test_cli_and_request_carry_the_message():
    from s1kit.cli import build_parser
    from s1kit.cli.common import budget_from_args
    from s1kit.cli.eval import config_from_args
    from s1kit.serving.schemas import ChatRequest

    p = build_parser()
    args = p.parse_args(["generate", "hi", "--max-thinking-tokens", "9", "--budget-message", MESSAGE])
    assert budget_from_args(args).budget_message == MESSAGE
    args = p.parse_args(["eval", "--task", "gsm8k", "--out", "x", "--budgets", "64", "--budget-message", "M"])
    assert config_from_args(args).settings()[0].budget.budget_message == "M"
    args = p.parse_args(["serve", "--budget-message", "S"])
    assert args.budget_message == "S"
    req = ChatRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "budget_message": "R"}
    )
    assert req.thinking and req.budget(answer_tokens=8, thinking_cap=64).budget_message == "R"
    req = ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert req.budget(answer_tokens=8, thinking_cap=64, budget_message="S").budget_message == "S"
