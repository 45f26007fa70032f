"""The one decoding loop's hooks: an allowed-tokens mask, log-probabilities, rows joining and leaving."""

from __future__ import annotations

import numpy as np
import pytest
from tests.engines.conftest import QUESTIONS

from s1kit import SamplingParams
from s1kit.generation.generator import Generator
from s1kit.generation.loop import ConstrainedRow, Decoder, ScoringRow, run_rows


@pytest.fixture(params=["hf", "llamacpp"])
def engine(request, tiny_engine):
    return tiny_engine if request.param == "hf" else request.getfixturevalue("tiny_llamacpp")


def test_constrained_rows_only_ever_feed_allowed_tokens(engine):
    g = Generator(engine, "s1")
    allowed_sets = [[11, 12, 13], [200, 300], [5]]
    rows = []
    for i, allowed in enumerate(allowed_sets):
        rows.append(
            ConstrainedRow(
                g.tokenizer.encode(g.render(QUESTIONS[i])),
                lambda toks, allowed=allowed: None if len(toks) == 4 else allowed,
            )
        )
    run_rows(engine, rows)
    for row, allowed in zip(rows, allowed_sets, strict=True):
        assert len(row.tokens) == 4 and set(row.tokens) <= set(allowed)


def test_scoring_rows_match_step_by_step_log_probs(engine):
    g = Generator(engine, "s1")
    vocab = g.tokenizer.vocab_size
    prompts = [g.tokenizer.encode(g.render(q)) for q in QUESTIONS[:3]]
    targets = [[11, 22, 33, 44], [5, 6], [100, 200, 300]]
    seen: list[list[float]] = [[] for _ in prompts]

    def observer(i):
        def observe(logits, token):
            x = np.asarray(logits.float().cpu() if hasattr(logits, "cpu") else logits, dtype=np.float64)[
                :vocab
            ]
            seen[i].append(float(x[token] - np.log(np.exp(x - x.max()).sum()) - x.max()))

        return observe

    run_rows(
        engine, [ScoringRow(p, t, observer(i)) for i, (p, t) in enumerate(zip(prompts, targets, strict=True))]
    )
    for i, (p, t) in enumerate(zip(prompts, targets, strict=True)):
        s = engine.open([p], SamplingParams())
        expected = []
        try:
            for tok in t:
                x = np.asarray(
                    s.logits(0).float().cpu() if hasattr(s.logits(0), "cpu") else s.logits(0),
                    dtype=np.float64,
                )[:vocab]
                expected.append(float(x[tok] - np.log(np.exp(x - x.max()).sum()) - x.max()))
                s.step([tok])
        finally:
            s.close()
        assert seen[i] == pytest.approx(expected, abs=1e-4)


def test_rows_join_a_running_batch_and_leave_it(engine):
    g = Generator(engine, "s1")
    finished = []
    dec = Decoder(engine, capacity=2, on_finish=lambda r: finished.append(r.key))
    try:
        prompts = [g.tokenizer.encode(g.render(q)) for q in QUESTIONS[:4]]
        dec.submit(
            [ScoringRow(p, [7] * (2 + 3 * i), lambda lg, t: None, key=i) for i, p in enumerate(prompts)]
        )
        while dec.step():
            assert len(dec.live) <= 2
    finally:
        dec.close()
    assert finished[:2] == [0, 1] and sorted(finished) == [0, 1, 2, 3] and dec.joins >= 1
