"""s1kit's openai backend against a real vLLM OpenAI server (CPU build) on loopback (slow tier).

Runs from s1kit's own environment; the server runs in the vLLM environment ($S1KIT_VLLM_ENV).
"""

from __future__ import annotations

import json

import pytest
from tests.conftest import R1_TOKENIZER

from s1kit import Budget
from s1kit.backends.openai import OpenAIEngine
from s1kit.errors import S1kitError
from s1kit.generation.generator import Generator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

QUESTIONS = ["What is 2+3?", "How many positive divisors does 12 have?", "Name a prime number."]
BUDGETS = [
    Budget(max_thinking_tokens=48, min_thinking_tokens=40, max_answer_tokens=8),
    Budget(max_thinking_tokens=60, num_ignore=2, ignore_strings=("Wait", "Hmm"), max_answer_tokens=8),
]


@pytest.fixture(scope="module")
def remote(vllm_server, fp32_folder):
    return Generator(OpenAIEngine.from_spec(vllm_server, tokenizer=str(fp32_folder)), "r1")


@pytest.fixture(scope="module")
def local(fp32_folder):
    return Generator.load(str(fp32_folder), backend="hf", format="r1", device="cpu", dtype="float32")


@pytest.mark.parametrize("budget", BUDGETS)
def test_greedy_over_vllm_server_equals_in_process_and_budgets_hold(remote, local, budget):
    over_http = remote.generate_batch(QUESTIONS, budget)
    assert remote.engine.prompt_kind == "ids" and remote.engine.context_length == 2048
    for a, b in zip(local.generate_batch(QUESTIONS, budget), over_http, strict=True):
        assert a.token_ids == b.token_ids and a.events == b.events
        assert budget.min_thinking_tokens <= b.thinking_tokens <= budget.max_thinking_tokens
        assert b.answer_tokens <= budget.max_answer_tokens


def test_streaming_deltas_add_up_to_the_completion(remote):
    parts: dict[str, list[str]] = {"think": [], "answer": []}

    def on_token(i, role, text):
        parts["answer" if role in ("primer", "answer") else "think"].append(text)

    c = remote.generate(QUESTIONS[0], BUDGETS[1], on_token=on_token)
    assert "".join(parts["answer"]) == c.answer
    assert "".join(parts["think"]).startswith(c.thinking[:20]) and len(parts["think"]) > 10


def test_an_eval_sweep_over_the_server_matches_in_process(remote, local, tmp_path):
    from s1kit.evaluation import EvalConfig, run_eval

    cfg = EvalConfig(
        task="gsm8k", model="smol", budgets=(32, 64), num_ignore=(1,), limit=3, max_answer_tokens=12
    )
    run_eval(cfg, tmp_path / "server", generator=remote)
    run_eval(cfg, tmp_path / "local", generator=local)

    def records(name):
        lines = (tmp_path / name / "records.jsonl").read_text().splitlines()
        return {
            r["key"]: (
                r["thinking"],
                r["answer"],
                r["thinking_tokens"],
                r["answer_tokens"],
                r["events"],
                r["correct"],
            )
            for r in map(json.loads, lines)
        }

    assert records("server") == records("local") and len(records("local")) == 6
    servers = json.loads((tmp_path / "server" / "servers.json").read_text())["sessions"][0]["servers"]
    assert servers[0]["completion_tokens"] > 0 and servers[0]["failures"] == 0


def test_a_tokenizer_that_does_not_match_the_served_model_is_refused(vllm_server):
    if not R1_TOKENIZER.is_dir():
        pytest.skip("no R1 tokenizer in the shared data")
    from transformers import AutoTokenizer

    from s1kit.backends.tokenizer import HFTokenizer

    other = HFTokenizer(AutoTokenizer.from_pretrained(R1_TOKENIZER))  # a tokenizer folder, no model
    with pytest.raises(S1kitError, match="does not match the model at"):
        OpenAIEngine.from_spec(vllm_server, tokenizer=other)
