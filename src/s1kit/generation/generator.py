"""The Generator: a backend plus budget forcing, in the decoding loop or round by round.

Example:
    >>> from s1kit import Budget, Generator
    >>> gen = Generator.load("default")                                    # doctest: +SKIP
    >>> out = gen.generate("What is 2+3?", Budget(max_thinking_tokens=64))  # doctest: +SKIP
    >>> out.thinking_tokens <= 64                                            # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Literal

from s1kit.backends import Engine, load_engine
from s1kit.backends.tokenizer import IncrementalDecoder
from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.forcing.choice import choose_format
from s1kit.forcing.formats import ReasoningFormat
from s1kit.forcing.state import ForcingPlan, ForcingState, Role
from s1kit.generation.completion import Completion, Timings
from s1kit.generation.loop import Decoder, ForcingRow, Monitor, Row
from s1kit.generation.rounds import feed_result, next_round, run_rounds
from s1kit.generation.sampling import Sampler, SamplingParams
from s1kit.generation.shared import SharedDecoder

Mode = Literal["loop", "rounds"]
OnToken = Callable[[int, Role, str], None]
Cancelled = Callable[[int], bool]


class Generator:
    """Budget-forced generation on one engine with one reasoning format."""

    def __init__(self, engine: Engine, format: str | ReasoningFormat | None = None) -> None:
        self.engine = engine
        self.tokenizer = engine.tokenizer
        choice = choose_format(self.tokenizer, format)  # None: the model's own (forcing/choice.py)
        self.format, self.format_reason = choice.format, choice.reason
        self.format_ids = self.format.ids(self.tokenizer)
        self._shared: SharedDecoder | None = None

    @contextmanager
    def sharing(self) -> Iterator[SharedDecoder | None]:
        """While active, calls from many threads decode their rows in one running batch.

        Each ``generate_batch`` (loop mode) and :meth:`decode_rows` call joins the same
        :class:`~s1kit.generation.shared.SharedDecoder`, so a finished row's place is taken at once by
        another call's row. Yields None (and changes nothing) on an engine without step-level decoding.
        """
        if not self.engine.max_batch or self._shared is not None:
            yield self._shared
            return
        self._shared = SharedDecoder(self.engine)
        try:
            yield self._shared
        finally:
            shared, self._shared = self._shared, None
            shared.close()

    def decode_rows(self, rows: Sequence[Row]) -> None:
        """Decode loop rows (scorers, constrained rows) to the end, in the shared batch when one is open."""
        if self._shared is not None:
            self._shared.run(rows)
            return
        decoder = Decoder(self.engine)
        try:
            decoder.submit(rows)
            decoder.run()
        finally:
            decoder.close()

    @classmethod
    def load(
        cls,
        model: str = "default",
        *,
        backend: str = "auto",
        format: str | ReasoningFormat | None = None,
        **kwargs: Any,
    ) -> Generator:
        """Load ``model`` (``default``, a GGUF file, a model folder, or a URL) on ``backend``.

        ``format=None`` picks one from the model itself, the same way on every backend: the format
        recorded by ``s1kit train``, else the one the chat template declares, else ``r1``
        (:mod:`s1kit.forcing.choice`). ``chat_template``: Jinja text replacing the model's template.
        """
        template = kwargs.pop("chat_template", None)
        engine = load_engine(model, backend, **kwargs)
        if template is not None:
            engine.tokenizer.chat_template = template
        return cls(engine, format)

    def render(self, question: str, *, system: str | None = None) -> str:
        """The chat-templated prompt for a question, opened for thinking."""
        return self.format.render_prompt(self.tokenizer, question, system=system)

    def plan(self, budget: Budget) -> ForcingPlan:
        return ForcingPlan.build(budget, self.format_ids, self.tokenizer)

    def generate(
        self,
        prompt: str,
        budget: Budget | None = None,
        sampling: SamplingParams | None = None,
        *,
        mode: Mode = "loop",
        rendered: bool = False,
        on_token: OnToken | None = None,
    ) -> Completion:
        """Generate for one prompt; see :meth:`generate_batch`."""
        return self.generate_batch(
            [prompt], budget, sampling, mode=mode, rendered=rendered, on_token=on_token
        )[0]

    def generate_batch(
        self,
        prompts: Sequence[str],
        budget: Budget | Sequence[Budget] | None = None,
        sampling: SamplingParams | Sequence[SamplingParams] | None = None,
        *,
        mode: Mode = "loop",
        rendered: bool = False,
        on_token: OnToken | None = None,
        cancelled: Cancelled | None = None,
        monitor: Monitor | None = None,
    ) -> list[Completion]:
        """Generate for many prompts with one budget.

        Args:
            prompts: questions (rendered with the chat template and format) or, with ``rendered=True``,
                prompt texts already ending inside the thinking section.
            budget: one budget for all prompts, or one per prompt (a server batches mixed requests).
            sampling: one setting for all prompts, or one per prompt.
            mode: ``loop`` forces inside the decoding loop (batched where the engine can);
                ``rounds`` uses only "generate until a stop" calls, as over an HTTP server.
            on_token: called with (prompt index, role, text delta) as tokens arrive.
            cancelled: polled with a prompt index; True stops that sequence (finish_reason "length").
            monitor: a per-step hook for methods that watch the thinking (early exit); loop mode only.
        """
        budgets = _per_prompt(budget, Budget(), len(prompts), "budget")
        samplings = _per_prompt(sampling, SamplingParams(), len(prompts), "sampling")
        texts = list(prompts) if rendered else [self.render(p) for p in prompts]
        ids = [self.tokenizer.encode(t) for t in texts]
        for i, p in enumerate(ids):
            if len(p) >= self.engine.context_length:
                raise S1kitError(
                    f"prompt {i} has {len(p)} tokens, more than the model's context of {self.engine.context_length}"
                )
        plans = {b: self.plan(b) for b in dict.fromkeys(budgets)}
        states = [ForcingState(plans[b], _listener(self, i, on_token)) for i, b in enumerate(budgets)]
        if self.engine.max_batch and mode == "rounds" and any(sp.logit_bias for sp in samplings):
            raise S1kitError(
                "logit_bias on a local backend needs --mode loop (its rounds cannot mask tokens)"
            )
        if monitor is not None and (mode != "loop" or not self.engine.max_batch):
            raise S1kitError(
                f"this method needs step-level decoding (the llamacpp or hf backend), not {self.engine.name}"
            )
        if getattr(self.engine, "complete_batch", None) and (mode == "rounds" or not self.engine.max_batch):
            # One batched engine call per round over every live sequence (vLLM in process).
            results = run_rounds(self.engine, ids, states, samplings, cancelled)
        elif not self.engine.max_batch and len(ids) > 1 and getattr(self.engine, "max_in_flight", 0):
            # An HTTP engine: rounds of different prompts run concurrently (the engine bounds requests
            # in flight and balances its servers); a local engine without step access runs in order.
            workers = min(len(ids), int(self.engine.max_in_flight))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [
                    pool.submit(self._rounds, i, p, states[i], samplings[i], cancelled)
                    for i, p in enumerate(ids)
                ]
                results = [f.result() for f in futures]
        elif mode == "rounds" or not self.engine.max_batch:
            results = [self._rounds(i, p, states[i], samplings[i], cancelled) for i, p in enumerate(ids)]
        elif mode == "loop":
            results = self._loop(ids, states, samplings, cancelled, monitor)
        else:
            raise S1kitError(f"unknown mode {mode!r}: expected 'loop' or 'rounds'")
        return [
            self._completion(q, p, st, tm) for q, p, st, tm in zip(prompts, ids, states, results, strict=True)
        ]

    # -- forcing in the decoding loop ----------------------------------------------------------------
    def _loop(
        self,
        prompts: list[list[int]],
        states: list[ForcingState],
        samplings: list[SamplingParams],
        cancelled: Cancelled | None,
        monitor: Monitor | None = None,
    ) -> list[Timings]:
        """All prompts through the one decoding loop: ``max_batch`` rows at a time, a finished row's
        place taken at once by the next prompt (continuous batching)."""
        vocab = self.tokenizer.vocab_size
        rows = [
            ForcingRow(
                p,
                st,
                Sampler(sp, vocab, stream=i, thinking=lambda st=st: st.phase == "thinking"),
                key=i,
                cancelled=None if cancelled is None else (lambda i=i: cancelled(i)),
                monitor=monitor,
            )
            for i, (p, st, sp) in enumerate(zip(prompts, states, samplings, strict=True))
        ]
        self.decode_rows(rows)
        return [Timings(r.prefill_s, max(0.0, r.t_end - r.t_join), r.generated) for r in rows]

    # -- forcing round by round ----------------------------------------------------------------------
    def _rounds(
        self,
        index: int,
        prompt: list[int],
        st: ForcingState,
        sampling: SamplingParams,
        cancelled: Cancelled | None,
    ) -> Timings:
        t0 = time.perf_counter()
        ctx = self.engine.context_length
        while True:
            n = next_round(st, len(prompt), ctx, cancelled is not None and cancelled(index))
            if n is None:
                break
            res = self.engine.complete(
                prompt + st.tokens,
                max_tokens=n,
                stop=st.stop_sequences(),
                sampling=_phase_sampling(sampling, st),
            )
            feed_result(st, res)
        return Timings(0.0, time.perf_counter() - t0, len(st.tokens))

    def _completion(
        self, prompt_text: str, prompt: list[int], st: ForcingState, timings: Timings
    ) -> Completion:
        dec = self.tokenizer.decode
        return Completion(
            prompt=prompt_text,
            thinking=dec(st.span("think", "ignore")),
            answer=dec(st.span("primer", "answer")),
            thinking_tokens=st.thinking_tokens,
            answer_tokens=st.answer_tokens,
            forced_end=st.forced_end,
            ignored_stops=st.ignored_stops,
            finish_reason=st.finish_reason or "length",
            events=tuple(st.events),
            timings=timings,
            prompt_tokens=len(prompt),
            token_ids=tuple(st.tokens),
        )


def _phase_sampling(sp: SamplingParams, st: ForcingState) -> SamplingParams:
    """A round's sampling: a thinking-only logit bias is dropped once the answer has begun."""
    if sp.logit_bias and not sp.bias_for(thinking=st.phase == "thinking"):
        return dataclasses.replace(sp, logit_bias=())
    return sp


def _per_prompt(value: Any, default: Any, n: int, name: str) -> list[Any]:
    if value is None:
        return [default] * n
    if isinstance(value, Budget | SamplingParams):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise S1kitError(f"{name}: got {len(values)} values for {n} prompts")
    return values


def _listener(gen: Generator, index: int, on_token: OnToken | None) -> Callable[[int, Role], None] | None:
    if on_token is None:
        return None
    decoder = IncrementalDecoder(gen.tokenizer)

    def listen(token: int, role: Role) -> None:
        text = decoder.push(token)
        if text:
            on_token(index, role, text)

    return listen
