"""Budget forcing round by round over a whole batch: one engine call per round for every live sequence.

An engine that can only "generate until a stop" (vLLM's offline engine) is fastest when each round is
one batched call. Each sequence's :class:`~s1kit.forcing.state.ForcingState` says what to ask for (its
stop sequences, ``max_tokens`` from the budget); the tokens that come back are replayed into it, the
forced text ("Wait", the end of thinking, the answer primer) is appended, and the next round starts
from the longer context, which the engine's prefix cache has already seen.

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
    """Force every sequence round by round with ``engine.complete_batch``; returns per-sequence timings.

    ``engine.complete_batch(prompts, max_tokens=..., stops=..., samplings=...)`` generates one round for
    each prompt and returns :class:`~s1kit.backends.base.RoundResult` objects in order.
    """
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
            st = states[i]
            st.feed_round(res.tokens, stopped=res.stopped)
            if res.length or (not res.tokens and not res.stopped):
                st.end_by_length()
        live = [i for i, _ in asks]
    return [Timings(0.0, finished[i], len(st.tokens)) for i, st in enumerate(states)]


def _is(cancelled: Callable[[int], bool] | None, i: int) -> bool:
    return cancelled is not None and cancelled(i)
