"""``s1kit serve`` under hostile clients: /health and a normal request, against the same server idle.

Starts ``s1kit serve`` on the embedded model (llama.cpp) in its own process, then measures from this one:

* baseline: ``/health`` latency and one short chat request's latency on the idle server;
* 300 half-open connections (headers and 1 byte of a 200-byte body) held for ``--hold`` seconds;
* the fuzz of the test suite (every endpoint, ~190 malformed or hostile requests), counting 5xx;
* eight concurrent ~900 KB prompts (refused as too long).

Reported: p50/p95/max of ``/health`` under each load and the ratio of its p95 to the idle p95, the chat
latency under the held connections over the idle one, 5xx and failed probes (both should be 0), and
whether the held connections were all answered 408 once past ``--read-timeout``.

    python benchmarks/serve_hostile.py [--hold 10] [--read-timeout 12] [--threads 1]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "src")]

from tests.serve.test_fuzz import (  # noqa: E402 - the suite's own hostile requests
    api_cases,
    header_cases,
    raw_cases,
    route_cases,
    surrogate_cases,
)
from tests.serve.test_reliability import hostile_requests  # noqa: E402

HALF = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 200\r\n\r\n{"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    pick = lambda q: 1000 * xs[min(len(xs) - 1, int(q * (len(xs) - 1)))]  # noqa: E731
    return {
        "n": len(xs),
        "p50_ms": round(pick(0.5), 1),
        "p95_ms": round(pick(0.95), 1),
        "max_ms": round(pick(1), 1),
    }


POLL = """
import json, sys, time, httpx
url, lat, failed = sys.argv[1], [], 0
print("ready", flush=True)
with httpx.Client(timeout=10) as http:
    while sys.stdin.readline().strip() == "go":
        t = time.perf_counter()
        try:
            ok = http.get(url + "/health").status_code == 200
        except httpx.HTTPError:
            ok = False
        lat.append(time.perf_counter() - t)
        failed += not ok
        print("ok", flush=True)
print(json.dumps({"lat": lat, "failed": failed}), flush=True)
"""


class Poller:
    """Polls /health every 50 ms from its own process, so this process's client work cannot skew it."""

    def __init__(self, url: str) -> None:
        self.lat: list[float] = []
        self.failed = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-c", POLL, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        while not self.stop.is_set():
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
            self.proc.stdout.readline()
            self.stop.wait(0.05)

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
        out, _ = self.proc.communicate("stop\n", timeout=30)
        res = json.loads(out.strip().splitlines()[-1])
        self.lat, self.failed = res["lat"], res["failed"]


def chat(url: str) -> float:
    t = time.perf_counter()
    r = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8},
        timeout=120,
    )
    r.raise_for_status()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hold", type=float, default=10.0)
    ap.add_argument("--read-timeout", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "s1kit.cli", "serve", "--port", str(port), "--threads", str(args.threads)]
    cmd += ["--read-timeout", str(args.read_timeout)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {"bench": "serve_hostile"}
    try:
        deadline = time.time() + 300
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.5)
        chat(url)  # warm up
        with Poller(url) as idle:
            time.sleep(5)
            idle_chat = [chat(url) for _ in range(3)]
        out["idle"] = {**stats(idle.lat), "chat_s": round(min(idle_chat), 3)}

        socks = []
        with Poller(url) as held:
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.sendall(HALF)
                socks.append(s)
            t0 = time.monotonic()
            held_chat = min(chat(url) for _ in range(3))
            time.sleep(max(0.0, args.hold - (time.monotonic() - t0)))
        answered = 0
        for s in socks:
            s.settimeout(args.read_timeout + 10)
            with contextlib.suppress(OSError):
                answered += s.recv(64).startswith(b"HTTP/1.1 408")
            s.close()
        out["held_300"] = {
            **stats(held.lat),
            "failed_probes": held.failed,
            "chat_s": round(held_chat, 3),
            "answered_408": answered,
        }

        cases = hostile_requests() + surrogate_cases() + header_cases(port) + api_cases() + route_cases()
        cases = [(m, p, b.replace(b'"tiny"', b'"default"') if b else b, h) for m, p, b, h in cases]
        five = 0
        with Poller(url) as fuzz, httpx.Client(base_url=url, timeout=120) as http:
            for method, path, body, headers in cases:
                five += http.request(method, path, content=body, headers=headers).status_code >= 500
            for data in raw_cases(port):
                with (
                    socket.create_connection(("127.0.0.1", port), timeout=30) as s,
                    contextlib.suppress(OSError),
                ):
                    s.sendall(data)
                    five += s.recv(16)[9:10] == b"5"
        out["fuzz"] = {**stats(fuzz.lat), "requests": len(cases) + len(raw_cases(port)), "5xx": five}

        big = json.dumps({"model": "default", "prompt": "lorem ipsum dolor sit amet " * 33_000})  # ~900 KB
        codes: list[int] = []

        def post_big() -> None:
            r = httpx.post(
                url + "/v1/completions",
                content=big,
                headers={"content-type": "application/json"},
                timeout=120,
            )
            codes.append(r.status_code)

        with Poller(url) as huge:
            ts = [threading.Thread(target=post_big) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            time.sleep(0.5)
        out["huge_prompts_8"] = {**stats(huge.lat), "statuses": sorted(set(codes))}
        base = max(out["idle"]["p95_ms"], 0.1)
        out["health_p95_ratio_vs_idle"] = {
            k: round(out[k]["p95_ms"] / base, 2) for k in ("held_300", "fuzz", "huge_prompts_8")
        }
        out["chat_ratio_held_vs_idle"] = round(held_chat / min(idle_chat), 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
