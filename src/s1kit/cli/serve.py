"""``s1kit serve``: an OpenAI-compatible server with per-request thinking budgets (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import os
import sys

from s1kit.cli.common import add_budget_message_argument, add_model_arguments, engine_kwargs, resolve_format
from s1kit.errors import MissingExtraError, S1kitError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--api-key",
        default=os.environ.get("S1KIT_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1 requests (default $S1KIT_API_KEY)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads for decoding (torch / llama.cpp; default: all)"
    )
    p.add_argument("--max-queue", type=int, default=256, help="waiting requests before 503")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body")
    p.add_argument("--max-prompt-tokens", type=int, default=None, help="longest prompt (default: context)")
    p.add_argument(
        "--max-tokens-cap", type=int, default=8192, help="largest max_tokens / max_thinking_tokens accepted"
    )
    p.add_argument(
        "--default-max-tokens", type=int, default=512, help="answer tokens when a request sets none"
    )
    p.add_argument(
        "--allowed-hosts",
        default=None,
        metavar="NAMES",
        help="comma-separated Host names the server answers to, '*' for any (default: the loopback names "
        "and --host; any when bound to all addresses); refuses DNS-rebinding pages",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (https://app.example) whose pages may call the API (repeatable; '*' any; "
        "default none: cross-origin browser requests are refused)",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send a whole request (headers and body) before a 408",
    )
    add_model_arguments(p)
    add_budget_message_argument(p)


def allowed_hosts(args: argparse.Namespace) -> tuple[str, ...]:
    if args.allowed_hosts is not None:
        hosts = tuple(h.strip() for h in args.allowed_hosts.split(",") if h.strip())
        if not hosts:
            raise S1kitError("--allowed-hosts is empty: expected comma-separated host names or '*'")
        return hosts
    if args.host in ("0.0.0.0", "::", ""):
        return ("*",)  # every address: the names it is reached by are not known here
    return tuple(dict.fromkeys((*LOOPBACK, args.host)))


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.checks import check_numbers

    check_numbers(
        args,
        positive=(
            "threads",
            "max_queue",
            "max_body_bytes",
            "max_prompt_tokens",
            "max_tokens_cap",
            "default_max_tokens",
            "n_ctx",
        ),
        positive_float=("read_timeout",),
    )
    hosts = allowed_hosts(args)
    if not 0 < args.port < 65536:
        raise S1kitError(f"--port={args.port} is invalid: expected 1-65535")
    if args.backend == "openai" or str(args.model).startswith(("http://", "https://")):
        raise S1kitError("serve needs a local backend (hf or llamacpp), not another server")
    try:
        import uvicorn

        from s1kit.serving import ServerConfig, create_app
        from s1kit.serving.guard import uvicorn_config
    except ImportError as e:
        raise MissingExtraError("s1kit serve", "serve", e.name or "fastapi") from None
    from s1kit.backends.models import gguf_to_hf, resolve_model
    from s1kit.generation.generator import Generator

    spec = resolve_model(args.model)
    kwargs = engine_kwargs(args)
    if args.backend == "hf" or (args.backend == "auto" and spec.kind == "hf"):
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)  # oversubscribed cores make OpenMP spin: fewer is faster
    elif args.threads:
        kwargs["n_threads"] = args.threads
    gen = Generator.load(args.model, backend=args.backend, format=resolve_format(args), **kwargs)
    root = gguf_to_hf(spec.path) if gen.engine.name == "hf" and spec.kind == "gguf" else spec.path
    config = ServerConfig(
        api_key=args.api_key or None,
        max_batch=gen.engine.max_batch,  # --max-batch sized the engine's batch (common model options)
        max_queue=args.max_queue,
        max_body_bytes=args.max_body_bytes,
        max_prompt_tokens=args.max_prompt_tokens,
        max_tokens_cap=args.max_tokens_cap,
        default_max_tokens=args.default_max_tokens,
        root=str(root),
        allowed_hosts=hosts,
        cors_origins=tuple(args.cors_origin),
        read_timeout=args.read_timeout,
        budget_message=args.budget_message,
    )
    if args.host not in LOOPBACK and not config.api_key:
        print(
            f"warning: serving on {args.host} without --api-key: anyone who can reach it can use it",
            file=sys.stderr,
        )
    app = create_app(gen, config)
    print(
        f"s1kit serve: {gen.engine.model_name} on {gen.engine.name} (format {gen.format.name}) at "
        f"http://{args.host}:{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.Server(
        uvicorn_config(
            app,
            read_timeout=args.read_timeout,
            max_connections=max(8192, args.max_queue + 64),
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    ).run()
    return 0
