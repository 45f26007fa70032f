"""``s1kit traces``: a teacher writes a reasoning trace and an attempt for each question of a pool."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from s1kit.cli.common import (
    add_budget_arguments,
    add_sampling_arguments,
    budget_from_args,
    sampling_from_args,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", action="append", required=True, help="pool file or folder (repeatable)")
    p.add_argument("--map", default=None, help="field mapping, e.g. question=problem,answer=solution")
    p.add_argument("--teacher", required=True, help="hf:PATH, llamacpp:PATH, openai:URL or default")
    p.add_argument("--out", required=True, help="output JSONL (appended to; a rerun resumes)")
    p.add_argument(
        "--format", default=None, help="reasoning format of the teacher (default: chosen per model)"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--batch-size", type=int, default=8, help="questions per batch (one flush per batch)")
    p.add_argument("--workers", type=int, default=4, help="concurrent requests for HTTP backends")
    add_budget_arguments(p)
    add_sampling_arguments(p)


def thinking_cap(args: argparse.Namespace) -> int:
    """--max-thinking-tokens, 4096 when unset (0 means no thinking, not the default)."""
    return 4096 if args.max_thinking_tokens is None else args.max_thinking_tokens


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.checks import check_budget_args, check_numbers, check_out_file
    from s1kit.curation.ingest import ingest, parse_mapping
    from s1kit.curation.specs import parse_spec
    from s1kit.curation.traces import TracesConfig, generate_traces

    check_numbers(args, positive=("limit", "batch_size", "workers"))
    check_budget_args(args)
    check_out_file(args.out)
    budget = budget_from_args(args, max_thinking_tokens=thinking_cap(args))
    config = TracesConfig(
        budget=budget, sampling=sampling_from_args(args), batch_size=args.batch_size, workers=args.workers
    )
    res = ingest(args.input, parse_mapping(args.map))
    rows = res.rows[: args.limit] if args.limit else res.rows
    if res.malformed:
        print(
            f"set aside {len(res.malformed)} malformed row(s), e.g. line {res.malformed[0].line}: "
            f"{res.malformed[0].reason}",
            file=sys.stderr,
        )
    ref = parse_spec(args.teacher)
    gen = ref.load(args.format)

    def progress(done: int, total: int) -> None:
        print(f"\rtraces: {done}/{total}", end="", file=sys.stderr, flush=True)

    written, skipped = generate_traces(rows, gen, Path(args.out), config, teacher=ref.spec, progress=progress)
    print(f"\nwrote {written} trace(s) to {args.out} ({skipped} already there)", file=sys.stderr)
    return 0
