"""Options shared by every verb that generates: model, backend, format, budget, sampling.

Declared once here so ``generate``, ``eval``, ``serve`` and the rest never re-declare them.
"""

from __future__ import annotations

import argparse
from typing import Any

from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.forcing.formats import FORMATS, ReasoningFormat
from s1kit.generation.sampling import SamplingParams


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default="default",
        help="'default' (embedded SmolLM2-135M-Instruct), a .gguf file, a model folder, or a server URL",
    )
    g.add_argument(
        "--backend",
        default="auto",
        help="auto, llamacpp, hf or openai (auto: llamacpp for GGUF, hf for folders)",
    )
    g.add_argument(
        "--format",
        default=None,
        help=f"reasoning format: {', '.join(sorted(FORMATS))} or custom (default: chosen per model)",
    )
    g.add_argument("--think-start", default=None, help="custom format: text that opens thinking")
    g.add_argument("--think-end", default=None, help="custom format: end-of-thinking delimiter")
    g.add_argument(
        "--chat-template",
        default=None,
        metavar="FILE",
        help="a Jinja chat template replacing the model's (rendered in a sandbox, as transformers does)",
    )
    g.add_argument("--device", default=None, help="hf backend: cpu, cuda, mps (default: best available)")
    g.add_argument(
        "--n-ctx",
        type=int,
        default=None,
        help="llamacpp backend: KV cache cells shared by the batch; also the longest sequence (default 8192)",
    )
    g.add_argument(
        "--max-batch",
        type=int,
        default=None,
        help="sequences decoded together (llamacpp: default n_ctx/256, 1-64; hf: 16)",
    )
    g.add_argument(
        "--tokenizer",
        dest="client_tokenizer",
        default=None,
        help="openai backend: the served model's tokenizer (folder, .gguf, or 'default') for client-side templates",
    )
    g.add_argument(
        "--remote-api-key", default=None, help="openai backend: bearer key of the server (or $S1KIT_API_KEY)"
    )
    g.add_argument(
        "--engine-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the backend as is, repeatable (vllm: tensor_parallel_size=2, dtype=float32, "
        "max_model_len=32768, gpu_memory_utilization=0.9, enable_prefix_caching=false, seed=0)",
    )


def add_budget_arguments(p: argparse.ArgumentParser, *, sweep: bool = False) -> None:
    g = p.add_argument_group("budget forcing")
    if not sweep:
        g.add_argument(
            "--max-thinking-tokens", type=int, default=None, help="cap on thinking tokens (forced end)"
        )
        g.add_argument(
            "--num-ignore", type=int, default=0, help="attempts to stop thinking to suppress with 'Wait'"
        )
    g.add_argument(
        "--min-thinking-tokens",
        type=int,
        default=0,
        help="suppress every stop before this many thinking tokens",
    )
    g.add_argument(
        "--ignore-strings", default="Wait", help="comma-separated strings appended in rotation (default Wait)"
    )
    g.add_argument(
        "--answer-primer", default="Final Answer:", help="text forced after a forced end of thinking"
    )
    g.add_argument("--max-answer-tokens", type=int, default=512, help="cap on answer tokens")
    add_budget_message_argument(g)


def add_budget_message_argument(g: Any) -> None:
    g.add_argument(
        "--budget-message",
        default="",
        metavar="TEXT",
        help="text forced before the end of thinking at the cap, counted in it (e.g. Qwen3's "
        "'Considering the limited time by the user, I have to give the solution based on the thinking "
        "directly now.')",
    )


def add_sampling_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument("--temperature", type=float, default=0.0, help="0 is greedy")
    g.add_argument("--top-p", type=float, default=1.0)
    g.add_argument("--top-k", type=int, default=0)
    g.add_argument("--seed", type=int, default=None)


def resolve_format(args: argparse.Namespace) -> str | ReasoningFormat | None:
    if args.format == "custom" or (args.format is None and (args.think_start or args.think_end)):
        if not args.think_start or not args.think_end:
            raise S1kitError("--format custom needs both --think-start and --think-end")
        return ReasoningFormat.custom(args.think_start, args.think_end)
    if args.format is not None and args.format not in FORMATS:
        raise S1kitError(
            f"unknown reasoning format {args.format!r}: expected one of {sorted(FORMATS)} or custom"
        )
    return args.format


def engine_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if getattr(args, "chat_template", None):  # replaces the model's own before the format is chosen
        kw["chat_template"] = read_chat_template(args.chat_template)
    if getattr(args, "device", None):
        kw["device"] = args.device
    if getattr(args, "n_ctx", None) is not None:
        if args.n_ctx < 1:
            raise S1kitError(f"--n-ctx={args.n_ctx} is invalid: expected an integer >= 1")
        kw["n_ctx"] = args.n_ctx
    if getattr(args, "max_batch", None) is not None:
        if args.max_batch < 1:
            raise S1kitError(f"--max-batch={args.max_batch} is invalid: expected an integer >= 1")
        if args.backend == "openai" or str(args.model).startswith(("http://", "https://")):
            raise S1kitError("--max-batch applies to the llamacpp and hf backends (the server sets its own)")
        kw["max_batch"] = args.max_batch
    kw.update(engine_options(getattr(args, "engine_option", None) or []))
    remote = {
        "tokenizer": getattr(args, "client_tokenizer", None),
        "api_key": getattr(args, "remote_api_key", None),
    }
    if any(remote.values()):
        if args.backend != "openai" and not str(args.model).startswith(("http://", "https://")):
            raise S1kitError("--tokenizer and --remote-api-key apply to the openai backend (a server URL)")
        kw.update({k: v for k, v in remote.items() if v})
    return kw


def read_chat_template(path: str) -> str:
    """The text of a ``--chat-template`` file (Jinja); a one-line error if it cannot be read."""
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise S1kitError(f"cannot read --chat-template {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise S1kitError(f"--chat-template {path} is not UTF-8 text (expected a Jinja template)") from None
    from s1kit.backends.chat_template import compile_template

    compile_template(text)  # a syntax error is reported before the model loads
    return text


def load_generator(args: argparse.Namespace) -> Any:
    from s1kit.generation.generator import Generator

    return Generator.load(
        args.model, backend=args.backend, format=resolve_format(args), **engine_kwargs(args)
    )


def budget_from_args(args: argparse.Namespace, **override: Any) -> Budget:
    fields = {
        "max_thinking_tokens": getattr(args, "max_thinking_tokens", None),
        "min_thinking_tokens": args.min_thinking_tokens,
        "num_ignore": getattr(args, "num_ignore", 0),
        "ignore_strings": tuple(s for s in args.ignore_strings.split(",")),
        "answer_primer": args.answer_primer,
        "max_answer_tokens": args.max_answer_tokens,
        "budget_message": getattr(args, "budget_message", ""),
    }
    fields.update(override)
    return Budget(**fields)


def sampling_from_args(args: argparse.Namespace) -> SamplingParams:
    return SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=args.seed)


def engine_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to engine keyword arguments (values read as YAML scalars: 2, 0.9, false)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise S1kitError(f"--engine-option {item!r} is invalid: expected KEY=VALUE, e.g. dtype=float32")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = value if isinstance(value, str | int | float | bool) or value is None else raw
    return out
