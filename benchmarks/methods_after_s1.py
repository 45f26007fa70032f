"""What the methods after s1 cost against budget forcing, on GSM8K with the embedded model.

Every method runs from the same loaded model (llama.cpp) on the same problems with the same maximum
thinking budget, one after the other in this process, and is measured against budget forcing measured
in the same run: thinking tokens of the record, compute (thinking tokens of every trace, branch and
try: ``method_info.compute_tokens``), wall time, and the method's own counts (probes, traces stopped,
branches pruned, tokens suppressed, "Wait"s inserted). AlphaOne's base length is the mean thinking
length budget forcing measured here (α × the model's average thinking length, as the paper sets it).
No accuracy: a 135M model does not solve GSM8K, so only costs are comparable here.

    PYTHONPATH=src .venv/bin/python benchmarks/methods_after_s1.py [--limit 4] [--budget 128] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.forcing.budget import Budget
from s1kit.generation.generator import Generator
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.registry import method_fn
from s1kit.tasks import get_task

MESSAGE = " Considering the limited time by the user, I have to give the solution based on the thinking directly now."


def cases(budget: int, base: float) -> list[tuple[str, str, dict[str, Any], float, str]]:
    """(label, method, params, temperature, budget message)."""
    return [
        ("budget_message", "budget_forcing", {}, 0.0, MESSAGE),
        ("nowait", "nowait", {}, 0.0, ""),
        ("alphaone", "alphaone", {"alpha": 1.0, "think_length": max(1, round(base)), "p0": 0.5}, 0.0, ""),
        (
            "early_exit K=32 M=2",
            "early_exit",
            {"probe_every": 32, "probe_agree": 2, "probe_tokens": 20},
            0.0,
            "",
        ),
        (
            "early_exit dynasor K=32 M=2",
            "early_exit",
            {"probe_every": 32, "probe_agree": 2, "probe_tokens": 20, "probe_text": "dynasor"},
            0.0,
            "",
        ),
        (
            "deepconf offline N=8",
            "deepconf",
            {"mode": "offline", "traces": 8, "window": 32, "top_k": 20, "keep": 0.5},
            0.7,
            "",
        ),
        (
            "deepconf online N=8 warm-up 4",
            "deepconf",
            {"mode": "online", "traces": 8, "warmup": 4, "window": 32, "top_k": 20, "keep": 0.5},
            0.7,
            "",
        ),
        (
            "tree_search W=2 E=2 step 32",
            "tree_search",
            {"beam_width": 2, "expansion": 2, "step_tokens": 32, "scorer": "mean_logprob"},
            0.7,
            "",
        ),
    ]


def counts(info: dict[str, Any]) -> dict[str, Any]:
    keys = ("n_probes", "probe_tokens", "n_stopped", "n_kept", "branches", "pruned", "n_rounds")
    keys += ("suppressed", "inserted_waits")
    return {k: info[k] for k in keys if info.get(k) is not None}


def run(
    gen: Generator, prompts: list[str], label: str, method: str, params: dict, temp: float, msg: str, cap: int
):
    budget = Budget(max_thinking_tokens=cap, max_answer_tokens=48, budget_message=msg)
    setting = Setting(method, budget, params)
    cfg = EvalConfig(task="gsm8k", method=method, method_params=params, temperature=temp, samples=1)
    sp = [SamplingParams(temperature=temp, seed=17 + i) for i in range(len(prompts))]
    t0 = time.perf_counter()
    outs = method_fn(method)(gen, prompts, setting, sp, cfg)
    secs = time.perf_counter() - t0
    infos = [getattr(o, "info", {}) or {} for o in outs]
    per = {}
    for info in infos:
        for k, v in counts(info).items():
            per.setdefault(k, []).append(v)
    return {
        "method": label,
        "thinking_tokens": statistics.fmean(o.thinking_tokens for o in outs),
        "compute_tokens": statistics.fmean(
            int(i.get("compute_tokens", o.thinking_tokens)) for o, i in zip(outs, infos, strict=True)
        ),
        "seconds": secs / len(prompts),
        "per_question": {k: statistics.fmean(v) for k, v in per.items()},
        "events": sorted({e.kind for o in outs for e in o.events}),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    gen = Generator.load("default", backend="llamacpp", n_threads=a.threads, n_ctx=4096)
    task = get_task("gsm8k").limited(a.limit)
    prompts = [gen.render(task.prompt(p, "boxed")) for p in task.problems]
    base = run(gen, prompts, "budget_forcing", "budget_forcing", {}, 0.0, "", a.budget)
    base_compute, base_seconds = base["compute_tokens"], base["seconds"]
    rows = []
    todo = [("budget_forcing", "budget_forcing", {}, 0.0, "")] + cases(a.budget, base["thinking_tokens"])
    for label, method, params, temp, msg in todo:
        r = base if not rows else run(gen, prompts, label, method, params, temp, msg, a.budget)
        r["compute_vs_bf"] = round(r["compute_tokens"] / max(base_compute, 1e-9), 3)
        r["time_vs_bf"] = round(r["seconds"] / max(base_seconds, 1e-9), 3)
        r["thinking_tokens"] = round(r["thinking_tokens"], 1)
        r["compute_tokens"] = round(r["compute_tokens"], 1)
        r["seconds"] = round(r["seconds"], 2)
        r["per_question"] = {k: round(v, 2) for k, v in r["per_question"].items()}
        print(json.dumps(r), flush=True)  # each method as soon as it is measured
        rows.append(r)
    print(
        f"\n{'method':32} {'think':>6} {'compute':>8} {'x bf':>6} {'s/q':>6} {'x bf':>6}  counts per question"
    )
    for r in rows:
        extra = ", ".join(f"{k} {v}" for k, v in r["per_question"].items())
        print(
            f"{r['method']:32} {r['thinking_tokens']:>6} {r['compute_tokens']:>8} {r['compute_vs_bf']:>6} "
            f"{r['seconds']:>6} {r['time_vs_bf']:>6}  {extra}"
        )
    print(
        f"GSM8K first {a.limit}, max {a.budget} thinking tokens, llama.cpp {a.threads} threads, embedded model"
    )


if __name__ == "__main__":
    main()
