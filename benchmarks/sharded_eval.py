"""A sweep sharded over two ``s1kit serve`` servers, with and without one of them killed mid-run.

Starts two real servers on loopback (the embedded model, ``--threads`` each), then runs the same
``s1kit eval`` sweep three ways and prints one JSON line:
- ``one_server``: the sweep against one server (the baseline, same run);
- ``two_servers``: against both (``--model http://a,http://b``); ``ratio`` = its wall time over the baseline;
- ``two_servers_one_killed``: both, with server A killed (SIGKILL) a quarter of the baseline's time into
  the run: ``lost`` and ``duplicated`` records against the baseline's keys, ``differing`` records (text, counts, events)
  (greedy: any server gives the same tokens), and the per-server report from the run folder.

Run: .venv/bin/python benchmarks/sharded_eval.py [--limit 8] [--threads 1]
On 2 shared cores two servers cannot beat one (they share the CPUs); on machines with a GPU per server
the ratio is what data parallelism buys.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.vllm.conftest import free_port, process  # noqa: E402


def s1kit(*args: str) -> list[str]:
    return [sys.executable, "-m", "s1kit.cli", *args]


def sweep(limit: int) -> list[str]:
    return ["--task", "gsm8k", "--limit", str(limit), "--budgets", "32,64", "--num-ignore", "1",
            "--max-answer-tokens", "16", "--batch-size", str(limit), "--format", "r1", "--tokenizer", "default",
            "--no-progress"]  # fmt: skip


def run(model: str, out: Path, limit: int, kill: tuple[subprocess.Popen, float] | None = None) -> dict:
    timer = threading.Timer(kill[1], lambda: os.kill(kill[0].pid, signal.SIGKILL)) if kill else None
    t = time.perf_counter()
    if timer:
        timer.start()
    r = subprocess.run(
        s1kit("eval", "--model", model, "--out", str(out), *sweep(limit)), capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    if timer:
        timer.cancel()
    if r.returncode != 0:
        raise SystemExit(f"eval failed: {r.stderr.strip().splitlines()[-1:]}")
    recs = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    servers = out / "servers.json"
    report = json.loads(servers.read_text())["sessions"][-1] if servers.is_file() else None
    return {"wall_s": round(wall, 1), "records": recs, "report": report}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        pa, pb = free_port(), free_port()
        a_url, b_url = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        serve = ["serve", "--model", "default", "--threads", str(args.threads), "--port"]
        with (
            process(s1kit(*serve, str(pa)), a_url, t / "a.log") as a,
            process(s1kit(*serve, str(pb)), b_url, t / "b.log"),
        ):
            one = run(b_url, t / "one", args.limit)
            two = run(f"{a_url},{b_url}", t / "two", args.limit)
            killed = run(f"{a_url},{b_url}", t / "killed", args.limit, kill=(a, one["wall_s"] / 4))
    want = {
        r["key"]: (
            r["thinking"],
            r["answer"],
            r["thinking_tokens"],
            r["answer_tokens"],
            r["events"],
            r["correct"],
        )
        for r in one["records"]
    }
    counts = collections.Counter(r["key"] for r in killed["records"])
    got = {
        r["key"]: (
            r["thinking"],
            r["answer"],
            r["thinking_tokens"],
            r["answer_tokens"],
            r["events"],
            r["correct"],
        )
        for r in killed["records"]
    }
    tokens = sum(r["thinking_tokens"] + r["answer_tokens"] for r in one["records"])
    result = {
        "records": len(want),
        "tokens": tokens,
        "one_server": {"wall_s": one["wall_s"]},
        "two_servers": {
            "wall_s": two["wall_s"],
            "ratio": round(two["wall_s"] / one["wall_s"], 3),
            "servers": two["report"]["servers"],
        },  # fmt: skip
        "two_servers_one_killed": {
            "wall_s": killed["wall_s"],
            "ratio": round(killed["wall_s"] / one["wall_s"], 3),
            "killed_at_s": round(one["wall_s"] / 4, 1),
            "lost": len(set(want) - set(got)),
            "duplicated": sum(n - 1 for n in counts.values()),
            "differing": sum(got.get(k) != v for k, v in want.items()),
            "servers": killed["report"]["servers"],
        },
        "threads_per_server": args.threads,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
