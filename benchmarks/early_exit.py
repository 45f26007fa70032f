"""Early exit against budget forcing at the same maximum budget, on GSM8K with the embedded model.

Both runs decode greedily from the same loaded model (llama.cpp), on the same problems, with the same
maximum thinking budget; early exit adds a probe every K thinking tokens and stops once M agree.

Reports, as one JSON line:

* ``thinking_tokens``: mean per question for both, the mean tokens saved per question with a 95%
  interval (paired t), and the ratio early exit / budget forcing;
* ``accuracy``: both, and the paired difference with a 95% interval;
* ``probe``: probes per question, extra tokens per probe (forced delimiter + primer, plus the decoded
  answer), seconds per probe and that time in units of one main decoding step;
* ``prompt_reads``: prefills of the prompt counted inside llama.cpp for each run (one per question
  means no probe re-read it), tokens llama.cpp evaluated in all (and what it would have evaluated had
  every probe re-read the prompt and the thinking so far), and a *re-read baseline*: the same
  probes done by evaluating prompt + thinking so far + forced tokens from an empty cache, timed on
  the first questions' probe positions, against the measured branch probes (``reread_over_branch``).

    PYTHONPATH=src .venv/bin/python benchmarks/early_exit.py [--limit 10] [--budget 128] [--every 16] [--agree 2]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

from s1kit.evaluation.runner import EvalConfig, Setting
from s1kit.forcing.budget import Budget
from s1kit.generation.generator import Generator
from s1kit.generation.sampling import SamplingParams
from s1kit.grading.judge import judge
from s1kit.methods.early_exit import early_exit
from s1kit.tasks import get_task

T95 = {
    1: 12.71,
    2: 4.30,
    3: 3.18,
    4: 2.78,
    5: 2.57,
    6: 2.45,
    7: 2.36,
    8: 2.31,
    9: 2.26,
    10: 2.23,
    15: 2.13,
    20: 2.09,
}


def mean_ci(xs: list[float]) -> list[float]:
    """Mean and 95% paired-t interval."""
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return [m, m, m]
    t = T95.get(len(xs) - 1, T95[max(k for k in T95 if k <= len(xs) - 1)] if len(xs) - 1 < 30 else 1.96)
    h = t * statistics.stdev(xs) / math.sqrt(len(xs))
    return [round(m, 3), round(m - h, 3), round(m + h, 3)]


class Counting:
    """Counts llama.cpp prefills (prompt reads) and evaluated tokens by wrapping the engine."""

    def __init__(self, engine) -> None:
        self.prefills = self.tokens = 0
        llm_eval, prefill = engine.llm.eval, engine.prefill

        def counted_eval(ids):
            self.tokens += len(ids)
            return llm_eval(ids)

        def counted_prefill(ids, **kw):
            self.prefills += 1
            return prefill(ids, **kw)

        engine.llm.eval, engine.prefill = counted_eval, counted_prefill

    def reset(self) -> tuple[int, int]:
        out = (self.prefills, self.tokens)
        self.prefills = self.tokens = 0
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--every", type=int, default=16)
    ap.add_argument("--agree", type=int, default=2)
    ap.add_argument("--probe-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reread-questions", type=int, default=2)
    a = ap.parse_args()

    gen = Generator.load("default", backend="llamacpp", n_ctx=2048, n_threads=a.threads)
    counter = Counting(gen.engine)
    task = get_task("gsm8k").limited(a.limit)
    prompts = [gen.render(task.prompt(p, "boxed")) for p in task.problems]
    budget = Budget(max_thinking_tokens=a.budget, max_answer_tokens=24)
    greedy = [SamplingParams()] * len(prompts)
    cfg = EvalConfig(task="gsm8k")

    t0 = time.perf_counter()
    bf = gen.generate_batch(prompts, budget, greedy, rendered=True)
    bf_s = time.perf_counter() - t0
    bf_reads, bf_evald = counter.reset()
    setting = Setting(
        "early_exit", budget, {"probe_every": a.every, "probe_agree": a.agree, "probe_tokens": a.probe_tokens}
    )
    t0 = time.perf_counter()
    ee = early_exit(gen, prompts, setting, greedy, cfg)
    ee_s = time.perf_counter() - t0
    ee_reads, ee_evald = counter.reset()

    def ok(c, p):
        return judge(c.answer, p.gold, p.kind, thinking=c.thinking).correct

    acc_bf = [float(ok(c, p)) for c, p in zip(bf, task.problems, strict=True)]
    acc_ee = [float(ok(c, p)) for c, p in zip(ee, task.problems, strict=True)]
    saved = [b.thinking_tokens - e.thinking_tokens for b, e in zip(bf, ee, strict=True)]
    probes = sum(c.info["n_probes"] for c in ee)
    probe_tokens = sum(c.info["probe_tokens"] for c in ee)
    probe_s = sum(c.info["probe_seconds"] for c in ee)
    bf_tokens = sum(c.thinking_tokens + c.answer_tokens for c in bf)
    step_s = bf_s / max(1, bf_tokens)

    # Re-read baseline: the same probes from an empty cache (prompt + thinking so far + forced tokens).
    engine, reread_s, reread_n, branch_s = gen.engine, 0.0, 0, 0.0
    forced = list(gen.format_ids.think_end + gen.plan(budget).primer_ids)
    for c, prompt in list(zip(ee, prompts, strict=True))[: a.reread_questions]:
        ids = gen.tokenizer.encode(prompt)
        think_ids = list(c.token_ids)
        for pos, _ in c.info["probes"]:
            t = time.perf_counter()
            engine.prefill(ids + think_ids[:pos] + forced, reuse_cache=False)
            for _ in range(a.probe_tokens):  # decode like a branch would (same token count bound)
                tok = int(engine.last_logits()[: gen.tokenizer.vocab_size].argmax())
                engine.llm.eval([tok])
            reread_s += time.perf_counter() - t
            reread_n += 1
        branch_s += c.info["probe_seconds"]
    branch_n = sum(c.info["n_probes"] for c in ee[: a.reread_questions])
    # What re-reading would evaluate for every probe of every question: prompt + thinking so far + probe.
    reread_tokens = sum(
        c.prompt_tokens * c.info["n_probes"]
        + sum(pos for pos, _ in c.info["probes"])
        + c.info["probe_tokens"]
        for c in ee
    )
    counter.reset()

    print(
        json.dumps(
            {
                "bench": "early_exit",
                "model": engine.model_name,
                "task": "gsm8k",
                "questions": len(prompts),
                "max_thinking_tokens": a.budget,
                "probe_every": a.every,
                "probe_agree": a.agree,
                "thinking_tokens": {
                    "budget_forcing": statistics.fmean(c.thinking_tokens for c in bf),
                    "early_exit": statistics.fmean(c.thinking_tokens for c in ee),
                    "saved_per_question_ci95": mean_ci(saved),
                    "ratio": round(
                        sum(c.thinking_tokens for c in ee) / sum(c.thinking_tokens for c in bf), 3
                    ),
                    "exited_early": sum(c.info["exited"] for c in ee),
                },
                "accuracy": {
                    "budget_forcing": statistics.fmean(acc_bf),
                    "early_exit": statistics.fmean(acc_ee),
                    "difference_ci95": mean_ci([e - b for e, b in zip(acc_ee, acc_bf, strict=True)]),
                },
                "probe": {
                    "per_question": probes / len(prompts),
                    "tokens_per_probe": round(probe_tokens / max(1, probes), 2),
                    "seconds_per_probe": round(probe_s / max(1, probes), 4),
                    "decode_steps_per_probe": round(probe_s / max(1, probes) / step_s, 2),
                },
                "wall_s": {"budget_forcing": round(bf_s, 2), "early_exit": round(ee_s, 2)},
                "prompt_reads": {
                    "budget_forcing": bf_reads,
                    "early_exit": ee_reads,
                    "tokens_evaluated": {
                        "budget_forcing": bf_evald,
                        "early_exit": ee_evald,
                        "probes_if_they_reread": ee_evald - probe_tokens + reread_tokens,
                    },
                    "reread_seconds_per_probe": round(reread_s / max(1, reread_n), 4),
                    "branch_seconds_per_probe": round(branch_s / max(1, branch_n), 4),
                    "reread_over_branch": round(
                        (reread_s / max(1, reread_n)) / max(1e-9, branch_s / max(1, branch_n)), 2
                    ),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
