"""The server's scheduler: one thread owns the engine and decodes every admitted request together.

Requests become :class:`Job` objects holding a :class:`~s1kit.forcing.ForcingState`; the thread admits
queued jobs into the running batch whenever rows are free (continuous batching on the hf backend), runs
the same choose/rollback/step loop as :class:`~s1kit.generate.Generator` in the decoding loop, and
sends text deltas and a final summary to each job's asyncio queue. A cancelled job (its client went
away) leaves the batch at the next step.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from s1kit.backends import Engine
from s1kit.forcing.state import ForcingState, Role
from s1kit.generation.sampling import Sampler, SamplingParams
from s1kit.serving.batching import make_batch
from s1kit.backends.tokenizer import IncrementalDecoder, Tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    """What a finished job produced."""

    reasoning: str
    content: str
    text: str  # everything generated after the prompt (cut at a matched stop string)
    reasoning_tokens: int
    completion_tokens: int
    prompt_tokens: int
    finish_reason: Literal["stop", "length"]
    forced_end: bool
    ignored_stops: int
    token_ids: tuple[int, ...]
    stop_reason: str | int | None = None


@dataclass
class Job:
    """One request in flight. ``events`` receives ("delta", role, text), ("done", Summary) or ("error", msg)."""

    prompt: list[int]
    state: ForcingState
    sampling: SamplingParams
    stop: tuple[str, ...] = ()
    loop: asyncio.AbstractEventLoop | None = None
    events: asyncio.Queue[tuple[Any, ...]] = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    stop_hit: str | None = None
    last_sampled: int | None = None
    _text: str = ""
    _sent: int = 0

    def emit(self, *event: Any) -> None:
        if self.loop is None:
            self.events.put_nowait(event)
            return
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:  # the event loop is gone (server shutting down)
            self.cancelled = True

    def on_text(self, role: Role, text: str) -> None:
        """Stream a delta; answer text is held back while it could still be the start of a stop string."""
        if not self.stop or role not in ("answer", "primer"):
            self.emit("delta", role, text)
            return
        self._text += text
        hits = [(self._text.find(s, max(0, self._sent - len(s))), s) for s in self.stop]
        hits = [(i, s) for i, s in hits if i >= 0]
        if hits:
            cut, s = min(hits)
            self.stop_hit = s
            self._flush(role, cut)
            return
        self._flush(role, len(self._text) - (max(len(s) for s in self.stop) - 1))

    def flush(self) -> None:
        """Send the held-back answer text once generation is over."""
        if self.stop and self.stop_hit is None:
            self._flush("answer", len(self._text))

    def _flush(self, role: Role, upto: int) -> None:
        if upto > self._sent:
            self.emit("delta", role, self._text[self._sent : upto])
            self._sent = upto


class QueueFull(Exception):
    pass


class Scheduler:
    """Owns the engine; :meth:`submit` jobs from any thread, :meth:`start` the decoding thread."""

    def __init__(self, engine: Engine, *, max_batch: int = 16, max_queue: int = 256) -> None:
        self.engine = engine
        self.tokenizer: Tokenizer = engine.tokenizer
        self.batch = make_batch(engine, max_batch)
        self.max_queue = max_queue
        self.queue: deque[Job] = deque()
        self.active: list[Job] = []
        self.samplers: list[Sampler] = []
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="s1kit-scheduler", daemon=True)
        self.steps = 0  # decoding steps run (for tests and metrics)
        self.joins = 0  # admissions into a batch that was already decoding

    def start(self) -> None:
        self._thread.start()

    def shutdown(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=10)

    def submit(self, job: Job) -> None:
        with self._cv:
            if len(self.queue) >= self.max_queue:
                raise QueueFull(f"{len(self.queue)} requests are queued; try again later")
            self.queue.append(job)
            self._cv.notify()

    @property
    def load(self) -> dict[str, int]:
        return {"active": len(self.active), "queued": len(self.queue), "capacity": self.batch.capacity}

    # -- the decoding thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self.queue and not self.active:
                    self._cv.wait(timeout=1.0)
                if self._stop:
                    break
                new = self._take()
            try:
                if new:
                    self._admit(new)
                if self.active:
                    self._step()
            except Exception as e:  # a bug or an engine failure must not kill the server
                log.exception("decoding failed")
                for job in [*new, *self.active]:
                    job.emit("error", f"generation failed: {type(e).__name__}")
                self.active, self.samplers = [], []
                self.batch.close()
        for job in [*self.queue, *self.active]:
            job.emit("error", "the server is shutting down")
        self.batch.close()

    def _take(self) -> list[Job]:
        while self.queue and self.queue[0].cancelled:
            self.queue.popleft()
        room = self.batch.can_add()
        new: list[Job] = []
        while self.queue and len(new) < room:
            job = self.queue.popleft()
            if not job.cancelled:
                new.append(job)
        return new

    def _admit(self, jobs: list[Job]) -> None:
        self.joins += bool(self.active)
        self.batch.add([j.prompt for j in jobs])
        vocab = self.tokenizer.vocab_size
        self.active += jobs
        self.samplers += [Sampler(j.sampling, vocab) for j in jobs]

    def _step(self) -> None:
        ctx = self.engine.context_length
        tokens: list[int | None] = []
        finished: list[int] = []
        for i, (job, sampler) in enumerate(zip(self.active, self.samplers, strict=True)):
            st = job.state
            if not st.done and (job.cancelled or job.stop_hit or self.batch.length(i) >= ctx):
                st.end_by_length()
            token, rollback = st.choose(lambda i=i, job=job, s=sampler: _record(job, s(self.batch.logits(i))))
            if rollback:
                self.batch.rollback(i, rollback)
            if token is not None and job.stop_hit:
                st.end_by_length()
                token = None
            tokens.append(token)
            if token is None:
                finished.append(i)
        for i in finished:
            self._finish(self.active[i])
        if finished:
            self.batch.remove(finished)
            gone = set(finished)
            self.active = [j for i, j in enumerate(self.active) if i not in gone]
            self.samplers = [s for i, s in enumerate(self.samplers) if i not in gone]
            tokens = [t for i, t in enumerate(tokens) if i not in gone]
        if self.active:
            self.batch.step(tokens)
            self.steps += 1

    def _finish(self, job: Job) -> None:
        if job.cancelled:
            return
        job.flush()
        job.emit("done", summarize(job, self.tokenizer))


def _record(job: Job, token: int) -> int:
    job.last_sampled = token
    return token


def listener(job_ref: list[Job], tokenizer: Tokenizer) -> Any:
    """A ForcingState listener that decodes incrementally and hands deltas to the job (set later)."""
    decoder = IncrementalDecoder(tokenizer)

    def listen(token: int, role: Role) -> None:
        text = decoder.push(token)
        if text:
            job_ref[0].on_text(role, text)

    return listen


def summarize(job: Job, tokenizer: Tokenizer) -> Summary:
    st = job.state
    dec = tokenizer.decode
    full = dec(st.span("primer", "answer"))
    content, text = full, dec(st.tokens)
    ids = list(st.tokens)
    stop_reason: str | int | None = None
    if job.stop_hit is not None:
        content = full[: full.find(job.stop_hit)] if job.stop_hit in full else full
        text = text[: max(0, len(text) - len(full) + len(content))]
        stop_reason = job.stop_hit
    elif st.finish_reason == "stop" and job.last_sampled is not None:
        ids.append(job.last_sampled)  # the stop token, as vLLM reports it
        stop_reason = job.last_sampled
    stopped = job.stop_hit is not None or st.finish_reason == "stop"
    return Summary(
        reasoning=dec(st.span("think", "ignore")),
        content=content,
        text=text,
        reasoning_tokens=st.thinking_tokens,
        completion_tokens=len(st.tokens),
        prompt_tokens=len(job.prompt),
        finish_reason="stop" if stopped else "length",
        forced_end=st.forced_end,
        ignored_stops=st.ignored_stops,
        token_ids=tuple(ids),
        stop_reason=stop_reason,
    )


def stop_tuple(stop: str | Sequence[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    return (stop,) if isinstance(stop, str) else tuple(s for s in stop if s)
