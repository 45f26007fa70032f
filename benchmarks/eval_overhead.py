"""Harness overhead of ``s1kit eval`` on the embedded model at one budget.

Measures, on the same loaded Generator and the same problems:

* ``raw``: ``Generator.generate_batch`` alone for every problem (the engine plus forcing; nothing else),
  once before and once after the eval pass (their mean is the baseline: the machine's load drifts);
* ``eval``: ``run_eval`` (rendering, grading in worker processes, records with fsync, summary, plots);
* the time ``run_eval`` spent inside generation, so the harness's own share is measured within one run
  and does not depend on drift between passes on a shared machine.

Prints one JSON line; ``overhead`` = eval wall / generation time inside eval - 1 (target <= 0.05).

    PYTHONPATH=src .venv/bin/python benchmarks/eval_overhead.py [--problems 12] [--budget 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from s1kit.evaluation.runner import EvalConfig, run_eval
from s1kit.forcing.budget import Budget
from s1kit.generation.generator import Generator
from s1kit.tasks import get_task


class Timed:
    """The real generator, timing its generate_batch calls."""

    def __init__(self, gen: Generator) -> None:
        self.gen, self.engine, self.format = gen, gen.engine, gen.format
        self.seconds = 0.0
        self.tokens = 0
        self.prefill = 0.0

    def render(self, *a, **k):
        return self.gen.render(*a, **k)

    def generate_batch(self, *a, **k):
        t0 = time.perf_counter()
        out = self.gen.generate_batch(*a, **k)
        self.seconds += time.perf_counter() - t0
        self.tokens += sum(c.thinking_tokens + c.answer_tokens for c in out)
        self.prefill += sum(c.timings.prefill_s for c in out)
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="gsm8k")
    ap.add_argument("--problems", type=int, default=12)
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--answer-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backend", default="llamacpp")
    args = ap.parse_args()
    gen = Generator.load("default", backend=args.backend, n_ctx=2048, n_threads=args.threads)
    config = EvalConfig(
        task=args.task,
        budgets=(args.budget,),
        limit=args.problems,
        max_answer_tokens=args.answer_tokens,
        engine_options={"n_ctx": 2048},
    )
    task = get_task(args.task).limited(args.problems)
    prompts = [gen.render(task.prompt(p, config.prompt_style)) for p in task.problems]
    budget = config.settings()[0].budget or Budget()
    gen.generate_batch(prompts[:1], budget, rendered=True)  # warm-up (first prefill, caches)

    prefill = []

    def raw_pass() -> tuple[float, int]:
        t0 = time.perf_counter()
        raw = []
        for i in range(0, len(prompts), config.batch_size):
            raw += gen.generate_batch(prompts[i : i + config.batch_size], budget, rendered=True)
        prefill.append(sum(c.timings.prefill_s for c in raw))
        return time.perf_counter() - t0, sum(c.thinking_tokens + c.answer_tokens for c in raw)

    # raw, eval, raw: the eval pass is compared with the mean of the raw passes around it (load drifts).
    raw_before, raw_tokens = raw_pass()
    timed = Timed(gen)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_eval(config, Path(tmp) / "run", generator=timed)
        eval_s = time.perf_counter() - t0
    raw_after, _ = raw_pass()
    raw_s = (raw_before + raw_after) / 2
    print(
        json.dumps(
            {
                "benchmark": "eval_overhead",
                "task": args.task,
                "problems": args.problems,
                "budget": args.budget,
                "raw_s": round(raw_s, 2),
                "raw_before_s": round(raw_before, 2),
                "raw_after_s": round(raw_after, 2),
                "raw_tokens": raw_tokens,
                "raw_tokens_per_s": round(raw_tokens / raw_s, 2),
                "eval_s": round(eval_s, 2),
                "eval_generation_s": round(timed.seconds, 2),
                "raw_prefill_s": [round(x, 2) for x in prefill],
                "eval_prefill_s": round(timed.prefill, 2),
                "eval_tokens": timed.tokens,
                "problems_per_min_eval": round(60 * args.problems / eval_s, 2),
                "problems_per_min_raw": round(60 * args.problems / raw_s, 2),
                "overhead": round(eval_s / timed.seconds - 1, 4),
                "eval_vs_raw_wall": round(eval_s / raw_s, 4),
                "accuracy": summary["settings"][0]["accuracy"],
            }
        )
    )


if __name__ == "__main__":
    main()
