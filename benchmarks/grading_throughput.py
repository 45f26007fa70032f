"""Grading throughput: 1,000 realistic answers on the worker pool, with and without pathological items.

Prints one JSON line: items per second for a clean set and for the same set with ~2% hostile answers
mixed in (power towers, deep nesting, huge inputs), the slowest item, how many items passed the per-item
timeout (must be 0: a killed item is bounded by the timeout by construction, and this checks it), and the
equivalence checks per second that voting uses (``equal_many``). The baseline, measured in the same run,
is grading the clean set in this process with :func:`~s1kit.grading.judge.judge` (no timeout, no
isolation): ``pool_vs_inprocess`` is the pool's clean throughput as a multiple of it.

    PYTHONPATH=src:. .venv/bin/python benchmarks/grading_throughput.py [--items 1000] [--workers 2] [--timeout 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time

from tests.eval.grading_cases import CASES

from s1kit.grading.judge import judge
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


def inprocess(batch: list[tuple[str, str, str, str]]) -> float:
    """Items per second graded in this process, one after another (the baseline)."""
    judge("1", "1", "math")  # imports math-verify
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # as in the workers: no logs of hostile text
    t0 = time.perf_counter()
    for answer, gold, kind, thinking in batch:
        judge(answer, gold, kind, thinking=thinking)  # type: ignore[arg-type]
    return len(batch) / (time.perf_counter() - t0)


def pairs(n: int, seed: int = 2) -> list[tuple[str, str]]:
    """Answer pairs as voting compares them: two extracted math answers of the table."""
    rng = random.Random(seed)
    golds = [gold for kind, gold, *_ in CASES if kind == "math"]
    return [(rng.choice(golds), rng.choice(golds)) for _ in range(n)]


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
        t1 = time.perf_counter()
        pool.equal_many(pairs(args.items), "math")
        equal_per_s = args.items / (time.perf_counter() - t1)
    baseline = inprocess(items(args.items, 0.0))
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
                "inprocess_items_per_s": round(baseline, 1),
                "pool_vs_inprocess": round(clean["items_per_s"] / baseline, 3),
                "equal_pairs_per_s": round(equal_per_s, 1),
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
