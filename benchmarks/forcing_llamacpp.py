"""Budget forcing overhead on the embedded model, llama.cpp backend, one process, one run.

Prints one JSON line:
- ``forced_vs_plain``: seconds per kept token of 8 budget-forced rows decoded together (4 appended
  "Wait"s each; a multi-token stop's tokens are decoded, then rolled back) over seconds per token of plain
  greedy decoding in the same batched loop (target <= 1.02); ``forced_same_work``: the two wall times when
  the plain rows decode exactly as many tokens as the forced rows fed (the pure cost of forcing);
- ``inloop_speedup_vs_reread``: round-by-round forcing that re-reads the 2,000-token prompt every round
  (the reference implementation's way) over in-loop forcing, 4 extensions of 64 tokens (target >= 3);
- ``s1kit_vs_raw``: s1kit's decode tokens/s over llama-cpp-python's own generate loop (target >= 0.95).

Run: .venv/bin/python benchmarks/forcing_llamacpp.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from s1kit import Budget
from s1kit.backends import load_engine
from s1kit.generation.generator import Generator
from s1kit.generation.loop import Row, run_rows
from s1kit.generation.sampling import Sampler, SamplingParams

QUESTION = "How many positive divisors does 360 have?"


def raw_generate(engine, prompt: list[int], n: int) -> float:
    """llama-cpp-python's own loop (eval + its C sampler), greedy, exactly n tokens; seconds."""
    engine.llm.reset()
    t = time.perf_counter()
    for k, _ in enumerate(engine.llm.generate(prompt, temp=0.0, top_k=1, min_p=0.0, repeat_penalty=1.0), 1):
        if k >= n:
            break
    return time.perf_counter() - t


class _Plain(Row):
    """Greedy decoding of exactly ``n`` tokens with no forcing: the baseline row."""

    def __init__(self, prompt: list[int], n: int, vocab: int) -> None:
        super().__init__(prompt)
        self.n, self.sampler = n, Sampler(SamplingParams(), vocab)

    def wants_sample(self) -> bool:
        return self.fed < self.n

    def choose(self, view) -> tuple[int | None, int]:
        if self.fed >= self.n:
            return None, 0
        return (view.sampled if view.sampled is not None else self.sampler(view.logits())), 0


def forced_vs_plain(gen: Generator, engine, batch: int = 8) -> dict:
    """``batch`` budget-forced rows (4 appended "Wait"s each, multi-token stops rolled back) against
    plain greedy decoding of as many tokens per row from the same prompts in the same batched loop,
    seconds per generated token."""
    budget = Budget(max_thinking_tokens=192, num_ignore=4, max_answer_tokens=32)
    questions = [f"{QUESTION} (case {i})" for i in range(batch)]
    engine.pool.clear_cache()  # both runs prefill their prompts
    t = time.perf_counter()
    outs = gen.generate_batch(questions, budget)
    forced_s = time.perf_counter() - t
    waits = sum(e.kind == "ignore" for c in outs for e in c.events)
    kept = sum(len(c.token_ids) for c in outs)
    fed = [c.timings.generated_tokens for c in outs]  # includes tokens later rolled back
    prompts = [gen.tokenizer.encode(gen.render(q)) for q in questions]
    engine.pool.clear_cache()
    t = time.perf_counter()
    run_rows(engine, [_Plain(p, n, gen.tokenizer.vocab_size) for p, n in zip(prompts, fed, strict=True)])
    plain_s = time.perf_counter() - t
    n = sum(fed)
    return {
        "tokens": kept,
        "decoded": n,
        "waits": waits,
        "ratio": (forced_s / kept) / (plain_s / n),  # per token kept, against plain per token decoded
        "ratio_same_work": forced_s / plain_s,  # the same decode steps per row (rolled-back ones too)
    }


def inloop_vs_reread(gen: Generator, engine, context: int = 2000, ext: int = 64, rounds: int = 4) -> dict:
    """Same tokens two ways: one session that keeps its cache, vs re-reading everything every round."""
    tok = gen.tokenizer
    filler = " ".join(f"Fact {i}: the number {i * 7} is interesting." for i in range(400))
    prompt = tok.encode(gen.render(filler + "\n" + QUESTION))[: context - 1] + tok.encode("\n")
    wait = tok.encode("Wait")
    greedy = SamplingParams()

    t = time.perf_counter()  # in-loop: prefill once, then decode; "Wait" is fed as a step
    session = engine.open([prompt], greedy)
    inloop: list[int] = []
    for r in range(rounds + 1):
        for _ in range(ext):
            token = int(session.logits(0).argmax())
            inloop.append(token)
            session.step([token])
        if r < rounds:
            for w in wait:
                inloop.append(w)
                session.step([w])
    t_inloop = time.perf_counter() - t

    t = time.perf_counter()  # reference: every round re-reads prompt + everything so far
    reread: list[int] = []
    for r in range(rounds + 1):
        res = engine.complete(prompt + reread, max_tokens=ext, stop=[], sampling=greedy, reuse_cache=False)
        reread += res.tokens
        if r < rounds:
            reread += wait
    t_reread = time.perf_counter() - t
    return {
        "context": len(prompt),
        "same_tokens": inloop == reread,
        # llama.cpp evaluates a re-read prompt in 512-token batches and a decode one token at a time; the
        # float rounding differs, so a near-tie argmax can flip late in a long re-read run.
        "first_divergence": next(
            (i for i, (x, y) in enumerate(zip(inloop, reread, strict=False)) if x != y), None
        ),
        "inloop_s": t_inloop,
        "reread_s": t_reread,
        "speedup": t_reread / t_inloop,
    }


def s1kit_vs_raw(gen: Generator, engine, n: int = 256) -> dict:
    budget = Budget(max_thinking_tokens=n, min_thinking_tokens=n, max_answer_tokens=1)
    prompt = gen.tokenizer.encode(gen.render(QUESTION))
    engine.llm.reset()
    c = gen.generate(QUESTION, budget)
    ours = c.timings.generated_tokens / c.timings.decode_s
    raw_s = raw_generate(engine, prompt, c.timings.generated_tokens + 1)
    # raw_s includes its prefill; subtract a separately timed prefill of the same prompt
    engine.llm.reset()
    t = time.perf_counter()
    engine.llm.eval(prompt)
    prefill = time.perf_counter() - t
    raw = c.timings.generated_tokens / max(raw_s - prefill, 1e-9)
    return {"s1kit_tok_s": ours, "raw_tok_s": raw, "ratio": ours / raw}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--parts", default="forced,reread,raw", help="which measurements to run")
    args = ap.parse_args()
    engine = load_engine("default", "llamacpp", n_ctx=4096, n_threads=args.threads)
    gen = Generator(engine, "r1")
    gen.generate(QUESTION, Budget(max_thinking_tokens=8))  # warm up
    parts = set(args.parts.split(","))
    a = [forced_vs_plain(gen, engine) for _ in range(args.repeats)] if "forced" in parts else []
    b = [inloop_vs_reread(gen, engine) for _ in range(args.repeats)] if "reread" in parts else []
    c = [s1kit_vs_raw(gen, engine) for _ in range(args.repeats)] if "raw" in parts else []
    med = lambda rows, k: statistics.median(r[k] for r in rows) if rows else None  # noqa: E731
    first = lambda rows, k: rows[0][k] if rows else None  # noqa: E731
    print(
        json.dumps(
            {
                "benchmark": "forcing_llamacpp",
                "model": engine.model_name,
                "threads": args.threads,
                "forced_vs_plain": med(a, "ratio"),
                "forced_same_work": med(a, "ratio_same_work"),
                "forced_tokens": first(a, "tokens"),
                "forced_decoded": first(a, "decoded"),
                "forced_waits": first(a, "waits"),
                "inloop_speedup_vs_reread": med(b, "speedup"),
                "reread_same_tokens": all(r["same_tokens"] for r in b) if b else None,
                "reread_first_divergence": first(b, "first_divergence"),
                "context_tokens": first(b, "context"),
                "s1kit_vs_raw": med(c, "ratio"),
                "s1kit_tok_s": med(c, "s1kit_tok_s"),
                "raw_tok_s": med(c, "raw_tok_s"),
                "repeats": args.repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
