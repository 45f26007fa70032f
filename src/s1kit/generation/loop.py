"""The one decoding loop: rows join a running batch, and each step feeds every live row one token.

Every step-level user of an engine decodes here: the :class:`~s1kit.generation.generator.Generator`
(budget forcing), the server's scheduler (continuous batching), constrained classification in
:mod:`s1kit.curation.diversity` (an allowed-tokens mask) and the scorers in :mod:`s1kit.methods.parallel`
(log-probabilities). What differs between them is a :class:`Row`: how it picks its next token.

A step: every row looks at the batch (:meth:`Row.prepare`: context full, cancelled); the rows that
want a sampled token are sampled together (greedy rows in one call to the session where it offers
one, so a GPU sends one small transfer per step); each row then chooses (a forced token, the sampled
one, or a replacement with a rollback); rows that chose nothing leave; the rest are fed in one engine
step; monitors run; waiting rows join while there is room. When the engine's KV cache is full, the row
that joined last is pre-empted: it leaves and is re-read later from its prompt and tokens so far.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from s1kit.backends.base import CacheFull, DecodeSession
from s1kit.errors import S1kitError
from s1kit.forcing.state import ForcingState
from s1kit.generation.sampling import Sampler, SamplingParams

# Called after each step for a row still thinking: (index, state, view). It may probe on a side branch
# (``view.branch``) and end thinking (``state.end_thinking()``).
Monitor = Callable[[int, ForcingState, Any], None]


class RowView:
    """What a row sees of the batch at one step: its logits, its length, the token sampled for it."""

    def __init__(self, decoder: Decoder, row: int) -> None:
        self.decoder, self.row = decoder, row
        self.sampled: int | None = None

    def logits(self) -> Any:
        return self.decoder.session.logits(self.row)

    @property
    def length(self) -> int:
        return self.decoder.session.length(self.row)

    @property
    def context_length(self) -> int:
        return self.decoder.engine.context_length

    def branch(self, _i: Any, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        """A greedy side branch of this row (``_i`` is ignored: the view is bound to its row)."""
        return self.decoder.session.branch(self.row, forced, max_new=max_new, stop=stop)


class Row:
    """One sequence of the running batch. Subclasses decide its next token."""

    sampler: Sampler | None = None

    def __init__(self, prompt: Sequence[int], key: Any = None) -> None:
        self.prompt = list(prompt)
        self.key = key
        self.resume: list[int] | None = None  # set when pre-empted: what to re-read on joining again
        self.fed = 0  # tokens fed after the prompt (not counting rollbacks)
        self.t_join = self.t_end = 0.0
        self.prefill_s = 0.0
        self.left = False  # set when the row has left the batch for good

    def prepare(self, view: RowView) -> None:
        """Before sampling: end the row if it must (context full, cancelled)."""

    def wants_sample(self) -> bool:
        """True when :meth:`choose` will use a sampled token (the loop samples these rows together)."""
        return False

    def choose(self, view: RowView) -> tuple[int | None, int]:
        """``(token, rollback)``: roll back ``rollback`` fed tokens, then feed ``token`` (None: finished)."""
        raise NotImplementedError

    def after_step(self, view: RowView, token: int) -> None:
        """After the step that fed ``token`` (monitors)."""

    def tokens_so_far(self) -> list[int] | None:
        """Every token fed after the prompt, or None when the row cannot be re-read (not pre-emptible)."""
        return None

    def finish(self) -> None:
        """The row has left the batch."""


class ForcingRow(Row):
    """A budget-forced sequence: its :class:`ForcingState` chooses, its sampler samples."""

    def __init__(
        self,
        prompt: Sequence[int],
        state: ForcingState,
        sampler: Sampler,
        *,
        key: Any = None,
        cancelled: Callable[[], bool] | None = None,
        monitor: Monitor | None = None,
    ) -> None:
        super().__init__(prompt, key)
        self.state, self.sampler = state, sampler
        self.cancelled, self.monitor = cancelled, monitor
        self.last_sampled: int | None = None
        self.generated = 0

    def prepare(self, view: RowView) -> None:
        st = self.state
        if not st.done and (view.length >= view.context_length or (self.cancelled and self.cancelled())):
            st.end_by_length()

    def wants_sample(self) -> bool:
        return not self.state.done and not self.state.has_forced()

    def choose(self, view: RowView) -> tuple[int | None, int]:
        def sample() -> int:
            token = view.sampled if view.sampled is not None else self.sampler(view.logits())
            self.last_sampled = token
            return token

        token, rollback = self.state.choose(sample)
        self.generated += token is not None
        return token, rollback

    def after_step(self, view: RowView, token: int) -> None:
        if self.monitor is not None and self.state.phase == "thinking":
            self.monitor(self.key, self.state, view)

    def tokens_so_far(self) -> list[int]:
        return list(self.state.tokens)


def plain_greedy(params: SamplingParams) -> bool:
    """Greedy with nothing else to apply: the argmax of the raw logits (batchable on the device)."""
    return params.greedy and replace(params, seed=None, top_p=1.0, top_k=0) == SamplingParams()


class Decoder:
    """A running batch on one engine session; rows join (:meth:`submit`) and leave as they finish.

    Example:
        >>> dec = Decoder(engine)                      # doctest: +SKIP
        >>> dec.submit([ForcingRow(ids, state, Sampler(SamplingParams(), vocab))])  # doctest: +SKIP
        >>> dec.run()                                  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: Any,
        *,
        capacity: int | None = None,
        on_finish: Callable[[Row], None] | None = None,
        exact: bool = True,
    ) -> None:
        if not engine.max_batch:
            raise S1kitError(f"step-level decoding needs the llamacpp or hf backend, not {engine.name}")
        self.engine = engine
        self.capacity = max(1, min(capacity or engine.max_batch, engine.max_batch))
        self.session: DecodeSession = engine.open([], SamplingParams())
        self.live: dict[int, Row] = {}
        self.waiting: deque[Row] = deque()
        self.on_finish = on_finish
        self.exact = exact  # False (a server): rows join at once even when the session would drain
        self.steps = 0
        self.joins = 0  # rows that joined a batch already decoding
        self.preempted = 0  # rows sent back to wait because the engine's cache was full

    # -- rows in and out ---------------------------------------------------------------------------
    def submit(self, rows: Iterable[Row]) -> None:
        self.waiting.extend(rows)

    def free(self) -> int:
        return self.capacity - len(self.live)

    def admit(self) -> None:
        """Prefill waiting rows into the batch while there is room (all in one call when they fit)."""
        if self.exact and self.live and getattr(self.session, "draining", False):
            return  # the session frees its retired cells once the live rows finish; then rows join
        while self.waiting and self.free() > 0:
            n = min(self.free(), len(self.waiting))
            rows = [self.waiting.popleft() for _ in range(n)]
            try:
                self._add(rows)
            except CacheFull:
                self.waiting.extendleft(reversed(rows))
                if n > 1:  # fewer at a time may fit
                    row = self.waiting.popleft()
                    try:
                        self._add([row])
                        continue
                    except CacheFull:
                        self.waiting.appendleft(row)
                if not self.live:
                    raise S1kitError(
                        f"a prompt of {len(rows[0].resume or rows[0].prompt)} tokens does not fit in the "
                        f"engine's cache of {self.engine.context_length} tokens"
                    ) from None
                return

    def _add(self, rows: list[Row]) -> None:
        t0 = time.perf_counter()
        ids = self.session.add([r.resume or r.prompt for r in rows])
        t1 = time.perf_counter()
        self.joins += bool(self.live)
        for rid, row in zip(ids, rows, strict=True):
            if row.resume is None:
                row.t_join = t1
            row.prefill_s += t1 - t0
            row.resume = None
            self.live[rid] = row

    def _leave(self, rid: int) -> None:
        row = self.live.pop(rid)
        self.session.remove([rid])
        row.t_end = time.perf_counter()
        row.left = True
        row.finish()
        if self.on_finish is not None:
            self.on_finish(row)

    # -- one step ----------------------------------------------------------------------------------
    def step(self) -> bool:
        """Admit, choose, feed: one decoding step. False when no row is live or waiting."""
        self.admit()
        if not self.live:
            return False
        views = {rid: RowView(self, rid) for rid in self.live}
        for rid, row in self.live.items():
            row.prepare(views[rid])
        self._sample([rid for rid, row in self.live.items() if row.wants_sample()], views)
        feed: dict[int, int] = {}
        for rid, row in list(self.live.items()):
            token, rollback = row.choose(views[rid])
            if rollback:
                self.session.rollback(rid, rollback)
            if token is None:
                self._leave(rid)
            else:
                feed[rid] = token
        self._feed(feed)
        self.steps += 1
        for rid, token in feed.items():
            row = self.live.get(rid)
            if row is not None:
                row.fed += 1
                row.after_step(views[rid], token)
        return bool(self.live or self.waiting)

    def _feed(self, feed: dict[int, int]) -> None:
        while feed:
            try:
                self.session.step(feed)
                return
            except CacheFull:
                victim = self._preempt()
                feed.pop(victim)

    def _preempt(self) -> int:
        for rid in sorted(self.live, reverse=True):  # the row that joined last
            tokens = self.live[rid].tokens_so_far()
            if tokens is not None and len(self.live) > 1:
                row = self.live.pop(rid)
                self.session.remove([rid])
                row.resume = row.prompt + tokens
                self.waiting.appendleft(row)
                self.preempted += 1
                return rid
        raise S1kitError(
            f"the engine's cache of {self.engine.context_length} tokens is full with {len(self.live)} "
            "sequences: lower --max-batch or raise --n-ctx"
        )

    def _sample(self, rids: list[int], views: dict[int, RowView]) -> None:
        greedy = [r for r in rids if plain_greedy(self.live[r].sampler.params)]  # type: ignore[union-attr]
        argmax = getattr(self.session, "argmax", None)
        if greedy and argmax is not None:
            vocab = self.engine.tokenizer.vocab_size
            for r, t in zip(greedy, argmax(greedy, vocab), strict=True):
                views[r].sampled = int(t)
        rest = [r for r in rids if views[r].sampled is None]
        rows_logits = getattr(self.session, "host_logits", None)
        if len(rest) > 1 and rows_logits is not None:  # one transfer for the batch, then host sampling
            for r, lg in zip(rest, rows_logits(rest), strict=True):
                views[r].sampled = self.live[r].sampler(lg)  # type: ignore[misc]

    def run(self) -> None:
        """Step until every submitted row has finished."""
        while self.step():
            pass

    def close(self) -> None:
        for rid in list(self.live):
            self.session.remove([rid])
        self.live.clear()
        self.waiting.clear()
        self.session.close()


class ConstrainedRow(Row):
    """Greedy decoding under an allowed-tokens mask (constrained classification).

    ``allowed(tokens)`` gives the ids allowed after ``tokens`` (the ones chosen so far), or None when
    the row is complete; the row feeds the allowed id with the highest logit (ties: the lowest id).
    """

    def __init__(
        self, prompt: Sequence[int], allowed: Callable[[list[int]], Sequence[int] | None], *, key: Any = None
    ) -> None:
        super().__init__(prompt, key)
        self.allowed = allowed
        self.tokens: list[int] = []

    def choose(self, view: RowView) -> tuple[int | None, int]:
        ids = self.allowed(self.tokens)
        if not ids or view.length >= view.context_length:
            return None, 0
        logits = view.logits()
        scores = [float(logits[t]) for t in ids]
        token = min((-s, t) for s, t in zip(scores, ids, strict=True))[1]
        self.tokens.append(token)
        return token, 0

    def tokens_so_far(self) -> list[int]:
        return list(self.tokens)


class ScoringRow(Row):
    """Teacher forcing: feeds ``tokens`` one by one and hands each step's logits to ``observe``
    (log-probability scorers) before the token is fed."""

    def __init__(
        self,
        prompt: Sequence[int],
        tokens: Sequence[int],
        observe: Callable[[Any, int], None],
        *,
        key: Any = None,
    ) -> None:
        super().__init__(prompt, key)
        self.tokens, self.observe, self.done = list(tokens), observe, 0

    def choose(self, view: RowView) -> tuple[int | None, int]:
        if self.done >= len(self.tokens):
            return None, 0
        token = self.tokens[self.done]
        self.observe(view.logits(), token)
        self.done += 1
        if self.done == len(self.tokens):  # the last token's logits are all a scorer needs
            return None, 0
        return token, 0

    def tokens_so_far(self) -> list[int]:
        return self.tokens[: self.done]


def run_rows(engine: Any, rows: Sequence[Row], *, capacity: int | None = None) -> None:
    """Decode ``rows`` to the end in one running batch (at most ``capacity`` at a time)."""
    decoder = Decoder(engine, capacity=capacity)
    try:
        decoder.submit(rows)
        decoder.run()
    finally:
        decoder.close()
