"""An eval sweep in process (batched llama.cpp, shared prefills) against the same requests sent to
llama.cpp's own ``llama-server -np 8`` through s1kit's openai backend, same model, same threads, same run.

The sweep: the first ``--limit`` MATH500 problems × ``--budgets`` × ``--samples`` samples at temperature
0.7, run by :func:`s1kit.run_eval` (the code path of ``s1kit eval``) with ``--batch-size 8`` both ways:
in process the 8 prompts of a batch decode together and every problem's prompt is prefilled once for
all its budgets and samples; over HTTP the 8 prompts go to llama-server's 8 slots concurrently (round by
round forcing, ``cache_prompt`` left to the server). Reported: wall time of each and the speedup.

    python benchmarks/sweep_vs_llama_server.py [--limit 16] [--budgets 32,64,128] [--samples 4] [--threads 1]

Prints one JSON line.
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
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


def sweep(args: argparse.Namespace, model: str, backend: str, options: dict, out: str) -> dict:
    from s1kit import EvalConfig, run_eval
    from s1kit.evaluation.rundir import RECORDS, read_records

    cfg = EvalConfig(
        task="math500",
        model=model,
        backend=backend,
        format="r1",
        budgets=tuple(int(b) for b in args.budgets.split(",")),
        max_answer_tokens=args.answer_tokens,
        samples=args.samples,
        temperature=0.7,
        limit=args.limit,
        batch_size=8,
        grading_workers=1,
        engine_options=options,
    )
    t = time.perf_counter()
    run_eval(cfg, out)
    wall = time.perf_counter() - t
    records = read_records(Path(out) / RECORDS)
    tokens = sum(r["thinking_tokens"] + r["answer_tokens"] for r in records)
    return {
        "wall_s": round(wall, 1),
        "records": len(records),
        "tokens": tokens,
        "tok_s": round(tokens / wall, 1),
        "accuracy": round(sum(bool(r["correct"]) for r in records) / max(1, len(records)), 3),
    }


def main() -> None:
    from serve_throughput import free_port, llama_server_binary, start

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--budgets", default="32,64,128")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--answer-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--llama-server", default=None)
    args = ap.parse_args()
    from s1kit.backends.models import default_gguf

    binary = llama_server_binary(args.llama_server)
    url = f"http://127.0.0.1:{free_port()}"
    t = str(args.threads)
    server = start(
        [binary, "-m", str(default_gguf()), "--port", url.rsplit(":", 1)[1], "--host", "127.0.0.1",
         "-t", t, "-tb", t, "-np", "8", "-c", str(args.n_ctx), "--kv-unified"],
        url,
    )  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ours = sweep(
                args,
                "default",
                "llamacpp",
                {"n_threads": args.threads, "n_ctx": args.n_ctx, "max_batch": 8},
                os.path.join(tmp, "in-process"),
            )
            theirs = sweep(
                args,
                url,
                "openai",
                {"tokenizer": "default", "max_in_flight": 8},
                os.path.join(tmp, "llama-server"),
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "benchmark": "sweep_vs_llama_server",
                "problems": args.limit,
                "budgets": args.budgets,
                "samples": args.samples,
                "threads": args.threads,
                "s1kit_in_process": ours,
                "llama_server_np8": theirs,
                "speedup": round(theirs["wall_s"] / ours["wall_s"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
