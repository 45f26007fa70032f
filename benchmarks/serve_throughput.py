"""``s1kit serve`` (batched llama.cpp) against llama.cpp's own ``llama-server``, same model, same run.

Both serve the embedded SmolLM2-135M GGUF on loopback with the same threads, the same KV cache size and
the same number of parallel sequences (s1kit ``--max-batch N``, llama-server ``-np N``); 1, 8 and 32
concurrent clients each send greedy chat requests of ``--max-tokens`` answer tokens, the two servers
alternating so both see the same background load. Reported per level: generated tokens/s over wall
time, latency p50/p95, and the ratios s1kit / llama-server. Then the same load with per-request thinking
budgets (``max_thinking_tokens``, ``min_thinking_tokens``, ``num_ignore``) on s1kit alone: Control (the
share of replies whose thinking stayed within its budget) and the error count.

llama-server is built once from the llama.cpp sources that llama-cpp-python vendors
(``scripts/build-llama-server.sh``, about 8 minutes on 2 cores, cached); ``--llama-server PATH`` skips that.

    python benchmarks/serve_throughput.py [--max-tokens 32] [--levels 1,8,32] [--threads 1] [--slots 32]

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


def budgeted(url: str, model: str, clients: int, requests: int) -> dict[str, Any]:
    """Per-request budgets at ``clients`` concurrency: Control (thinking within [min, max]) and errors."""
    results: list[tuple[int, int, int] | None] = []
    lock = threading.Lock()
    todo = list(range(requests))

    def worker() -> None:
        with httpx.Client(timeout=600) as http:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                mx, mn = 16 + 8 * (i % 4), 4 * (i % 3)
                body = {
                    "model": model,
                    "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                    "max_tokens": 16,
                    "temperature": 0.7,
                    "seed": i,
                    "max_thinking_tokens": mx,
                    "min_thinking_tokens": mn,
                    "num_ignore": i % 3,
                }
                try:
                    r = http.post(url + "/v1/chat/completions", json=body)
                    r.raise_for_status()
                    used = r.json()["usage"]["completion_tokens_details"]["reasoning_tokens"]
                    row: tuple[int, int, int] | None = (mn, used, mx)
                except (httpx.HTTPError, KeyError, ValueError):
                    row = None
                with lock:
                    results.append(row)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r is not None]
    return {
        "requests": len(results),
        "errors": len(results) - len(ok),
        "control": round(sum(mn <= used <= mx for mn, used, mx in ok) / max(1, len(ok)), 3),
    }


def llama_server_binary(given: str | None) -> str:
    if given:
        return given
    out = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "build-llama-server.sh")], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"building llama-server failed: {out.stderr[-500:]}")
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--levels", default="1,8,32")
    p.add_argument("--repeats", type=int, default=2, help="alternating repetitions per level")
    p.add_argument("--threads", type=int, default=1, help="decoding threads of each server")
    p.add_argument("--slots", type=int, default=32, help="parallel sequences of each server")
    p.add_argument("--n-ctx", type=int, default=8192, help="KV cache cells of each server")
    p.add_argument("--llama-server", default=None, help="path of a llama-server binary")
    args = p.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from s1kit.backends.models import default_gguf

    binary = llama_server_binary(args.llama_server)
    s1_url, ll_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    t = str(args.threads)
    s1 = start(
        [sys.executable, "-m", "s1kit.cli", "serve", "--model", "default", "--backend", "llamacpp",
         "--port", s1_url.rsplit(":", 1)[1], "--max-batch", str(args.slots), "--n-ctx", str(args.n_ctx),
         "--threads", t],
        s1_url,
    )  # fmt: skip
    ll = start(
        [binary, "-m", str(default_gguf()), "--port", ll_url.rsplit(":", 1)[1], "--host", "127.0.0.1",
         "-t", t, "-tb", t, "-np", str(args.slots), "-c", str(args.n_ctx), "--kv-unified", "--jinja"],
        ll_url,
    )  # fmt: skip
    try:
        s1_model = httpx.get(s1_url + "/v1/models").json()["data"][0]["id"]
        ll_model = httpx.get(ll_url + "/v1/models").json()["data"][0]["id"]
        load(s1_url, s1_model, 1, 1, 4)  # warm both up
        load(ll_url, ll_model, 1, 1, 4)
        rows = {}
        for c in levels:
            n = max(4, 2 * c)
            mine: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            for _ in range(args.repeats):  # alternate, so both see the same background load
                mine.append(load(s1_url, s1_model, c, n, args.max_tokens))
                theirs.append(load(ll_url, ll_model, c, n, args.max_tokens))
            s, ref = summary(mine), summary(theirs)
            print(f"{c} clients: s1kit {s}, llama-server {ref}", file=sys.stderr, flush=True)
            rows[str(c)] = {
                "s1kit": s,
                "llama_server": ref,
                "throughput_ratio": round(s["tokens_per_s"] / ref["tokens_per_s"], 2),
                "p95_ratio": round(s["p95_s"] / ref["p95_s"], 2),
            }
        budgets = budgeted(s1_url, s1_model, 8, 32)
        health = httpx.get(s1_url + "/health").json()
    finally:
        for proc in (s1, ll):
            proc.terminate()
            proc.wait(timeout=30)
    print(
        json.dumps(
            {
                "benchmark": "serve_throughput",
                "model": "SmolLM2-135M-Instruct (embedded GGUF)",
                "threads": args.threads,
                "slots": args.slots,
                "n_ctx": args.n_ctx,
                "max_tokens": args.max_tokens,
                "clients": rows,
                "per_request_budgets": budgets,
                "health": health,
            }
        )
    )


if __name__ == "__main__":
    main()
