"""The server's scheduler: one thread owns the engine and decodes every admitted request together.

Requests become :class:`Job` objects holding a :class:`~s1kit.forcing.ForcingState`; the thread admits
queued jobs into the running batch whenever rows are free (continuous batching on every local backend:
rows join and leave through the engine session's own ``add``/``remove``), decodes with the one loop
(:class:`~s1kit.generation.loop.Decoder`) that the Generator uses, and sends text deltas and a final
summary to each job's asyncio queue. A cancelled job (its client went away) leaves the batch at the
next step.
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
from s1kit.backends.tokenizer import IncrementalDecoder, Tokenizer
from s1kit.errors import S1kitError
from s1kit.forcing.state import ForcingState, Role
from s1kit.generation.loop import Decoder, ForcingRow
from s1kit.generation.sampling import Sampler, SamplingParams

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
        if not engine.max_batch:
            raise S1kitError(
                f"serving needs step-level decoding (the llamacpp or hf backend), not {engine.name}"
            )
        self.engine = engine
        self.tokenizer: Tokenizer = engine.tokenizer
        self.decoder = Decoder(engine, capacity=max_batch, on_finish=self._finish, exact=False)
        self.max_queue = max_queue
        self.queue: deque[Job] = deque()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="s1kit-scheduler", daemon=True)

    @property
    def steps(self) -> int:
        """Decoding steps run (for tests and metrics)."""
        return self.decoder.steps

    @property
    def joins(self) -> int:
        """Admissions into a batch that was already decoding."""
        return self.decoder.joins

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
        d = self.decoder
        return {
            "active": len(d.live),
            "queued": len(self.queue) + len(d.waiting),
            "capacity": d.capacity,
        }

    # -- the decoding thread ----------------------------------------------------------------------
    def _run(self) -> None:
        d = self.decoder
        while True:
            with self._cv:
                while not self._stop and not self.queue and not d.live and not d.waiting:
                    self._cv.wait(timeout=1.0)
                if self._stop:
                    break
                new = self._take()
            try:
                d.submit(JobRow(j, Sampler(j.sampling, self.tokenizer.vocab_size)) for j in new)
                d.step()
            except Exception as e:  # a bug or an engine failure must not kill the server
                log.exception("decoding failed")
                for row in [*d.live.values(), *d.waiting]:
                    row.job.emit("error", f"generation failed: {type(e).__name__}")  # type: ignore[attr-defined]
                self._reset()
        for job in [*self.queue, *(r.job for r in [*d.live.values(), *d.waiting])]:  # type: ignore[attr-defined]
            job.emit("error", "the server is shutting down")
        d.close()

    def _reset(self) -> None:
        d = self.decoder
        d.on_finish = None
        d.close()
        self.decoder = Decoder(self.engine, capacity=d.capacity, on_finish=self._finish, exact=False)
        self.decoder.steps, self.decoder.joins = d.steps, d.joins

    def _take(self) -> list[Job]:
        """Queued jobs that may join now (as many as the batch has free rows)."""
        room = self.decoder.free() - len(self.decoder.waiting)
        new: list[Job] = []
        while self.queue and len(new) < room:
            job = self.queue.popleft()
            if not job.cancelled:
                new.append(job)
        while self.queue and self.queue[0].cancelled:
            self.queue.popleft()
        return new

    def _finish(self, row: Any) -> None:
        job = row.job
        job.last_sampled = row.last_sampled
        if job.cancelled:
            return
        job.flush()
        job.emit("done", summarize(job, self.tokenizer))


class JobRow(ForcingRow):
    """A request in the running batch: it leaves when its client goes away or a stop string matched."""

    def __init__(self, job: Job, sampler: Sampler) -> None:
        super().__init__(job.prompt, job.state, sampler, key=job, cancelled=self._gone)
        self.job = job

    def _gone(self) -> bool:
        return self.job.cancelled or self.job.stop_hit is not None

    def choose(self, view: Any) -> tuple[int | None, int]:
        token, rollback = super().choose(view)
        if token is not None and self.job.stop_hit:  # the token completed a stop string
            self.state.end_by_length()
            token = None
        return token, rollback


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
