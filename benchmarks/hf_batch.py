"""transformers backend at batch 1, 16 and 64 against transformers' own ``generate``, same model, same run.

The model is a random-initialised Qwen2.5-0.5B-shaped network (24 layers, hidden 896, 14 heads, 2 KV
heads, vocabulary 151,936; no weights needed), in bfloat16 on a GPU (float32 on a CPU). Every sequence
generates exactly ``--tokens`` tokens: s1kit thinks ``--tokens`` tokens under a min = max budget through
its decoding loop (forcing state, per-row rollback support, finished rows trimmed), transformers'
``generate`` runs greedy with ``min_new_tokens = max_new_tokens``. Reported: generated tokens/s over
wall time for each, and the ratio s1kit / generate at each batch size.

Run (one call on a GPU machine; about a minute):
    python benchmarks/hf_batch.py [--tokens 128] [--batches 1,16,64] [--prompt-tokens 128]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "smollm2-tokenizer")


def build(device: str):
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        use_sliding_window=False,
    )
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = Qwen2ForCausalLM(cfg).to(device=device, dtype=dtype).eval()
    return model, AutoTokenizer.from_pretrained(TOKENIZER)


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def prompts_of(tok, n: int, length: int) -> list[str]:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "seven",
        "wizards",
        "quietly",
        "judge",
    ]
    out = []
    for i in range(n):
        text = " ".join(words[(i + j) % len(words)] for j in range(length))
        out.append(f"Question {i}: {text}?")
    return out


def run_s1kit(gen, questions, tokens: int, device: str) -> float:
    from s1kit import Budget

    budget = Budget(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=1)
    sync(device)
    t = time.perf_counter()
    outs = gen.generate_batch(questions, budget)
    sync(device)
    wall = time.perf_counter() - t
    return sum(c.thinking_tokens for c in outs) / wall


def run_generate(model, tok, texts: list[str], tokens: int, device: str) -> float:
    import torch

    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    batch = tok(texts, return_tensors="pt", padding=True).to(device)
    sync(device)
    t = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **batch,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    sync(device)
    wall = time.perf_counter() - t
    return (out.shape[1] - batch["input_ids"].shape[1]) * len(texts) / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--prompt-tokens", type=int, default=24, help="words per prompt")
    args = ap.parse_args()
    import torch

    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tok = build(device)
    batches = [int(x) for x in args.batches.split(",")]
    engine = HFEngine.from_objects(model, tok, model_name="qwen2.5-0.5b-shaped", max_batch=max(batches))
    gen = Generator(engine, "s1")
    warm = prompts_of(tok, 2, args.prompt_tokens)
    run_s1kit(gen, warm, 4, device)
    run_generate(model, tok, [gen.render(q) for q in warm], 4, device)
    rows = {}
    for b in batches:
        qs = prompts_of(tok, b, args.prompt_tokens)
        ours = run_s1kit(gen, qs, args.tokens, device)
        theirs = run_generate(model, tok, [gen.render(q) for q in qs], args.tokens, device)
        rows[str(b)] = {
            "s1kit_tok_s": round(ours, 1),
            "generate_tok_s": round(theirs, 1),
            "ratio": round(ours / theirs, 2),
        }
        print(f"batch {b}: {rows[str(b)]}", file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "benchmark": "hf_batch",
                "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                "dtype": str(model.dtype),
                "tokens": args.tokens,
                "batches": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
