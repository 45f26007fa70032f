"""Budget forcing round by round over a whole batch, on an engine that can only "generate until a stop".

Each sequence's :class:`~s1kit.forcing.state.ForcingState` says what to ask for (its stop sequences,
``max_tokens`` from the budget); the tokens that come back are replayed into it, the forced text
("Wait", the end of thinking, the answer primer) is appended, and the next round starts from the longer
context, which the engine's prefix cache has already seen.

Two ways to drive the engine:

- **continuous** (an engine with ``submit``/``wait``, vLLM's offline engine): every sequence's first
  round is submitted at once, and each sequence's next round as soon as its previous one returns, while
  the others keep decoding. No sequence waits for another's round.
- **lock-step** (an engine with only ``complete_batch``): one batched call per round over every live
  sequence; a sequence whose round ends early waits for the longest one.

The transitions are those of :meth:`Generator._rounds <s1kit.generation.generator.Generator._rounds>`
one sequence at a time, so greedy output is the same either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from s1kit.forcing.state import ForcingState
from s1kit.generation.completion import Timings
from s1kit.generation.sampling import SamplingParams


def next_round(st: ForcingState, used: int, context: int, cancelled: bool = False) -> int | None:
    """Tokens to ask for in the next round of ``st`` (``used``: prompt tokens), or None when finished.

    Appends whatever the state forces first; ends the sequence when the context is full or it was
    cancelled.
    """
    while True:
        st.drain_forced()
        if st.done:
            return None
        if cancelled:
            st.end_by_length()
            return None
        room = context - used - len(st.tokens)
        if room <= 0:
            st.end_by_length()
            return None
        free = st.free_tokens()
        n = room if free is None else min(free, room)
        if n > 0:
            return n
        # n <= 0: the budget is spent and the state has queued the forced end; drain it.


def run_rounds(
    engine: Any,
    prompts: Sequence[list[int]],
    states: Sequence[ForcingState],
    samplings: Sequence[SamplingParams],
    cancelled: Callable[[int], bool] | None = None,
) -> list[Timings]:
    """Force every sequence round by round; returns per-sequence timings.

    With ``engine.submit(key, prompt, max_tokens=..., stop=..., sampling=...)`` and ``engine.wait()``
    (rounds that finished, as ``(key, RoundResult)`` pairs; empty when none is in flight) and
    ``engine.abort()``, each sequence moves on by itself (continuous). Otherwise
    ``engine.complete_batch(prompts, max_tokens=..., stops=..., samplings=...)`` runs one round for
    every live sequence and returns :class:`~s1kit.backends.base.RoundResult` objects in order
    (lock-step).
    """
    if all(callable(getattr(engine, m, None)) for m in ("submit", "wait", "abort")):
        return _continuous(engine, prompts, states, samplings, cancelled)
    t0 = time.perf_counter()
    finished = [0.0] * len(prompts)
    live = list(range(len(prompts)))
    while live:
        asks: list[tuple[int, int]] = []
        for i in live:
            n = next_round(states[i], len(prompts[i]), engine.context_length, _is(cancelled, i))
            if n is None:
                finished[i] = time.perf_counter() - t0
            else:
                asks.append((i, n))
        if not asks:
            break
        results = engine.complete_batch(
            [prompts[i] + states[i].tokens for i, _ in asks],
            max_tokens=[n for _, n in asks],
            stops=[states[i].stop_sequences() for i, _ in asks],
            samplings=[samplings[i] for i, _ in asks],
        )
        for (i, _), res in zip(asks, results, strict=True):
            feed_result(states[i], res)
        live = [i for i, _ in asks]
    return [Timings(0.0, finished[i], len(st.tokens)) for i, st in enumerate(states)]


def _continuous(
    engine: Any,
    prompts: Sequence[list[int]],
    states: Sequence[ForcingState],
    samplings: Sequence[SamplingParams],
    cancelled: Callable[[int], bool] | None,
) -> list[Timings]:
    t0 = time.perf_counter()
    finished = [0.0] * len(prompts)

    def advance(i: int) -> None:
        st = states[i]
        n = next_round(st, len(prompts[i]), engine.context_length, _is(cancelled, i))
        if n is None:
            finished[i] = time.perf_counter() - t0
        else:
            engine.submit(
                i, prompts[i] + st.tokens, max_tokens=n, stop=st.stop_sequences(), sampling=samplings[i]
            )

    try:
        for i in range(len(prompts)):
            advance(i)
        while done := engine.wait():
            for i, res in done:
                feed_result(states[i], res)
                advance(i)
    except BaseException:
        engine.abort()  # the rounds still in flight, so the engine can serve the next batch
        raise
    return [Timings(0.0, finished[i], len(st.tokens)) for i, st in enumerate(states)]


def feed_result(st: ForcingState, res: Any) -> None:
    """Replay a round's tokens into ``st``; a round cut by the context (or empty) ends the sequence."""
    st.feed_round(res.tokens, stopped=res.stopped)
    if res.length or (not res.tokens and not res.stopped):
        st.end_by_length()


def _is(cancelled: Callable[[int], bool] | None, i: int) -> bool:
    return cancelled is not None and cancelled(i)
