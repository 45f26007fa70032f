"""``s1kit toy``: the s1 recipe in miniature on a task built so that thinking is necessary (docs/toy.md).

    s1kit toy run --out toy/ [--seed 0]        # data, curation, training, the sweeps, the report
    s1kit toy data --out toy/ [--seed 0]       # only the generated data and the random-init model
    s1kit toy summary --out toy/               # rebuild toy/summary.json from the run folders

Every other stage is an ordinary verb; ``toy/commands.sh`` lists them, and each can be rerun alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("run", "data", "summary"), help="run everything, or one stage")
    p.add_argument("--out", required=True, help="the folder for data, models, run folders and the report")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the sampling")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N toy problems (of 210)")
    p.add_argument("--pool", type=int, default=8000, help="generated rows for curation")
    p.add_argument("--size", type=int, default=4000, help="rows curation selects for training")
    p.add_argument(
        "--train-steps", type=int, default=None, help="optimizer steps of the toy model (recipe: 800)"
    )
    p.add_argument("--solver-steps", type=int, default=60, help="optimizer steps of the trivial solver")
    p.add_argument("--marker-steps", type=int, default=100, help="optimizer steps of each marker model")
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads for every stage (default: torch's own)"
    )
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated sweeps (default: budget_forcing, token_conditional, step_conditional, "
        "rejection_sampling, majority_vote)",
    )


def _options(args: argparse.Namespace):  # -> ToyOptions
    from s1kit.errors import S1kitError
    from s1kit.toy.run import ToyOptions

    for flag in ("limit", "pool", "size", "train_steps", "solver_steps", "marker_steps", "threads"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            raise S1kitError(f"--{flag.replace('_', '-')} is {v}: expected a positive integer")
    kw = {}
    if args.methods:
        kw["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        allowed = ToyOptions.__dataclass_fields__["methods"].default
        bad = [m for m in kw["methods"] if m not in allowed]
        if bad or not kw["methods"]:
            raise S1kitError(f"--methods {args.methods!r}: expected names from {list(allowed)}")
    return ToyOptions(
        out=Path(args.out),
        seed=args.seed,
        pool=args.pool,
        size=args.size,
        limit=args.limit,
        train_steps=args.train_steps,
        solver_steps=args.solver_steps,
        marker_steps=args.marker_steps,
        **kw,
    )


def run(args: argparse.Namespace) -> int:
    from s1kit.toy.run import run as run_all
    from s1kit.toy.run import write_data
    from s1kit.toy.summary import write_summary

    opts = _options(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.action == "data":
        write_data(opts)
        print(f"data and the random-init model: {opts.out}")
        return 0
    if args.action == "summary":
        summary = write_summary(opts.out, opts.methods)
        print(json.dumps(summary["checks"], indent=2))
        return 0
    timings = run_all(opts, say=lambda s: print(s, file=sys.stderr, flush=True))
    summary = json.loads((opts.out / "summary.json").read_text())
    print(json.dumps({"checks": summary["checks"], "time": timings["this_run"]}, indent=2))
    print(f"report: {opts.out / 'report.html'}")
    return 0
