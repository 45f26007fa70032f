"""Throughput and latency of ``s1kit serve`` against llama-cpp-python's server on the same model, same run.

Both servers serve the embedded SmolLM2-135M (s1kit on the hf backend with continuous batching, llama.cpp
on its GGUF, one request at a time) on loopback; 1, 8 and 32 concurrent clients each send chat requests
(greedy, ``max_tokens`` answer tokens). Reported: generated tokens/s over the wall time, latency p50/p95,
and the ratios s1kit / llama.cpp. Then the cost of budget forcing over HTTP (round by round through the
openai client backend against ``s1kit serve``) against in-process forcing in the decoding loop, on the
same model and budget; the two must produce the same tokens.

    python benchmarks/serve_throughput.py [--max-tokens 32] [--levels 1,8,32] [--threads 2]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a rainbow forms.",
    "Describe your favourite meal in detail.",
    "What are the rules of chess?",
    "Tell me about the history of Rome.",
    "How do airplanes fly?",
    "Write a poem about autumn leaves.",
    "Why is the sky blue?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, timeout: float = 300) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {' '.join(cmd)}")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def load(url: str, model: str, clients: int, requests: int, max_tokens: int) -> dict[str, Any]:
    """``clients`` threads share ``requests`` chat requests; returns the tokens, wall time and latencies."""
    latencies: list[float] = []
    tokens = [0]
    lock = threading.Lock()
    todo = list(range(requests))

    def worker() -> None:
        with httpx.Client(timeout=600) as http:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                body = {
                    "model": model,
                    "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                    "max_tokens": max_tokens,
                    "temperature": 0,
                }
                t = time.perf_counter()
                r = http.post(url + "/v1/chat/completions", json=body)
                r.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)
                    tokens[0] += r.json()["usage"]["completion_tokens"]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"tokens": tokens[0], "wall_s": time.perf_counter() - t0, "latencies": latencies}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Tokens/s over all repetitions' wall time; latency percentiles over all their requests."""
    lat = sorted(x for r in runs for x in r["latencies"])
    tokens, wall = sum(r["tokens"] for r in runs), sum(r["wall_s"] for r in runs)
    return {
        "tokens_per_s": round(tokens / wall, 2),
        "p50_s": round(statistics.median(lat), 3),
        "p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 3),
        "tokens": tokens,
        "requests": len(lat),
        "wall_s": round(wall, 2),
    }


def forcing_cost(url: str, threads: int) -> dict[str, float]:
    """Budget forcing in-process (decoding loop) vs over HTTP (round by round), same model and budget."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import torch

    torch.set_num_threads(threads)
    from s1kit import Budget
    from s1kit.backends import load_engine
    from s1kit.generation.generator import Generator

    budget = Budget(max_thinking_tokens=48, min_thinking_tokens=40, max_answer_tokens=16)
    local = Generator(load_engine("default", "hf", device="cpu"), "r1")
    remote = Generator(load_engine(url, "openai"), "r1")  # tokenizer: the model folder in /v1/models
    qs = PROMPTS[:3]
    t = time.perf_counter()
    a = [local.generate(q, budget) for q in qs]
    t_local = time.perf_counter() - t
    sent = remote.engine.requests_sent
    t = time.perf_counter()
    b = [remote.generate(q, budget) for q in qs]
    t_http = time.perf_counter() - t
    return {
        "in_process_s": round(t_local, 2),
        "http_rounds_s": round(t_http, 2),
        "http_over_in_process": round(t_http / t_local, 2),
        "http_requests": remote.engine.requests_sent - sent,
        "same_tokens": all(x.token_ids == y.token_ids for x, y in zip(a, b, strict=True)),
        "thinking_tokens": sum(x.thinking_tokens for x in a),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--levels", default="1,8,32")
    p.add_argument("--repeats", type=int, default=2, help="alternating repetitions per level")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="decoding threads of each server (1: no spinning on a shared box)",
    )
    args = p.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from s1kit.backends.models import default_gguf

    s1_url, ll_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    s1 = start(
        [
            sys.executable,
            "-m",
            "s1kit.cli",
            "serve",
            "--model",
            "default",
            "--backend",
            "hf",
            "--device",
            "cpu",
            "--port",
            s1_url.rsplit(":", 1)[1],
            "--max-batch",
            "32",
            "--threads",
            str(args.threads),
        ],
        s1_url,
    )
    ll = start(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_gguf()),
            "--port",
            ll_url.rsplit(":", 1)[1],
            "--n_ctx",
            "2048",
            "--n_threads",
            str(args.threads),
        ],
        ll_url,
    )
    try:
        s1_model = httpx.get(s1_url + "/v1/models").json()["data"][0]["id"]
        ll_model = httpx.get(ll_url + "/v1/models").json()["data"][0]["id"]
        load(s1_url, s1_model, 1, 1, 4)  # warm both up
        load(ll_url, ll_model, 1, 1, 4)
        rows = {}
        for c in levels:
            n = max(4, c)
            mine: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            for _ in range(args.repeats):  # alternate, so both see the same background load
                mine.append(load(s1_url, s1_model, c, n, args.max_tokens))
                theirs.append(load(ll_url, ll_model, c, n, args.max_tokens))
            s, ref = summary(mine), summary(theirs)
            print(f"{c} clients: s1kit {s}, llama.cpp {ref}", file=sys.stderr, flush=True)
            rows[str(c)] = {
                "s1kit": s,
                "llamacpp": ref,
                "throughput_ratio": round(s["tokens_per_s"] / ref["tokens_per_s"], 2),
                "p95_ratio": round(s["p95_s"] / ref["p95_s"], 2),
            }
        forcing = forcing_cost(s1_url, args.threads)
    finally:
        for proc in (s1, ll):
            proc.terminate()
            proc.wait(timeout=30)
    print(
        json.dumps(
            {
                "benchmark": "serve_throughput",
                "max_tokens": args.max_tokens,
                "clients": rows,
                "forcing": forcing,
            }
        )
    )


if __name__ == "__main__":
    main()
