"""``s1kit eval`` on batched llama.cpp: one sequence at a time against 8 and 32 rows in one batch, one run.

The embedded model on MATH500 (the first ``--limit`` problems) at several thinking budgets, greedy;
each configuration runs into its own fresh run folder through :func:`s1kit.run_eval` (the code path of
``s1kit eval``), every one starting with cold prompts:

* ``one_at_a_time``: ``--batch-size 1`` with one batch in flight (one sequence decoding at a time);
* ``rows8`` / ``rows32``: ``--batch-size 8`` on an engine of ``--max-batch 8`` / ``32``, batches in
  flight sharing the running batch (the default).

Reported: generated tokens (thinking + answer over all records) per second of wall time, the speedups
over one at a time, whether every configuration wrote the same records (greedy batched decoding equals
one-at-a-time decoding), and the engine's own ceiling measured in the same run: raw ``llama_decode``
tokens/s with 1, 8 and 32 sequences per step and no s1kit code around it. No scheduler can beat that
ceiling: on a CPU whose matrix kernels gain little from batching, neither can s1kit.

Run: .venv/bin/python benchmarks/eval_batch.py [--limit 16] [--budgets 32,64,128] [--threads 2]

Prints one JSON line. The CLI equivalent of one side:
    s1kit eval --task math500 --limit 16 --budgets 32,64,128 --batch-size 8 --max-batch 8 --out runs/b8
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


def run(batch_size: int, args: argparse.Namespace, out: str, gen, in_flight: int | None = None) -> dict:
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
    gen.engine.pool.clear_cache()  # every configuration starts with cold prompts
    t = time.perf_counter()
    run_eval(cfg, out, generator=gen, in_flight=in_flight)
    wall = time.perf_counter() - t
    records = read_records(Path(out) / RECORDS)
    tokens = sum(r["thinking_tokens"] + r["answer_tokens"] for r in records)
    return {
        "wall_s": round(wall, 2),
        "tokens": tokens,
        "tok_s": round(tokens / wall, 1),
        "records": {r["key"]: (r["thinking"], r["answer"], r["events"]) for r in records},
    }


def engine_ceiling(engine, rows: int, steps: int = 24) -> float:
    """Raw llama_decode tokens/s with ``rows`` sequences, one token each per step (no s1kit loop)."""
    import llama_cpp

    pool = engine.pool
    seqs = [pool.take_seq() for _ in range(rows)]
    try:
        pool.decode([(s, p, 100 + p, False) for s in seqs for p in range(16)])
        t = time.perf_counter()
        for k in range(steps):
            pool.decode([(s, 16 + k, 200 + k, True) for s in seqs])
        return rows * steps / (time.perf_counter() - t)
    finally:
        for s in seqs:
            llama_cpp.llama_memory_seq_rm(pool.mem, s, -1, -1)
            pool._free.append(s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--budgets", default="32,64,128")
    ap.add_argument("--answer-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=8192)
    args = ap.parse_args()
    from s1kit.generation.generator import Generator

    runs, ceiling = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (8, 32):
            gen = Generator.load(
                "default", backend="llamacpp", n_threads=args.threads, n_ctx=args.n_ctx, max_batch=rows
            )
            if rows == 8:
                runs["one_at_a_time"] = run(1, args, os.path.join(tmp, "b1"), gen, in_flight=1)
            runs[f"rows{rows}"] = run(8, args, os.path.join(tmp, f"r{rows}"), gen)
            for n in (1, rows):
                ceiling[n] = round(engine_ceiling(gen.engine, n), 1)
            del gen
    records = [r.pop("records") for r in runs.values()]
    base = runs["one_at_a_time"]["tok_s"]
    print(
        json.dumps(
            {
                "benchmark": "eval_batch",
                "problems": args.limit,
                "budgets": args.budgets,
                "threads": args.threads,
                **runs,
                "speedup_rows8": round(runs["rows8"]["tok_s"] / base, 2),
                "speedup_rows32": round(runs["rows32"]["tok_s"] / base, 2),
                "same_records": all(r == records[0] for r in records),
                "engine_tok_s_by_rows": ceiling,
                "engine_ceiling_rows8": round(ceiling[8] / ceiling[1], 2),
                "engine_ceiling_rows32": round(ceiling[32] / ceiling[1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
