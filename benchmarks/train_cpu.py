"""Training throughput and memory on CPU, and the memory estimate for the paper's run.

Measures, each in its own process so that peak memory is its own:

* ``s1kit train`` on the embedded SmolLM2-135M-Instruct (fp32 on CPU) for a few optimizer steps on
  real long traces (the shared pool's Sky-T1 traces, evaluation-set file excluded; synthetic rows if
  the pool is absent), cut to the block size: tokens/s and peak resident memory;
* the baseline, in the same run: a bare PyTorch forward/backward/AdamW step on the same sequences,
  so the ratio is what ``Trainer`` and the data path cost;
* the ``--estimate`` figure for the toy run, against the measured peak (a check of the model);
* the ``--estimate`` figures for Qwen2.5-32B-Instruct at block size 32,768 on 8 and 16 GPUs of 80 GiB,
  beside the paper's report (16 H100, 26 minutes).

Prints one JSON line.

    PYTHONPATH=src .venv/bin/python benchmarks/train_cpu.py [--steps 4] [--block-size 512]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL = Path(__file__).resolve().parents[2] / "shared" / "pool" / "traces_skythought"


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def data_file(tmp: Path) -> Path:
    if POOL.is_dir():
        return POOL
    rows = [
        {
            "question": f"Compute {i}^2.",
            "thinking_trajectories": [f"{i} times {i} ... " * 80],
            "attempt": str(i * i),
        }
        for i in range(16)
    ]
    p = tmp / "rows.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def part_train(args: argparse.Namespace) -> dict:
    from s1kit.cli import main

    out = Path(args.tmp) / "out"
    argv = ["train", "--recipe", "cpu-tiny", "--model", "default", "--data", args.data, "--output", str(out)]
    argv += ["--max-steps", str(args.steps), "--block-size", str(args.block_size), "--global-batch-size", "2"]
    argv += ["--overlong", "truncate", "--save-steps", "1000", "--logging-steps", "1"]
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    result = json.loads(buf.getvalue().strip().splitlines()[-1])
    return {"rc": rc, **result, "peak_rss_gib": peak_rss_gib()}


def part_bare(args: argparse.Namespace) -> dict:
    """The same sequences through a bare forward/backward/AdamW step (no Trainer, no checkpoints)."""
    import torch

    from s1kit.backends.tokenizer import HFTokenizer
    from s1kit.training.config import TrainConfig
    from s1kit.training.data import load_examples
    from s1kit.training.formatting import format_dataset
    from s1kit.training.trainer import load_model, load_tokenizer, resolve_model_dir

    cfg = TrainConfig.from_recipe("cpu-tiny").replace(block_size=args.block_size, overlong="truncate")
    model_dir = resolve_model_dir("default")
    tok = load_tokenizer(model_dir)
    examples, _ = load_examples(args.data)
    formatted, _ = format_dataset(HFTokenizer(tok), examples, cfg)
    torch.manual_seed(cfg.seed)
    order = torch.randperm(len(formatted)).tolist()[: 2 * args.steps]
    model = load_model(model_dir, cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, betas=(0.9, 0.95), weight_decay=1e-4)
    tokens, start = 0, time.perf_counter()
    for step in range(args.steps):
        for i in order[2 * step : 2 * step + 2]:
            ex = formatted[i]
            ids = torch.tensor([ex.input_ids])
            loss = model(input_ids=ids, labels=torch.tensor([ex.labels])).loss / 2
            loss.backward()
            tokens += len(ex.input_ids)
        opt.step()
        opt.zero_grad(set_to_none=True)
    runtime = time.perf_counter() - start
    return {
        "tokens": tokens,
        "runtime_s": runtime,
        "tokens_per_s": tokens / runtime,
        "peak_rss_gib": peak_rss_gib(),
    }


def baseline_rss_gib() -> float:
    """Peak memory of a process that only imports torch and transformers (subtracted from both)."""
    import torch  # noqa: F401
    import transformers  # noqa: F401

    return peak_rss_gib()


def run_part(name: str, args: argparse.Namespace) -> dict:
    argv = [sys.executable, __file__, "--part", name, "--steps", str(args.steps)]
    argv += ["--block-size", str(args.block_size), "--data", args.data, "--tmp", args.tmp]
    out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if out.returncode != 0:
        raise SystemExit(f"part {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def estimates(block_size: int) -> dict:
    from s1kit.training.config import TrainConfig
    from s1kit.training.estimate import architecture, estimate

    qwen = architecture("Qwen/Qwen2.5-32B-Instruct")
    paper = TrainConfig.from_recipe("s1k-qwen2.5-32b")
    out = {}
    for gpus in (8, 16):
        e = estimate(qwen, paper, gpus=gpus, gpu_memory_gib=80)
        out[f"qwen32b_{gpus}x80GiB"] = {
            k: e.to_dict()[k]
            for k in (
                "total",
                "weights",
                "gradients",
                "optimizer",
                "activations",
                "logits",
                "fits",
                "max_tokens_that_fit",
            )
        }
    fp32 = estimate(qwen, paper.replace(precision="fp32"), gpus=8, gpu_memory_gib=80)
    out["qwen32b_8x80GiB_fp32_load"] = {"total": round(fp32.total, 1), "fits": fp32.fits}
    toy = estimate(
        architecture("default"),
        TrainConfig.from_recipe("cpu-tiny").replace(block_size=block_size),
        gpus=1,
        gpu_memory_gib=24,
    )
    out["toy_estimate_gib"] = round(toy.total, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--block-size", type=int, default=512)
    ap.add_argument("--part", default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--tmp", default=None)
    args = ap.parse_args()
    if args.part:
        fn = {"train": part_train, "bare": part_bare, "idle": lambda a: {"peak_rss_gib": baseline_rss_gib()}}
        print(json.dumps(fn[args.part](args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        args.data = str(data_file(Path(tmp)))
        idle = run_part("idle", args)["peak_rss_gib"]
        bare = run_part("bare", args)
        train = run_part("train", args)
    est = estimates(args.block_size)
    train_mem = train["peak_rss_gib"] - idle
    toy = est.pop("toy_estimate_gib")
    report = {
        "model": "SmolLM2-135M-Instruct (fp32, CPU)",
        "steps": args.steps,
        "block_size": args.block_size,
        "global_batch": 2,
        "train_tokens_per_s": round(train["tokens_per_s"], 1),
        "bare_loop_tokens_per_s": round(bare["tokens_per_s"], 1),
        "ratio_train_vs_bare": round(train["tokens_per_s"] / bare["tokens_per_s"], 3),
        "train_peak_rss_gib_above_imports": round(train_mem, 2),
        "bare_peak_rss_gib_above_imports": round(bare["peak_rss_gib"] - idle, 2),
        "toy_estimate_gib": toy,
        "ratio_estimate_vs_measured_peak": round(toy / train_mem, 3) if train_mem > 0 else None,
        **est,
        "paper": "16 x H100 80GB, FSDP, 26 minutes, 315 steps (s1-32B)",
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
