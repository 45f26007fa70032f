"""``s1kit train``: supervised fine-tuning on s1K-style data, from one CPU to a GPU cluster.

    s1kit train --data s1k.jsonl --model default --output out/s1-tiny --recipe cpu-tiny
    s1kit train --recipe s1k-qwen2.5-32b --model Qwen/Qwen2.5-32B-Instruct --estimate --gpus 16
    s1kit train --recipe s1k-qwen2.5-32b --model /models/qwen32b --data s1k.jsonl --output out/s1-32b \\
        --launch fsdp --gpus 16

Every ``TrainConfig`` field is a flag (``--max-steps 2 --block-size 512 --lora``) that overrides the
recipe. Progress goes to stderr; the result is one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from s1kit.errors import S1kitError
from s1kit.training.config import TrainConfig, recipe_names

RUN_FLAGS = ("data", "model", "output", "recipe", "allow_eval_sets", "resume")


def _field_help(name: str) -> str:
    doc = TrainConfig.__doc__ or ""
    marker = f"{name}:"
    for line in doc.splitlines():
        if line.strip().startswith(marker):
            return line.strip()[len(marker) :].strip()
    return ""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="s1K-schema .jsonl/.json/.parquet file, or a folder of them")
    p.add_argument(
        "--model", default="default", help="'default' (embedded SmolLM2-135M), a .gguf or a model folder"
    )
    p.add_argument("--output", default=None, help="folder for checkpoints and the final model")
    p.add_argument(
        "--recipe", default=None, help=f"shipped recipe ({', '.join(recipe_names())}) or a .yaml file"
    )
    p.add_argument(
        "--allow-eval-sets", action="store_true", help="allow trace files marked EVALSET_DO_NOT_TRAIN"
    )
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    g = p.add_argument_group("sizing and launching")
    g.add_argument(
        "--estimate", action="store_true", help="print per-GPU memory for this run and whether it fits"
    )
    g.add_argument("--gpus", type=int, default=1, help="GPUs (processes) for --estimate and --launch")
    g.add_argument("--gpu-memory", type=float, default=80.0, help="GiB per GPU for --estimate (default 80)")
    g.add_argument(
        "--launch",
        choices=("fsdp", "deepspeed", "cpu"),
        default=None,
        help="print the accelerate launch command",
    )
    g.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per machine for --launch (default 8)")
    g.add_argument("--run", action="store_true", help="with --launch: execute the command (one machine)")
    c = p.add_argument_group("training config (overrides the recipe)")
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        hint, default = hints[f.name], f.default if f.default is not MISSING else None
        help_text = f"{_field_help(f.name)} (default {default})"
        choices = get_args(hint)
        if hint is bool:
            c.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif choices and all(isinstance(x, str) for x in choices):
            c.add_argument(flag, dest=f.name, choices=choices, default=None, help=help_text)
        else:
            base = next((a for a in choices if a is not type(None)), hint)
            c.add_argument(flag, dest=f.name, type=base, default=None, help=help_text)


def build_config(args: argparse.Namespace) -> TrainConfig:
    """The recipe (or the defaults) with every flag the user gave applied on top."""
    cfg = TrainConfig.from_recipe(args.recipe) if args.recipe else TrainConfig()
    overrides = {
        f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None
    }
    return cfg.replace(**overrides) if overrides else cfg


def _main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _say(text: str) -> None:
    if _main_process():
        print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.checks import check_numbers

    check_numbers(args, positive=("gpus", "gpus_per_node"), positive_float=("gpu_memory",))  # before any load
    cfg = build_config(args)
    if args.estimate:
        return _estimate(args, cfg)
    if args.launch:
        return _launch(args)
    if not args.data or not args.output:
        raise S1kitError("training needs --data FILE and --output DIR (or use --estimate)")
    return _train(args, cfg)


def _estimate(args: argparse.Namespace, cfg: TrainConfig) -> int:
    from s1kit.training.estimate import architecture, estimate

    strategy = "deepspeed" if args.launch == "deepspeed" else "fsdp"
    est = estimate(
        architecture(args.model, lora_r=cfg.lora_r),
        cfg,
        gpus=args.gpus,
        gpu_memory_gib=args.gpu_memory,
        strategy=strategy,
    )
    print(est.table())
    print(json.dumps(est.to_dict()))
    return 0


def _worker_args(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for name in RUN_FLAGS:
        value = getattr(args, name)
        if value is True:
            out.append("--" + name.replace("_", "-"))
        elif value not in (None, False):
            out += ["--" + name.replace("_", "-"), str(value)]
    for f in fields(TrainConfig):
        value = getattr(args, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + f.name.replace("_", "-"))
        elif value is not None:
            out += [flag, str(value)]
    return out


def _launch(args: argparse.Namespace) -> int:
    from s1kit.training.launch import decoder_layer_class, launch_plan, run_plan

    if not args.data or not args.output:
        raise S1kitError("--launch needs --data FILE and --output DIR for the workers")
    layer = decoder_layer_class(args.model) if args.launch == "fsdp" else None
    plan = launch_plan(
        args.launch,
        gpus=args.gpus,
        train_args=_worker_args(args),
        gpus_per_node=args.gpus_per_node,
        layer_cls=layer,
    )
    if not args.run:
        print(plan.explain())
        return 0
    _say(plan.command)
    return run_plan(plan)


def _progress_callback() -> Any:
    import transformers
    from tqdm.auto import tqdm

    class Progress(transformers.TrainerCallback):
        """A bar with loss, learning rate, tokens/s and the ETA (tqdm's), on the main process only."""

        bar: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                self.bar = tqdm(
                    total=state.max_steps, initial=state.global_step, unit="step", file=sys.stderr
                )

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if self.bar is not None and logs and "loss" in logs:
                post = {"loss": f"{logs['loss']:.4f}", "lr": f"{logs.get('learning_rate', 0):.2e}"}
                if "tokens_per_s" in logs:
                    post["tok/s"] = f"{logs['tokens_per_s']:.0f}"
                self.bar.set_postfix(post, refresh=True)

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.close()

    return Progress()


def _train(args: argparse.Namespace, cfg: TrainConfig) -> int:
    from s1kit.backends.tokenizer import HFTokenizer
    from s1kit.training.data import load_examples
    from s1kit.training.formatting import format_dataset
    from s1kit.training.trainer import load_tokenizer, resolve_model_dir, train

    output = Path(args.output)
    if not args.resume and any(output.glob("checkpoint-*")):
        raise S1kitError(
            f"{output} already holds checkpoints: pass --resume to continue, or choose a new --output"
        )
    examples, load_report = load_examples(args.data, allow_eval_sets=args.allow_eval_sets)
    model_dir = resolve_model_dir(args.model)
    tokenizer = load_tokenizer(model_dir)
    formatted, report = format_dataset(HFTokenizer(tokenizer), examples, cfg)
    _say(f"data: {load_report.summary()}")
    _say(f"format {cfg.format}: {report.summary()}; {report.trained_tokens} trained tokens")
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    result = train(
        cfg,
        model_dir=model_dir,
        tokenizer=tokenizer,
        examples=formatted,
        output=output,
        callbacks=[_progress_callback()],
        resume=args.resume,
        extra_config={
            "data": str(args.data),
            "model_arg": str(args.model),
            "rows": report.rows,
            "rows_kept": report.kept,
            "overlong_rows": [i for i, _ in report.overlong],
            "overlong_action": report.action,
        },
    )
    if _main_process():
        print(json.dumps(result.to_dict()))
        _say(f"saved to {output} (loss curve: {output / 'loss.png'})")
    return 0
