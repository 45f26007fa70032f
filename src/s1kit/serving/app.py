"""The OpenAI-compatible HTTP app: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``, ``/health``.

Every request passes the :class:`~s1kit.serving.guard.Guard` (Host, Origin), is authenticated (with an
API key), read with a size bound and a JSON content type, parsed strictly (:mod:`s1kit.serving.schemas`),
tokenised off the event loop (message contents as plain text, :mod:`s1kit.serving.prompts`) and turned
into a :class:`~s1kit.serving.scheduler.Job`; mistakes get an OpenAI-style error body with a 4xx status.
A client that goes away, streaming or not, has its job cancelled at the next decoding step. Without thinking fields a chat request is plain chat; with
any of them the reply has a thinking section held to the budget, returned as ``reasoning_content``.

Example:
    >>> app = create_app(Generator.load("default"), ServerConfig(api_key="secret"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from s1kit.errors import ConfigError, S1kitError
from s1kit.forcing.budget import Budget
from s1kit.forcing.formats import FORMATS, FormatIds, ReasoningFormat, get_format, open_thinking
from s1kit.forcing.state import ForcingPlan, ForcingState
from s1kit.generation.sampling import SamplingParams
from s1kit.serving import responses as out
from s1kit.serving.guard import LOOPBACK_HOSTS, Guard
from s1kit.serving.intake import ApiError, read_request
from s1kit.serving.prompts import chat_prompt_ids, max_token_bytes
from s1kit.serving.scheduler import Job, QueueFull, Scheduler, Summary, listener, stop_tuple
from s1kit.serving.schemas import ChatRequest, CompletionRequest, GenerationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """Limits and security settings of ``s1kit serve``.

    Attributes:
        api_key: when set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
        max_batch: sequences decoded together (at most the engine's own ``max_batch``).
        max_queue: requests waiting for a slot before new ones get 503.
        max_body_bytes: largest accepted request body.
        max_prompt_tokens: longest accepted prompt (default: the context length minus one).
        max_tokens_cap: largest ``max_tokens`` and ``max_thinking_tokens`` a request may ask for; also the
            thinking cap when a thinking request sets none.
        default_max_tokens: answer tokens when a request sets no ``max_tokens``.
        root: a local path of the model (reported in ``/v1/models`` so clients can load its tokenizer).
        allowed_hosts: ``Host`` names the server answers to (``"*"``: any); the default is loopback.
        cors_origins: web origins allowed to call the API from a browser (``"*"``: any); default none.
        read_timeout: seconds a client has to send a whole request (headers and body).
    """

    api_key: str | None = None
    max_batch: int = 16
    max_queue: int = 256
    max_body_bytes: int = 1 << 20
    max_prompt_tokens: int | None = None
    max_tokens_cap: int = 8192
    default_max_tokens: int = 512
    root: str | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    cors_origins: tuple[str, ...] = ()
    read_timeout: float = 10.0
    budget_message: str = ""  # forced before the delimiter at the cap when a request gives none


class _Disconnected(Exception):
    pass


def opener(start: str) -> Any:
    """Open the thinking section after the rendered prompt, as ReasoningFormat.render_prompt does."""
    return lambda text: open_thinking(text, start)


def create_app(generator: Any, config: ServerConfig | None = None) -> FastAPI:
    """The app serving ``generator``'s engine; the scheduler thread runs while the app is up."""
    cfg = config or ServerConfig()
    engine, tok = generator.engine, generator.tokenizer
    scheduler = Scheduler(engine, max_batch=cfg.max_batch, max_queue=cfg.max_queue)
    max_prompt = min(cfg.max_prompt_tokens or engine.context_length, engine.context_length - 1)
    formats = {generator.format.name: (generator.format, generator.format_ids)}
    names = {engine.model_name, "default"}
    # Tokenising a long prompt takes a while: never on the event loop, at most two at once.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s1kit-tokenize")
    max_token_bytes(tok)  # starts reading the vocabulary for too_long's bound

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler.start()
        yield
        await asyncio.to_thread(scheduler.shutdown)
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="s1kit",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # a redirect would build its Location from the client's Host header
    )
    app.add_middleware(Guard, allowed_hosts=cfg.allowed_hosts, cors_origins=cfg.cors_origins)
    app.state.scheduler = scheduler
    app.state.config = cfg

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        return out.error(e.status, e.message, param=e.param, code=e.code)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException) -> JSONResponse:
        return out.error(e.status_code, str(e.detail))

    @app.exception_handler(_Disconnected)
    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, e: Exception) -> Response:
        log.info("client %s went away before its reply was sent", request.client and request.client.host)
        return Response(status_code=499)  # nobody reads it: the connection is gone

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        return out.error(500, f"internal error: {type(e).__name__}", kind="server_error")

    def authorize(request: Request) -> None:
        if cfg.api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {cfg.api_key}".encode()):
            raise ApiError(
                401,
                "invalid or missing API key (expected 'Authorization: Bearer <key>')",
                code="invalid_api_key",
            )

    async def parse(request: Request, model: type[BaseModel]) -> Any:
        authorize(request)
        req = await read_request(request, model, cfg.max_body_bytes)
        if req.model not in names:
            raise ApiError(  # 400 as the issue asks (OpenAI itself answers 404); the code names it
                400,
                f"model {req.model!r} is not served here; try {engine.model_name!r}",
                param="model",
                code="model_not_found",
            )
        return req

    def logit_bias(req: GenerationRequest) -> dict[int, float]:
        bias = {}
        for key, value in (req.logit_bias or {}).items():
            if not key.isdigit() or int(key) >= tok.vocab_size or not -100 <= value <= 100:
                raise ApiError(
                    400,
                    f"logit_bias maps token ids in [0, {tok.vocab_size}) to biases in [-100, 100]; "
                    f"got {key[:12]!r}: {value}",
                    param="logit_bias",
                )
            bias[int(key)] = float(value)
        return bias

    def sampling(req: GenerationRequest) -> SamplingParams:
        try:
            return SamplingParams(
                temperature=1.0 if req.temperature is None else float(req.temperature),
                top_p=1.0 if req.top_p is None else float(req.top_p),
                top_k=max(0, req.top_k or 0),
                seed=req.seed,
                logit_bias=logit_bias(req),
            )
        except ConfigError as e:
            raise ApiError(400, str(e), param=e.field) from None

    def pick_format(req: GenerationRequest) -> tuple[ReasoningFormat, FormatIds]:
        name = req.reasoning_format or generator.format.name
        if name not in formats:
            if name not in FORMATS:
                raise ApiError(
                    400,
                    f"reasoning_format {name!r} is unknown: expected one of {sorted(FORMATS)}",
                    param="reasoning_format",
                )
            try:
                formats[name] = (get_format(name), get_format(name).ids(tok))
            except S1kitError as e:
                raise ApiError(400, f"reasoning_format {name!r}: {e}", param="reasoning_format") from None
        fmt, ids = formats[name]
        extra = frozenset(i for i in (req.stop_token_ids or ()) if i < tok.vocab_size)
        return fmt, (replace(ids, answer_stops=ids.answer_stops | extra) if extra else ids)

    def limit(value: int, field: str) -> int:
        if value > cfg.max_tokens_cap:
            raise ApiError(
                400, f"{field}={value} is over this server's limit of {cfg.max_tokens_cap}", param=field
            )
        return value

    def too_long(size: int, field: str) -> None:
        """Refuse, before tokenising, a prompt with more bytes than ``max_prompt`` tokens can cover."""
        per_token = max_token_bytes(tok)
        if per_token is not None and size > max_prompt * per_token:
            raise ApiError(
                400,
                f"the prompt has {size} bytes, more than {max_prompt} tokens can hold with this tokenizer "
                f"(context {engine.context_length})",
                param=field,
                code="context_length_exceeded",
            )

    def make_job(req: GenerationRequest, prompt: list[int], *, default_tokens: int) -> Job:
        if len(prompt) > max_prompt:
            raise ApiError(
                400,
                f"the prompt has {len(prompt)} tokens; this server accepts at most {max_prompt} (context {engine.context_length})",
                param="messages" if isinstance(req, ChatRequest) else "prompt",
                code="context_length_exceeded",
            )
        answer = limit(req.answer_limit(default_tokens), "max_tokens")
        if req.max_thinking_tokens is not None:
            limit(req.max_thinking_tokens, "max_thinking_tokens")
        try:
            if req.thinking:
                budget = req.budget(
                    answer_tokens=answer, thinking_cap=cfg.max_tokens_cap, budget_message=cfg.budget_message
                )
            else:
                budget = Budget(max_answer_tokens=answer)
            plan = ForcingPlan.build(budget, pick_format(req)[1], tok)
        except ConfigError as e:
            raise ApiError(400, str(e), param=e.field) from None
        ref: list[Job] = []
        # a plain completion starts in the answer phase: no thinking section
        state = ForcingState(plan, listener(ref, tok), phase="thinking" if req.thinking else "answer")
        job = Job(prompt, state, sampling(req), stop=stop_tuple(req.stop), loop=asyncio.get_running_loop())
        ref.append(job)
        try:
            scheduler.submit(job)
        except QueueFull as e:
            raise ApiError(503, f"server busy: {e}", code="server_busy") from None
        return job

    def watch(job: Job, request: Request) -> asyncio.Task[None]:
        """Cancel ``job`` as soon as its client disconnects (the body is read: the next message is that)."""

        async def wait() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            job.cancelled = True  # the scheduler drops it at its next step
            job.events.put_nowait(("gone",))

        return asyncio.create_task(wait())

    async def next_event(job: Job) -> tuple[Any, ...]:
        ev = await job.events.get()
        if ev[0] == "gone":
            raise _Disconnected
        return ev

    async def result(job: Job, request: Request) -> Summary:
        watcher = watch(job, request)
        try:
            while True:
                ev = await next_event(job)
                if ev[0] == "done":
                    return ev[1]
                if ev[0] == "error":
                    raise ApiError(500, ev[1], code="generation_failed")
        finally:
            watcher.cancel()
            job.cancelled = True  # a no-op once done; frees the slot when the client left

    async def stream(job: Job, request: Request, chunks: out.Chunks) -> AsyncIterator[str]:
        watcher = watch(job, request)
        try:
            yield chunks.start()
            while True:
                ev = await next_event(job)
                if ev[0] == "delta":
                    piece = chunks.delta(ev[1], ev[2])
                    if piece:
                        yield piece
                elif ev[0] == "done":
                    yield chunks.end(ev[1])
                    break
                else:
                    yield out.sse({"error": {"message": ev[1], "type": "server_error"}})
                    break
            yield "data: [DONE]\n\n"
        except _Disconnected:
            return
        finally:
            watcher.cancel()
            job.cancelled = True

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", **scheduler.load}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request)
        return out.models(engine.model_name, engine.context_length, cfg.root)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        req: ChatRequest = await parse(request, ChatRequest)
        if req.logprobs or req.top_logprobs is not None:
            raise ApiError(
                400,
                "logprobs and top_logprobs are not supported by this server",
                param="logprobs" if req.logprobs else "top_logprobs",
            )
        messages = [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in req.messages
        ]
        too_long(sum(len(m["content"].encode()) for m in messages), "messages")
        finish = (lambda t: t) if not req.thinking else opener(pick_format(req)[0].think_start)
        try:
            ids = await asyncio.get_running_loop().run_in_executor(
                pool, chat_prompt_ids, tok, messages, finish
            )
        except S1kitError as e:
            raise ApiError(400, str(e), param="messages") from None
        except Exception as e:  # a template may refuse a message order (jinja raise_exception)
            raise ApiError(
                400, f"the chat template refused these messages: {str(e)[:200]}", param="messages"
            ) from None
        job = make_job(req, ids, default_tokens=cfg.default_max_tokens)
        meta = out.Meta(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), engine.model_name)
        if req.stream:
            usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(
                stream(job, request, out.ChatChunks(meta, usage)), media_type="text/event-stream"
            )
        return JSONResponse(out.chat(meta, await result(job, request), req.return_token_ids))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        req: CompletionRequest = await parse(request, CompletionRequest)
        value = req.prompt_value()
        if isinstance(value, str):
            too_long(len(value.encode()), "prompt")
            prompt = await asyncio.get_running_loop().run_in_executor(pool, tok.encode, value)
        else:
            bad = [i for i in value if not 0 <= i < tok.vocab_size]
            if bad:
                raise ApiError(
                    400,
                    f"prompt token ids must be integers in [0, {tok.vocab_size}) (the vocabulary size); "
                    f"got {bad[:5]}",
                    param="prompt",
                )
            prompt = list(value)
        if not prompt:
            raise ApiError(400, "the prompt is empty", param="prompt")
        job = make_job(req, prompt, default_tokens=16)
        meta = out.Meta(f"cmpl-{uuid.uuid4().hex}", int(time.time()), engine.model_name)
        if req.stream:
            usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(
                stream(job, request, out.TextChunks(meta, usage)), media_type="text/event-stream"
            )
        return JSONResponse(out.completion(meta, await result(job, request), req.return_token_ids))

    return app
