"""An eval sweep with several batches in flight: rows of the next batch join the running batch as rows
finish, and the records are the same as one batch at a time."""

from __future__ import annotations

import json
import threading

import pytest

from s1kit import EvalConfig, run_eval
from s1kit.errors import S1kitError
from s1kit.generation.generator import Generator
from s1kit.generation.loop import ScoringRow
from s1kit.generation.shared import SharedDecoder

SAME = ("key", "thinking", "answer", "thinking_tokens", "answer_tokens", "events", "correct")


def _records(out):
    rows = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    return sorted(({k: r[k] for k in SAME} for r in rows), key=lambda r: r["key"])


def _steps(engine):
    """The rows of each engine decode call (a wrapper around the real pool's method)."""
    pool, calls = engine.pool, []
    real = pool.decode

    def counting(items):
        calls.append(len({seq for seq, *_ in items}))
        return real(items)

    pool.decode = counting
    return calls, lambda: setattr(pool, "decode", real)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_batches_in_flight_share_steps_and_write_the_same_records(tiny_llamacpp, tmp_path, temperature):
    gen = Generator(tiny_llamacpp, "r1")
    cfg = EvalConfig(
        task="gsm8k",
        budgets=(3, 9, 40),
        num_ignore=(0, 1),
        samples=2 if temperature else 1,
        temperature=temperature,
        limit=3,
        batch_size=2,
        max_answer_tokens=5,
        grading_workers=1,
    )
    steps = {}
    for width in (1, None):
        calls, undo = _steps(tiny_llamacpp)
        try:
            run_eval(cfg, tmp_path / str(width), generator=gen, in_flight=width)
        finally:
            undo()
        steps[width] = calls
    one, many = _records(tmp_path / "1"), _records(tmp_path / "None")
    assert len(one) == 3 * 3 * 2 * cfg.samples
    assert one == many
    assert max(steps[1]) <= cfg.batch_size
    assert max(steps[None]) > cfg.batch_size  # rows of several batches decoded in one step
    assert len(steps[None]) < len(steps[1])


def test_shared_decoder_serves_threads_and_stops_them_all_on_error(tiny_llamacpp):
    gen = Generator(tiny_llamacpp, "r1")
    prompt = gen.tokenizer.encode(gen.render("What is 2+2?"))
    seen: dict[int, int] = {}

    def observer(i):
        def observe(logits, token):
            seen[i] = seen.get(i, 0) + 1

        return observe

    shared = SharedDecoder(tiny_llamacpp)
    try:
        rows = [ScoringRow(prompt, list(range(100, 100 + 5 + i)), observer(i), key=i) for i in range(8)]
        threads = [threading.Thread(target=shared.run, args=(rows[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert all(r.left for r in rows)
        assert seen == {i: 5 + i for i in range(8)}
        shared.abort(KeyboardInterrupt())
        with pytest.raises(S1kitError, match="shared decoding batch stopped"):
            shared.run([ScoringRow(prompt, [100, 101], observer(99))])
    finally:
        shared.close()
