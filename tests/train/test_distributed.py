"""Two processes on CPU (torchrun via ``accelerate launch``, DDP over gloo) train a few steps and end
with identical weights on both ranks; and ``s1kit train --launch cpu --gpus 2 --run`` works end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s1kit.training.launch import launch_plan

WORKER = Path(__file__).with_name("ddp_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MASTER_PORT"] = "29517"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _accelerate() -> str:
    exe = Path(sys.executable).parent / "accelerate"
    if not exe.is_file():
        pytest.skip("accelerate is not installed beside this Python")
    return str(exe)


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_weights(tmp_path, tiny_model_dir, sums_jsonl):
    plan = launch_plan("cpu", gpus=2, train_args=[])
    launcher = [
        _accelerate(),
        "launch",
        *plan.argv[2 : plan.argv.index("-m")],
    ]  # the plan's own launcher options
    out = tmp_path / "ddp"
    proc = subprocess.run(
        [*launcher, "--main_process_port", "29517", str(WORKER), str(sums_jsonl), str(tiny_model_dir), str(out)],
        env=_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    resolved = (out / "s1kit_train.yaml").read_text()
    assert "world_size: 2" in resolved and "gradient_accumulation: 2" in resolved  # 4 = 1 x 2 ranks x 2
    # The replicas moved away from the initial weights (the test would pass trivially otherwise).
    import hashlib

    from safetensors.torch import load_file

    def digest(folder: Path) -> str:
        state = load_file(folder / "model.safetensors")
        h = hashlib.sha256()
        for name, t in sorted(state.items()):
            h.update(name.encode())
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()

    assert digest(out) != digest(tiny_model_dir)


@pytest.mark.slow
def test_cli_launch_cpu_run(tmp_path, tiny_model_dir, sums_jsonl):
    out = tmp_path / "cli"
    argv = [
        sys.executable, "-m", "s1kit.cli", "train", "--data", str(sums_jsonl), "--model", str(tiny_model_dir),
        "--output", str(out), "--block-size", "128", "--max-steps", "2", "--global-batch-size", "2",
        "--no-gradient-checkpointing", "--launch", "cpu", "--gpus", "2", "--run",
    ]  # fmt: skip
    env = _env()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["world_size"] == 2 and result["steps"] == 2 and result["gradient_accumulation"] == 1
    assert (out / "model.safetensors").is_file()
