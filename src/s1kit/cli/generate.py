"""``s1kit generate``: budget-forced reasoning, streamed to the terminal or as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from s1kit.cli.common import (
    add_budget_arguments,
    add_model_arguments,
    add_sampling_arguments,
    budget_from_args,
    load_generator,
    sampling_from_args,
)
from s1kit.errors import S1kitError
from s1kit.generation.completion import Completion


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", nargs="*", help="question(s); omit and use --input for a batch")
    p.add_argument(
        "--input", default=None, help='JSONL file of {"prompt": ...} lines; "-" reads standard input'
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per prompt instead of streaming"
    )
    p.add_argument(
        "--mode",
        choices=("loop", "rounds"),
        default="loop",
        help="force in the decoding loop or round by round",
    )
    p.add_argument(
        "--batch-size", type=int, default=16, help="prompts decoded together where the backend batches"
    )
    add_model_arguments(p)
    p.add_argument(
        "-v",
        "--verbose",
        dest="explain",
        action="store_true",
        help="say which reasoning format was chosen and why, with its delimiters",
    )
    add_budget_arguments(p)
    add_sampling_arguments(p)


def read_prompts(args: argparse.Namespace) -> list[str]:
    prompts = list(args.prompt)
    if args.input:
        prompts += list(_jsonl_prompts(args.input))
    elif not prompts and not sys.stdin.isatty():
        prompts += list(_jsonl_prompts("-"))
    if not prompts:
        raise S1kitError("no prompt: give one as an argument or a JSONL file with --input")
    return prompts


def _jsonl_prompts(path: str) -> Iterator[str]:
    try:
        f = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        raise S1kitError(f"cannot read --input {path}: {e.strerror}") from None
    with f:
        n = 0
        try:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise S1kitError(f'{path}:{n}: not valid JSON (expected {{"prompt": ...}})') from None
                if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                    raise S1kitError(f"{path}:{n}: expected an object with a string field 'prompt'")
                yield row["prompt"]
        except UnicodeDecodeError:
            raise S1kitError(f"{path}:{n + 1}: not UTF-8 text (expected JSONL lines)") from None


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.checks import check_budget_args, check_numbers

    check_budget_args(args)
    check_numbers(args, positive=("batch_size", "n_ctx"))
    budget = budget_from_args(args)
    sampling = sampling_from_args(args)
    prompts = read_prompts(args)
    if args.batch_size < 1:
        raise S1kitError(f"--batch-size={args.batch_size} is invalid: expected an integer >= 1")
    gen = load_generator(args)
    from s1kit.forcing.choice import describe

    fmt = describe(gen.tokenizer, gen.format, gen.format_reason)
    if args.explain:
        print(
            f"format {fmt['name']}: {fmt['reason']}; thinking {fmt['think_start']!r} ... {fmt['think_end']!r}, "
            f"end of turn {', '.join(fmt['end_of_turn'])}",
            file=sys.stderr,
            flush=True,
        )
    if args.json:
        for start in range(0, len(prompts), args.batch_size):
            chunk = prompts[start : start + args.batch_size]
            for c in gen.generate_batch(chunk, budget, sampling, mode=args.mode):
                print(json.dumps({**c.to_dict(), "format": fmt}, ensure_ascii=False), flush=True)
        return 0
    from s1kit.cli.stream import TerminalStream

    for i, prompt in enumerate(prompts):
        if len(prompts) > 1:
            print(f"\n=== prompt {i + 1}/{len(prompts)}: {prompt}", flush=True)
        stream = TerminalStream(sys.stdout)
        c: Completion = gen.generate(prompt, budget, sampling, mode=args.mode, on_token=stream.on_token)
        stream.finish(c)
    return 0
