"""``s1kit curate``: pool -> dedup -> decontaminate -> quality -> difficulty -> diversity -> s1K folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from s1kit.errors import S1kitError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from s1kit.curation.pipeline import STAGES

    p.add_argument("--input", action="append", required=True, help="pool/traces file or folder (repeatable)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--size", type=int, default=None, help="rows to select in the diversity stage (e.g. 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the diversity sampler")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--map", default=None, help="field mapping, e.g. question=problem,answer=solution")
    p.add_argument(
        "--solvers",
        default=None,
        help="comma-separated solver specs (hf:PATH, llamacpp:PATH, openai:URL, default)",
    )
    p.add_argument(
        "--classifier", default=None, help="MSC classifier spec (default: keyword matching, no model)"
    )
    p.add_argument(
        "--tokenizer", default=None, help="tokenizer folder for trace lengths (default: characters)"
    )
    p.add_argument("--parquet", action="store_true", help="also write selected.parquet")
    p.add_argument("--solver-max-thinking-tokens", type=int, default=1024, help="solver thinking budget")
    p.add_argument("--solver-max-answer-tokens", type=int, default=256, help="solver answer budget")
    p.add_argument("--solver-format", default=None, help="reasoning format of the solvers")
    p.add_argument("--batch-size", type=int, default=8, help="questions per solver batch")
    p.add_argument(
        "--near-dup-threshold", type=float, default=0.8, help="MinHash Jaccard for near-duplicates"
    )
    p.add_argument("--decontam-extra", action="append", default=[], help="more evaluation questions (file)")
    p.add_argument(
        "--decontam-min-hits", type=int, default=1, help="shared 8-grams that mark a row contaminated"
    )
    p.add_argument("--disable-rule", action="append", default=[], help="quality rule to skip (repeatable)")


def options(args: argparse.Namespace):  # -> CurateOptions
    from s1kit.cli.checks import check_numbers, check_out_dir
    from s1kit.curation.decontam import DecontamConfig
    from s1kit.curation.dedup import DedupConfig
    from s1kit.curation.difficulty import DifficultyConfig
    from s1kit.curation.ingest import parse_mapping
    from s1kit.curation.pipeline import CurateOptions
    from s1kit.curation.quality import QualityConfig
    from s1kit.curation.specs import parse_spec, parse_specs
    from s1kit.forcing.budget import Budget

    check_numbers(
        args,
        positive=("size", "batch_size", "solver_max_answer_tokens", "decontam_min_hits"),
        non_negative=("solver_max_thinking_tokens",),
    )
    if not 0 < args.near_dup_threshold <= 1:
        raise S1kitError(
            f"--near-dup-threshold={args.near_dup_threshold} is invalid: expected a number in (0, 1]"
        )
    check_inputs(args.input)
    check_out_dir(args.out)
    solvers = tuple(r.spec for r in parse_specs(args.solvers))
    if args.classifier:
        parse_spec(args.classifier)
    return CurateOptions(
        inputs=tuple(args.input),
        out=Path(args.out),
        size=args.size,
        seed=args.seed,
        stages=tuple(s.strip() for s in args.stages.split(",") if s.strip()),
        mapping=parse_mapping(args.map),
        solvers=solvers,
        classifier=args.classifier,
        tokenizer=args.tokenizer,
        parquet=args.parquet,
        dedup=DedupConfig(threshold=args.near_dup_threshold),
        decontam=DecontamConfig(min_hits=args.decontam_min_hits, extra=tuple(args.decontam_extra)),
        quality=QualityConfig(disabled=tuple(args.disable_rule)),
        difficulty=DifficultyConfig(
            budget=Budget(
                max_thinking_tokens=args.solver_max_thinking_tokens,
                max_answer_tokens=args.solver_max_answer_tokens,
            ),
            batch_size=args.batch_size,
            format=args.solver_format,
        ),
    )


def check_inputs(inputs: list[str]) -> None:
    """Each --input exists; a folder holds something; a .parquet file is Parquet (its magic bytes)."""
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise S1kitError(
                f"--input {item} does not exist: expected a .jsonl, .json, .csv, .parquet file or a folder"
            )
        if path.is_dir() and not any(path.iterdir()):
            raise S1kitError(f"--input {item} is an empty folder")
        if path.is_file() and path.suffix == ".parquet":
            with path.open("rb") as f:
                head = f.read(4)
                f.seek(max(0, path.stat().st_size - 4))
                tail = f.read(4)
            if head != b"PAR1" or tail != b"PAR1":
                raise S1kitError(f"--input {item} is named .parquet but is not a Parquet file")


def run(args: argparse.Namespace) -> int:
    from s1kit.curation.pipeline import run_pipeline

    opts = options(args)

    def progress(what: str, done: int, total: int) -> None:
        print(f"\r{what}: {done}/{total}", end="", file=sys.stderr, flush=True)

    report = run_pipeline(opts, progress=progress)
    funnel = " -> ".join(f"{f['rows']:,} ({f['stage']})" for f in report["funnel"])
    print(f"\n{funnel}", file=sys.stderr)
    print(json.dumps({"out": str(opts.out), "selected": report["selected"], "funnel": report["funnel"]}))
    return 0
