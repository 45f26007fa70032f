"""A sweep sharded over two real ``s1kit serve`` processes on the embedded model, one killed mid-run
(slow tier): every record written exactly once, equal to a one-server run; per-server throughput in
the run folder. The sweep runs through the CLI, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.vllm.conftest import free_port, process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

SWEEP = ["--task", "gsm8k", "--limit", "6", "--budgets", "24,48", "--num-ignore", "1", "--max-answer-tokens",
         "12", "--batch-size", "6", "--format", "r1", "--tokenizer", "default", "--no-progress"]  # fmt: skip


def s1kit(*args: str) -> list[str]:
    return [sys.executable, "-m", "s1kit.cli", *args]


def serve(port: int, log: Path):
    return process(s1kit("serve", "--model", "default", "--port", str(port), "--threads", "1"),
                   f"http://127.0.0.1:{port}", log, deadline_s=300)  # fmt: skip


def keyed(run: Path) -> tuple[dict[str, list[int]], int]:
    recs = [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines()]
    return {
        r["key"]: (
            r["thinking"],
            r["answer"],
            r["thinking_tokens"],
            r["answer_tokens"],
            r["events"],
            r["correct"],
        )
        for r in recs
    }, len(recs)


def test_sweep_survives_a_killed_server(tmp_path):
    pa, pb = free_port(), free_port()
    with serve(pa, tmp_path / "a.log") as a, serve(pb, tmp_path / "b.log"):
        urls = f"http://127.0.0.1:{pa},http://127.0.0.1:{pb}"
        t0 = time.perf_counter()
        one = subprocess.run(s1kit("eval", "--model", f"http://127.0.0.1:{pb}", "--out", str(tmp_path / "one"), *SWEEP),
                             capture_output=True, text=True)  # fmt: skip
        t_one = time.perf_counter() - t0
        assert one.returncode == 0, one.stderr[-2000:]
        out = tmp_path / "sharded"
        killer = threading.Timer(t_one / 4, lambda: os.kill(a.pid, signal.SIGKILL))
        t0 = time.perf_counter()
        killer.start()
        run = subprocess.run(
            s1kit("eval", "--model", urls, "--out", str(out), *SWEEP), capture_output=True, text=True
        )
        t_two = time.perf_counter() - t0
        killer.cancel()
        assert run.returncode == 0, run.stderr[-2000:]
        assert a.poll() is not None  # really killed during the run
        (want, n_want), (got, n_got) = keyed(tmp_path / "one"), keyed(out)
        assert n_got == len(got) == n_want == 6 * 2  # nothing lost, nothing duplicated
        assert got == want  # greedy: the same records whichever server made them
        servers = json.loads((out / "servers.json").read_text())["sessions"][-1]["servers"]
        assert servers[0]["failures"] >= 1 and servers[0]["state"] == "down"
        assert servers[1]["completion_tokens"] > 0
        # Resuming the finished sweep with the dead server still listed writes nothing new.
        again = subprocess.run(
            s1kit("eval", "--model", urls, "--out", str(out), *SWEEP), capture_output=True, text=True
        )
        assert again.returncode == 0, again.stderr[-2000:]
        assert keyed(out)[1] == n_got
        print(f"one server {t_one:.1f} s, two servers with one killed at {t_one / 4:.1f} s: {t_two:.1f} s")
