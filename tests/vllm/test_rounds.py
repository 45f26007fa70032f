"""Round-by-round forcing over a whole batch (generation/rounds.py) and the vllm backend's bad input,
in s1kit's own environment (fast tier; vLLM itself is tested in test_inprocess.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from s1kit import Budget
from s1kit.errors import ConfigError, MissingExtraError, S1kitError
from s1kit.generation.generator import Generator

QUESTIONS = ["What is 2+2?", "How many positive divisors does 360 have?", "Name a prime.", "Why?"]
BUDGETS = [
    Budget(max_thinking_tokens=24, num_ignore=2, max_answer_tokens=8),
    Budget(max_thinking_tokens=40, min_thinking_tokens=30, max_answer_tokens=6),
]
_spec = importlib.util.find_spec("vllm")
HAS_VLLM = _spec is not None and _spec.origin is not None  # tests/vllm itself is a namespace package


class BatchedRounds:
    """The tiny transformers engine seen through the ``complete_batch`` interface that vLLM offers
    (each call runs its prompts through the real engine), counting the batched calls."""

    name, max_batch = "batched", 0

    def __init__(self, engine):
        self.engine, self.calls = engine, 0
        self.tokenizer, self.model_name, self.context_length = engine.tokenizer, "tiny", engine.context_length

    def complete_batch(self, prompts, *, max_tokens, stops, samplings):
        self.calls += 1
        return [
            self.engine.complete(p, max_tokens=n, stop=s, sampling=sp)
            for p, n, s, sp in zip(prompts, max_tokens, stops, samplings, strict=True)
        ]


class ContinuousRounds:
    """The tiny transformers engine seen through the ``submit``/``wait``/``abort`` interface of the vllm
    backend: each round runs through the real engine, and ``wait`` returns the shortest round in flight
    first, as continuous batching does, so sequences move on out of step with each other."""

    name, max_batch = "continuous", 0

    def __init__(self, engine):
        self.engine, self.flight, self.log = engine, {}, []
        self.tokenizer, self.model_name, self.context_length = engine.tokenizer, "tiny", engine.context_length

    def submit(self, key, prompt, *, max_tokens, stop, sampling):
        assert key not in self.flight
        self.flight[key] = self.engine.complete(prompt, max_tokens=max_tokens, stop=stop, sampling=sampling)
        self.log.append(("submit", key, len(self.flight)))

    def wait(self):
        if not self.flight:
            return []
        key = min(self.flight, key=lambda k: len(self.flight[k].tokens))
        self.log.append(("end", key, len(self.flight)))
        return [(key, self.flight.pop(key))]

    def abort(self):
        self.log.append(("abort", None, len(self.flight)))
        self.flight.clear()

    def complete_batch(self, *args, **kwargs):
        raise AssertionError("a continuous engine is driven by submit/wait")


def assert_same_completions(expected, got):
    for a, b in zip(expected, got, strict=True):
        assert a.token_ids == b.token_ids and a.events == b.events
        assert (a.finish_reason, a.thinking_tokens, a.answer_tokens) == (
            b.finish_reason,
            b.thinking_tokens,
            b.answer_tokens,
        )


@pytest.mark.parametrize("budget", BUDGETS)
def test_continuous_rounds_equal_one_sequence_at_a_time(tiny_engine, budget):
    one_by_one = Generator(tiny_engine, "s1").generate_batch(QUESTIONS, budget, mode="rounds")
    engine = ContinuousRounds(tiny_engine)
    continuous = Generator(engine, "s1").generate_batch(QUESTIONS, budget)
    assert_same_completions(one_by_one, continuous)
    # No barrier: a sequence's next round is submitted as soon as its round ends, while other
    # sequences' rounds are still in flight.
    log = engine.log
    assert any(
        kind == "submit" and n > 1 and log[j - 1][:2] == ("end", key)
        for j, (kind, key, n) in enumerate(log)
        if j
    )
    assert not engine.flight


def test_an_error_mid_batch_aborts_the_rounds_in_flight(tiny_engine):
    engine = ContinuousRounds(tiny_engine)
    calls = []

    def cancelled(i):
        calls.append(i)
        if len(calls) > len(QUESTIONS):  # first round of every sequence is in flight, one has ended
            raise RuntimeError("stop here")
        return False

    with pytest.raises(RuntimeError, match="stop here"):
        Generator(engine, "s1").generate_batch(QUESTIONS, BUDGETS[0], cancelled=cancelled)
    assert engine.log[-1] == ("abort", None, len(QUESTIONS) - 1) and not engine.flight


@pytest.mark.parametrize("budget", BUDGETS)
def test_batched_rounds_equal_one_sequence_at_a_time(tiny_engine, budget):
    one_by_one = Generator(tiny_engine, "s1").generate_batch(QUESTIONS, budget, mode="rounds")
    batched_engine = BatchedRounds(tiny_engine)
    batched = Generator(batched_engine, "s1").generate_batch(QUESTIONS, budget)
    assert_same_completions(one_by_one, batched)
    rounds = [1 + sum(e.kind == "ignore" for e in c.events) for c in one_by_one]
    assert max(rounds) <= batched_engine.calls < sum(rounds) + len(QUESTIONS)


def test_cancelled_sequences_end_and_the_others_go_on(tiny_engine):
    gen = Generator(BatchedRounds(tiny_engine), "s1")
    out = gen.generate_batch(QUESTIONS, BUDGETS[0], cancelled=lambda i: i == 1)
    assert out[1].finish_reason == "length" and out[1].token_ids == ()
    assert all(c.token_ids for i, c in enumerate(out) if i != 1)


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_missing_vllm_names_the_extra():
    from s1kit.backends import load_engine

    with pytest.raises(MissingExtraError, match=r"pip install 's1kit\[vllm\]'"):
        load_engine("default", "vllm")


def test_bad_vllm_options_name_the_field():
    from s1kit.backends.vllm import _check_options

    cases = [
        ((0, None, None, "auto", True, 0), "tensor_parallel_size=0"),
        ((1, 1.5, None, "auto", True, 0), "gpu_memory_utilization=1.5"),
        ((1, None, 1, "auto", True, 0), "max_model_len=1"),
        ((1, None, None, "fp8", True, 0), "dtype='fp8'"),
        ((1, None, None, "auto", "yes", 0), "enable_prefix_caching='yes'"),
    ]
    for args, message in cases:
        with pytest.raises(ConfigError, match=message):
            _check_options(*args)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "s1kit.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_errors_are_one_line_with_exit_2():
    bad_option = run_cli("generate", "--engine-option", "no-equals-sign", "hi")
    assert bad_option.returncode == 2 and "KEY=VALUE" in bad_option.stderr
    assert len(bad_option.stderr.strip().splitlines()) == 1
    dead = run_cli(
        "generate", "--model", "http://127.0.0.1:9,http://127.0.0.1:7", "--tokenizer", "default", "hi"
    )
    assert dead.returncode == 2 and "cannot reach any of the servers" in dead.stderr
    assert len(dead.stderr.strip().splitlines()) == 1
    if not HAS_VLLM:
        missing = run_cli("generate", "--backend", "vllm", "hi")
        assert missing.returncode == 2 and "s1kit[vllm]" in missing.stderr


def test_unreachable_server_is_an_error():
    from s1kit.backends.openai import OpenAIEngine

    with pytest.raises(S1kitError, match="cannot reach any of the servers"):
        OpenAIEngine.from_spec("http://127.0.0.1:9,http://127.0.0.1:7", tokenizer="default")
