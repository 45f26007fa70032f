"""``s1kit eval`` on batched llama.cpp: ``--batch-size 8`` against ``--batch-size 1``, same sweep, same run.

The embedded model on MATH500 (the first ``--limit`` problems) at several thinking budgets, greedy;
each configuration runs into its own fresh run folder through :func:`s1kit.run_eval` (the code path of
``s1kit eval``). Reported: generated tokens (thinking + answer over all records) per second of wall time,
the ratio batch 8 / batch 1 (target >= 3 on 2 cores), and whether the two runs wrote the same records
(token for token: greedy batched decoding equals one-at-a-time decoding).

Run: .venv/bin/python benchmarks/eval_batch.py [--limit 16] [--budgets 32,64,128] [--threads 2]

Prints one JSON line. The CLI equivalent of one side:
    s1kit eval --task math500 --limit 16 --budgets 32,64,128 --batch-size 8 --backend llamacpp --out runs/b8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))


def run(batch_size: int, args: argparse.Namespace, out: str, gen) -> dict:
    from s1kit import EvalConfig, run_eval
    from s1kit.evaluation.rundir import RECORDS, read_records

    cfg = EvalConfig(
        task="math500",
        model="default",
        backend="llamacpp",
        budgets=tuple(int(b) for b in args.budgets.split(",")),
        max_answer_tokens=args.answer_tokens,
        limit=args.limit,
        batch_size=batch_size,
        grading_workers=1,
        engine_options={"n_threads": args.threads, "n_ctx": args.n_ctx},
    )
    t = time.perf_counter()
    run_eval(cfg, out, generator=gen)
    wall = time.perf_counter() - t
    records = read_records(Path(out) / RECORDS)
    tokens = sum(r["thinking_tokens"] + r["answer_tokens"] for r in records)
    return {
        "wall_s": round(wall, 2),
        "tokens": tokens,
        "tok_s": round(tokens / wall, 1),
        "records": {r["key"]: (r["thinking"], r["answer"], r["events"]) for r in records},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--budgets", default="32,64,128")
    ap.add_argument("--answer-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=8192)
    args = ap.parse_args()
    from s1kit.generation.generator import Generator

    gen = Generator.load("default", backend="llamacpp", n_threads=args.threads, n_ctx=args.n_ctx)
    with tempfile.TemporaryDirectory() as tmp:
        b8 = run(8, args, os.path.join(tmp, "b8"), gen)
        gen.engine.pool.clear_cache()  # batch 1 starts as cold as batch 8 did
        b1 = run(1, args, os.path.join(tmp, "b1"), gen)
    same = b8.pop("records") == b1.pop("records")
    print(
        json.dumps(
            {
                "benchmark": "eval_batch",
                "problems": args.limit,
                "budgets": args.budgets,
                "threads": args.threads,
                "batch8": b8,
                "batch1": b1,
                "speedup": round(b8["tok_s"] / b1["tok_s"], 2),
                "same_records": same,
            }
        )
    )


if __name__ == "__main__":
    main()
