"""Many sequences in one llama.cpp context: greedy batched decoding equals one-at-a-time decoding."""

from __future__ import annotations

import pytest
from tests.engines.conftest import QUESTIONS

from s1kit import Budget
from s1kit.errors import S1kitError
from s1kit.generation.generator import Generator

# Mixed budgets: different caps, minimums and ignore counts, so rows finish at different steps and
# some roll back a multi-token stop ("</think>" is several tokens in SmolLM2's vocabulary).
BUDGETS = [
    Budget(max_thinking_tokens=12, max_answer_tokens=4),
    Budget(max_thinking_tokens=40, min_thinking_tokens=24, max_answer_tokens=10),
    Budget(max_thinking_tokens=20, num_ignore=2, max_answer_tokens=6),
    Budget(max_thinking_tokens=6, max_answer_tokens=16),
    Budget(max_thinking_tokens=32, num_ignore=1, min_thinking_tokens=8, max_answer_tokens=3),
    Budget(max_thinking_tokens=24, max_answer_tokens=8, answer_primer=""),
]


def _one_at_a_time(g, questions, budgets):
    return [g.generate(q, b) for q, b in zip(questions, budgets, strict=True)]


@pytest.mark.parametrize("fmt", ["r1", pytest.param("s1", marks=pytest.mark.slow)])
def test_embedded_batched_equals_one_at_a_time(batched_llamacpp, fmt):
    g = Generator(batched_llamacpp, fmt)
    batched = g.generate_batch(QUESTIONS, BUDGETS)
    single = _one_at_a_time(g, QUESTIONS, BUDGETS)
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]
    assert [c.events for c in batched] == [c.events for c in single]
    lengths = {len(c.token_ids) for c in batched}
    assert len(lengths) > 2, "rows should finish at different steps"


@pytest.mark.slow
def test_embedded_batched_equals_the_engines_own_loop(batched_llamacpp):
    """Rounds mode runs llama-cpp-python's own generate (its C sampler) on sequence 0: an independent
    one-at-a-time decoder. Greedy batched rows give the same tokens."""
    g = Generator(batched_llamacpp, "r1")
    batched = g.generate_batch(QUESTIONS[:4], BUDGETS[:4])
    rounds = g.generate_batch(QUESTIONS[:4], BUDGETS[:4], mode="rounds")
    assert [c.token_ids for c in batched] == [c.token_ids for c in rounds]


def test_more_prompts_than_rows_join_as_rows_finish(tiny_llamacpp):
    g = Generator(tiny_llamacpp, "s1")
    questions = QUESTIONS + [q + " Please." for q in QUESTIONS]  # 12 prompts, 6 rows
    budgets = BUDGETS + BUDGETS[::-1]
    batched = g.generate_batch(questions, budgets)
    single = _one_at_a_time(g, questions, budgets)
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]
    assert tiny_llamacpp.max_batch == 6


def test_tiny_gguf_batched_equals_one_at_a_time(tiny_llamacpp):
    g = Generator(tiny_llamacpp, "r1")
    budgets = [
        Budget(max_thinking_tokens=8 + 5 * i, num_ignore=i % 3, max_answer_tokens=3 + i) for i in range(6)
    ]
    batched = g.generate_batch(QUESTIONS, budgets)
    single = _one_at_a_time(g, QUESTIONS, budgets)
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]


@pytest.mark.slow
def test_a_full_cache_preempts_and_rereads_a_row(tiny_gguf):
    """8 rows in 512 cells cannot all grow: the last row to join is pre-empted and re-read later from its
    prompt and tokens so far, instead of failing. Until the cache fills, rows equal one-at-a-time
    decoding; after it, freed cells are reused out of order, so later tokens may differ at near-ties."""
    from s1kit.backends import load_engine
    from s1kit.generation import loop

    engine = load_engine(str(tiny_gguf), "llamacpp", n_ctx=512, max_batch=8, n_threads=1)
    g = Generator(engine, "s1")
    budget = Budget(max_thinking_tokens=60, min_thinking_tokens=60, max_answer_tokens=20)
    questions = [f"Question {i}: what is {i} + {i}?" for i in range(8)]
    decoders = []
    original = loop.Decoder.close

    def spy(self):
        decoders.append(self)
        original(self)

    loop.Decoder.close = spy
    try:
        batched = g.generate_batch(questions, budget)
    finally:
        loop.Decoder.close = original
    single = [g.generate(q, budget) for q in questions]
    assert decoders[0].preempted > 0
    assert all(c.thinking_tokens == 60 and c.forced_end for c in batched)
    assert [c.token_ids[:20] for c in batched] == [c.token_ids[:20] for c in single]


def test_rollback_and_side_branch_leave_a_row_as_it_was(batched_llamacpp):
    import numpy as np

    g = Generator(batched_llamacpp, "r1")
    ids = [g.tokenizer.encode(g.render(q)) for q in QUESTIONS[:3]]
    s = batched_llamacpp.open(ids, None)
    try:
        before = [s.logits(i).copy() for i in range(3)]
        probe = s.branch(1, g.tokenizer.encode("</think> The answer is"), max_new=5, stop=frozenset())
        assert len(probe) == 5
        for i in range(3):
            assert np.array_equal(s.logits(i), before[i]) and s.length(i) == len(ids[i])
        t = [int(s.logits(i).argmax()) for i in range(3)]
        s.step(t)
        after = s.logits(0).copy()
        s.step({0: 11, 1: 12, 2: 13})
        s.rollback(0, 1)
        s.remove([1])
        s.step({0: 11, 2: 14})  # row 0 re-fed after its rollback, row 1 gone
        assert s.length(0) == len(ids[0]) + 2 and s.length(2) == len(ids[2]) + 3
        s.rollback(0, 1)
        assert s.length(0) == len(ids[0]) + 1
        s.step({0: 11})
        assert np.allclose(s.logits(0), s.logits(0))  # readable after a rollback and re-feed
        assert after.shape == before[0].shape
    finally:
        s.close()


def test_a_shared_prompt_is_prefilled_once(batched_llamacpp):
    """A sweep asks the same question at several budgets and samples: the prompt is read once and its
    cells copied; results equal decoding each prompt alone."""
    g = Generator(batched_llamacpp, "r1")
    q = "A rectangle has sides 3 and 4. What is its diagonal? Reason carefully."
    budgets = [Budget(max_thinking_tokens=m, max_answer_tokens=4) for m in (8, 16, 24)] * 2
    batched_llamacpp.pool.clear_cache()
    n = len(g.tokenizer.encode(g.render(q)))
    session_reads = []
    orig_open = batched_llamacpp.open

    def spying_open(prompts, sampling):
        s = orig_open(prompts, sampling)
        session_reads.append(s)
        return s

    batched_llamacpp.open = spying_open
    try:
        batched = g.generate_batch([q] * 6, budgets)
        again = g.generate_batch([q], budgets[0])
    finally:
        del batched_llamacpp.open
    assert session_reads[0].prefilled_tokens == n  # six rows, one prefill
    assert session_reads[1].prefilled_tokens == 0  # a later call copies the cached prompt
    batched_llamacpp.pool.clear_cache()
    single = [g.generate(q, b) for b in budgets[:3]]
    assert [c.token_ids for c in batched[:3]] == [c.token_ids for c in single]
    assert again[0].token_ids == single[0].token_ids


def test_a_common_prefix_is_copied_and_the_rest_read(batched_llamacpp):
    g = Generator(batched_llamacpp, "r1")
    system = "You are a careful assistant. " * 6
    a, b = g.render(system + "What is 2+2?"), g.render(system + "What is 3+5?")
    batched_llamacpp.pool.clear_cache()
    first = g.generate(a, Budget(max_thinking_tokens=10, max_answer_tokens=4), rendered=True)
    ids_b = g.tokenizer.encode(b)
    s = batched_llamacpp.open([ids_b], None)
    try:
        shared = len(ids_b) - s.prefilled_tokens
    finally:
        s.close()
    assert shared >= len(g.tokenizer.encode(system)) - 2
    batched_llamacpp.pool.clear_cache()
    fresh = g.generate(b, Budget(max_thinking_tokens=10, max_answer_tokens=4), rendered=True)
    batched_llamacpp.pool.clear_cache()
    g.generate(a, Budget(max_thinking_tokens=10, max_answer_tokens=4), rendered=True)
    copied = g.generate(b, Budget(max_thinking_tokens=10, max_answer_tokens=4), rendered=True)
    assert copied.token_ids == fresh.token_ids and first.token_ids


@pytest.mark.parametrize(
    ("max_batch", "message"),
    [(0, "--max-batch=0 is invalid"), (-3, "expected an integer >= 1"), (500, "more than a context of 4096")],
)
def test_bad_max_batch_is_a_one_line_error(max_batch, message):
    pytest.importorskip("llama_cpp")
    from s1kit.backends.llamacpp import check_max_batch

    with pytest.raises(S1kitError, match=message) as e:
        check_max_batch(max_batch, 4096)
    assert "\n" not in str(e.value)
    assert check_max_batch(None, 8192) == 32 and check_max_batch(64, 4096) == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-batch", "0"], "--max-batch=0 is invalid: expected an integer >= 1"),
        (["--max-batch", "500", "--n-ctx", "4096"], "--max-batch=500 is more than a context of 4096 tokens"),
    ],
)
def test_cli_bad_max_batch_is_one_line_exit_2(args, message):
    import os
    import subprocess
    import sys

    pytest.importorskip("llama_cpp")
    env = {**os.environ, "PYTHONPATH": "src"}
    r = subprocess.run(
        [sys.executable, "-m", "s1kit.cli", "generate", *args, "hi"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 2 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
