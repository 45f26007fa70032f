"""The ``accelerate launch`` command for a multi-process run: ``s1kit train --launch fsdp --gpus 16``.

s1kit has no distributed runtime of its own: accelerate starts one process per GPU and transformers'
``Trainer`` picks up FSDP or DeepSpeed from the shipped config. The command runs ``s1kit train``
again in every process with the same arguments, minus the launch options.

Example:
    >>> plan = launch_plan("fsdp", gpus=16, train_args=["--data", "s1k.jsonl"], layer_cls="Qwen2DecoderLayer")
    >>> plan.machines
    2
"""

from __future__ import annotations

import math
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from s1kit.errors import ConfigError, S1kitError

Strategy = Literal["fsdp", "deepspeed", "cpu"]
CONFIGS: dict[str, str] = {"fsdp": "fsdp.yaml", "deepspeed": "deepspeed_zero3.yaml"}


def accelerate_config(strategy: str) -> Path:
    """Path of a shipped accelerate config (``fsdp`` or ``deepspeed``)."""
    if strategy not in CONFIGS:
        raise S1kitError(f"unknown launch strategy {strategy!r}: expected one of {sorted(CONFIGS)} or 'cpu'")
    return Path(str(resources.files("s1kit") / "recipes" / "accelerate" / CONFIGS[strategy]))


@dataclass(frozen=True)
class LaunchPlan:
    """The command and how it is spread over machines."""

    strategy: str
    gpus: int
    machines: int
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return (
            shlex.join(self.argv)
            .replace("'$MACHINE_RANK'", "$MACHINE_RANK")
            .replace("'$MAIN_PROCESS_IP'", "$MAIN_PROCESS_IP")
        )

    def explain(self) -> str:
        if self.machines == 1:
            return self.command
        return (
            f"# {self.gpus} GPUs = {self.machines} machines x {self.gpus // self.machines}: run this on every "
            "machine, with MACHINE_RANK=0..N-1 and MAIN_PROCESS_IP set to machine 0's address\n"
            + self.command
        )


def launch_plan(
    strategy: Strategy,
    *,
    gpus: int,
    train_args: list[str],
    gpus_per_node: int = 8,
    layer_cls: str | None = None,
) -> LaunchPlan:
    """Build the ``accelerate launch`` command line.

    Args:
        strategy: ``fsdp`` (full shard, decoder layer as the wrap unit), ``deepspeed`` (ZeRO-3), or
            ``cpu`` (DDP over gloo on this machine's CPU cores; for tests and laptops).
        gpus: total processes.
        train_args: the ``s1kit train`` arguments each process runs with.
        gpus_per_node: GPUs per machine; more GPUs than this means several machines.
        layer_cls: the decoder layer class to wrap (FSDP); default is the shipped config's.
    """
    if gpus < 1:
        raise ConfigError("gpus", gpus, "at least 1")
    if gpus_per_node < 1:
        raise ConfigError("gpus_per_node", gpus_per_node, "at least 1")
    machines = 1 if strategy == "cpu" else math.ceil(gpus / gpus_per_node)
    if machines > 1 and gpus % gpus_per_node:
        raise ConfigError("gpus", gpus, f"a multiple of gpus_per_node={gpus_per_node} across machines")
    argv = ["accelerate", "launch"]
    if strategy == "cpu":
        # accelerate's --cpu starts one process (several need mpirun); --multi_gpu starts torchrun, which
        # on a machine without CUDA gives DDP over gloo: what we want for CPU processes.
        argv += ["--multi_gpu", "--num_processes", str(gpus), "--num_machines", "1"]
        argv += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    else:
        argv += ["--config_file", str(accelerate_config(strategy)), "--num_processes", str(gpus)]
        argv += ["--num_machines", str(machines)]
        if machines > 1:
            argv += ["--machine_rank", "$MACHINE_RANK", "--main_process_ip", "$MAIN_PROCESS_IP"]
            argv += ["--main_process_port", "29500"]
        if strategy == "fsdp" and layer_cls:
            argv += ["--fsdp_transformer_layer_cls_to_wrap", layer_cls]
    argv += ["-m", "s1kit.cli", "train", *train_args]
    return LaunchPlan(strategy, gpus, machines, tuple(argv))


def decoder_layer_class(model: str) -> str | None:
    """The class FSDP should wrap for ``model`` (its ``_no_split_modules``), or None if unknown."""
    try:
        import torch
        import transformers

        from s1kit.training.estimate import KNOWN

        if model in KNOWN:
            spec = dict(KNOWN[model])
            config = transformers.AutoConfig.for_model(spec.pop("model_type"), **spec)
        else:
            from s1kit.training.trainer import resolve_model_dir

            config = transformers.AutoConfig.from_pretrained(resolve_model_dir(model))
            if isinstance(getattr(config, "quantization_config", None), dict):
                del config.quantization_config
        with torch.device("meta"):
            net = transformers.AutoModelForCausalLM.from_config(config)
    except (ImportError, S1kitError, OSError, ValueError):
        return None
    names = sorted(net._no_split_modules or ())
    return ",".join(names) or None


def run_plan(plan: LaunchPlan) -> int:
    """Execute a single-machine plan (``--run``); the exit status of ``accelerate launch``."""
    if plan.machines > 1:
        raise S1kitError(
            f"--run starts one machine only; this plan needs {plan.machines}: run the printed command on each"
        )
    beside = Path(sys.executable).parent / "accelerate"  # the virtualenv's, even if not on PATH
    exe = str(beside) if beside.is_file() else shutil.which("accelerate")
    argv = (
        [exe, *plan.argv[1:]] if exe else [sys.executable, "-m", "accelerate.commands.launch", *plan.argv[2:]]
    )
    return subprocess.call(argv)
