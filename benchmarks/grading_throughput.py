"""Grading throughput: 1,000 realistic answers on the worker pool, with and without pathological items.

Prints one JSON line: items per second for a clean set and for the same set with ~2% hostile answers
mixed in (power towers, deep nesting, huge inputs), the slowest item, and how many items passed the
per-item timeout (must be 0: a killed item is bounded by the timeout by construction, and this checks it).

    PYTHONPATH=src:. .venv/bin/python benchmarks/grading_throughput.py [--items 1000] [--workers 2] [--timeout 5]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from tests.eval.grading_cases import CASES

from s1kit.grading.pool import GradingPool

HOSTILE = [
    r"$\boxed{9^{9^{9^{9^{9^{9}}}}}}$",
    r"$\boxed{" + r"\frac{1}{" * 300 + "2" + "}" * 300 + "}$",
    "Answer: " + "(" * 400 + "3",
    r"$\boxed{" + "+".join(["x^{99}"] * 3000) + "}$",
    r"\boxed{1}" * 20000,
    r"$\boxed{\sum_{k=1}^{10^{12}} k^{k}}$",
]


def items(n: int, hostile_share: float, seed: int = 0) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if hostile_share and rng.random() < hostile_share:
            out.append((HOSTILE[i % len(HOSTILE)], "3", "math", ""))
        else:
            kind, gold, answer, thinking, _ = CASES[rng.randrange(len(CASES))]
            out.append((answer, gold, kind, thinking))
    return out


def measure(pool: GradingPool, batch: list[tuple[str, str, str, str]]) -> dict[str, float]:
    t0 = time.perf_counter()
    verdicts = []
    durations = []
    for i in range(0, len(batch), 50):  # batches of 50, as an eval grades batch by batch
        verdicts += pool.grade_many(batch[i : i + 50])
        durations += pool.last_durations
    wall = time.perf_counter() - t0
    return {
        "items_per_s": len(batch) / wall,
        "wall_s": wall,
        "max_item_s": max(durations),
        "timed_out": sum(v.timed_out for v in verdicts),
        "over_timeout": sum(d > pool.timeout + 0.5 for d in durations),  # 0.5 s: polling and kill slack
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--hostile-share", type=float, default=0.02)
    args = ap.parse_args()
    t0 = time.perf_counter()
    with GradingPool(args.workers, args.timeout) as pool:
        pool.grade_many([("1", "1", "math", "")] * args.workers)
        startup = time.perf_counter() - t0
        clean = measure(pool, items(args.items, 0.0))
        mixed = measure(pool, items(args.items, args.hostile_share, seed=1))
    print(
        json.dumps(
            {
                "benchmark": "grading_throughput",
                "items": args.items,
                "workers": args.workers,
                "timeout_s": args.timeout,
                "pool_startup_s": round(startup, 2),
                "clean_items_per_s": round(clean["items_per_s"], 1),
                "mixed_items_per_s": round(mixed["items_per_s"], 1),
                "mixed_vs_clean": round(mixed["items_per_s"] / clean["items_per_s"], 3),
                "hostile_share": args.hostile_share,
                "clean_max_item_s": round(clean["max_item_s"], 3),
                "mixed_max_item_s": round(mixed["max_item_s"], 3),
                "mixed_timed_out": mixed["timed_out"],
                "over_timeout": clean["over_timeout"] + mixed["over_timeout"],
            }
        )
    )


if __name__ == "__main__":
    main()
