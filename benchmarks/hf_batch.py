"""transformers backend: decode tokens/s at batch 1, 4 and 16 on the embedded model (CPU here).

Every sequence thinks exactly ``--tokens`` tokens (min = max budget), so the batches do equal work per
sequence; the ratio column is tokens/s against batch 1 measured in the same run.

Run: .venv/bin/python benchmarks/hf_batch.py [--tokens 64]
"""

from __future__ import annotations

import argparse
import json

from s1kit import Budget
from s1kit.backends import load_engine
from s1kit.generation.generator import Generator

QUESTIONS = [
    "How many positive divisors does 360 have?",
    "What is the sum of the first 20 odd numbers?",
    "Find the remainder when 2^10 is divided by 7.",
    "How many ways can 4 books be arranged on a shelf?",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--batches", default="1,4,16")
    args = ap.parse_args()
    engine = load_engine("default", "hf", max_batch=64)
    gen = Generator(engine, "r1")
    budget = Budget(max_thinking_tokens=args.tokens, min_thinking_tokens=args.tokens, max_answer_tokens=1)
    gen.generate(QUESTIONS[0], Budget(max_thinking_tokens=4, max_answer_tokens=1))  # warm up
    out: dict[str, object] = {
        "benchmark": "hf_batch",
        "device": str(engine.device),
        "thinking_tokens": args.tokens,
    }
    base = None
    for b in (int(x) for x in args.batches.split(",")):
        prompts = [QUESTIONS[i % len(QUESTIONS)] for i in range(b)]
        cs = gen.generate_batch(prompts, budget)
        tokens = sum(c.timings.generated_tokens for c in cs)
        tps = tokens / cs[0].timings.decode_s
        base = base or tps
        out[f"batch{b}_tok_s"] = round(tps, 1)
        out[f"batch{b}_vs_batch1"] = round(tps / base, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
