"""Run the s1 SFT recipe with transformers' ``Trainer`` on pre-tokenised ids and labels.

No training loop of our own: ``Trainer`` brings gradient accumulation, the cosine schedule, mixed
precision, checkpoints and resumption, and under ``accelerate launch`` it runs DDP, FSDP or DeepSpeed
unchanged. What this module adds is the s1 specifics: the model is loaded in the training dtype (the
reference code loaded fp32 weights and ran out of memory on 8 GPUs), the global batch is kept at the
configured size whatever the number of processes, and the output folder is a plain transformers
model with its tokenizer, the resolved config beside it and a loss curve.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from s1kit.errors import MissingExtraError, S1kitError
from s1kit.training.config import TrainConfig
from s1kit.training.formatting import IGNORE, FormattedExample

CONFIG_NAME = "s1kit_train.yaml"


@dataclass(frozen=True)
class TrainResult:
    """What a finished run did.

    Attributes:
        output_dir: the saved model folder.
        steps: optimizer steps taken.
        losses: training loss at each logged step, in order.
        tokens_seen: non-padding tokens processed over all processes.
        runtime_s: wall time of ``Trainer.train``.
        world_size: number of processes.
        gradient_accumulation: micro batches per optimizer step on each process.
    """

    output_dir: Path
    steps: int
    losses: tuple[float, ...]
    tokens_seen: int
    runtime_s: float
    world_size: int
    gradient_accumulation: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_seen / self.runtime_s if self.runtime_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_dir": str(self.output_dir),
            "steps": self.steps,
            "first_loss": self.losses[0] if self.losses else None,
            "final_loss": self.losses[-1] if self.losses else None,
            "tokens_seen": self.tokens_seen,
            "runtime_s": round(self.runtime_s, 3),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "world_size": self.world_size,
            "gradient_accumulation": self.gradient_accumulation,
        }


def _imports() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise MissingExtraError("training", "train", e.name or "transformers") from e
    return torch, transformers


def resolve_model_dir(model: str | os.PathLike[str]) -> Path:
    """A transformers model folder for ``model``: ``default``, a GGUF file (converted once) or a folder.

    Raises:
        S1kitError: if the folder is not a causal language model transformers can build.
    """
    from s1kit.backends.models import gguf_to_hf, resolve_model

    spec = resolve_model(model)
    path = gguf_to_hf(spec.path) if spec.kind == "gguf" else spec.path
    _, transformers = _imports()
    try:
        config = transformers.AutoConfig.from_pretrained(path)
    except (OSError, ValueError, KeyError) as e:
        raise S1kitError(f"{path} is not a transformers model folder: {str(e).splitlines()[0]}") from None
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise S1kitError(f"{path} holds a {config.model_type!r} model, not a causal language model")
    return Path(path)


def load_tokenizer(model_dir: Path) -> Any:
    """The model's transformers tokenizer (without a chat template, rows use the plain prompt that
    generation uses for such a model too)."""
    _, transformers = _imports()
    try:
        tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as e:
        raise S1kitError(f"cannot load a tokenizer from {model_dir}: {str(e).splitlines()[0]}") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def resolve_precision(cfg: TrainConfig) -> str:
    """``auto`` is bf16 on a GPU that has it, else fp32 (CPU training of the toy model)."""
    torch, _ = _imports()
    if cfg.precision != "auto":
        return cfg.precision
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"


def load_model(model_dir: Path, cfg: TrainConfig) -> Any:
    """The model in the training dtype (bf16 stays bf16: no fp32 copy of a 32B model), LoRA if asked."""
    torch, transformers = _imports()
    precision = resolve_precision(cfg)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32  # fp16 trains fp32 weights + autocast
    config = transformers.AutoConfig.from_pretrained(model_dir)
    quant = getattr(config, "quantization_config", None)
    if isinstance(quant, dict) and quant.get("quant_method") == "gguf":
        del config.quantization_config  # a GGUF conversion is plain float weights; keep it trainable
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, config=config, dtype=dtype, attn_implementation=cfg.attn_implementation
    )
    if getattr(model, "is_quantized", False):
        raise S1kitError(f"{model_dir} is a quantized model: full fine-tuning needs float weights")
    model.config.use_cache = False
    if cfg.lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as e:
            raise MissingExtraError("LoRA training", "train", "peft") from e
        target = cfg.lora_target if cfg.lora_target == "all-linear" else cfg.lora_target.split(",")
        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=target,
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model


class PaddingCollator:
    """Pads a micro batch to its longest row: ids with the pad id, labels with -100."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: Sequence[dict[str, Sequence[int]]]) -> dict[str, Any]:
        torch, _ = _imports()
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            labels[i, :n] = torch.tensor(r["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _training_arguments(cfg: TrainConfig, output: Path, grad_accum: int) -> Any:
    torch, transformers = _imports()
    precision = resolve_precision(cfg)
    return transformers.TrainingArguments(
        output_dir=str(output),
        num_train_epochs=float(cfg.epochs),
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        adam_beta1=cfg.adam_beta1,
        adam_beta2=cfg.adam_beta2,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        optim="adamw_torch",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if cfg.save_steps else "epoch",
        save_steps=cfg.save_steps or 500,
        save_total_limit=cfg.save_total_limit,
        save_only_model=False,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
    )


def _trainer_class() -> type:
    _, transformers = _imports()

    class S1Trainer(transformers.Trainer):
        """``Trainer`` that also logs tokens per second since the previous log line."""

        _last: tuple[float, int] | None = None

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            now, seen = time.perf_counter(), self.state.num_input_tokens_seen
            if self._last is not None and "loss" in logs and now > self._last[0]:
                logs["tokens_per_s"] = round((seen - self._last[1]) / (now - self._last[0]), 1)
            self._last = (now, seen)
            super().log(logs, start_time)

    return S1Trainer


def _config_callback(resolved: dict[str, Any]) -> Any:
    _, transformers = _imports()

    class WriteConfig(transformers.TrainerCallback):
        """Writes the resolved config into every checkpoint folder."""

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if ckpt.is_dir():
                    (ckpt / CONFIG_NAME).write_text(yaml.safe_dump(resolved, sort_keys=False))

    return WriteConfig()


def transformers_printer() -> type:
    _, transformers = _imports()
    return transformers.PrinterCallback


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def train(
    cfg: TrainConfig,
    *,
    model_dir: Path,
    tokenizer: Any,
    examples: Sequence[FormattedExample],
    output: Path,
    callbacks: Sequence[Any] = (),
    resume: bool = False,
    extra_config: dict[str, Any] | None = None,
) -> TrainResult:
    """Fine-tune ``model_dir`` on formatted examples and save a transformers model folder to ``output``.

    Args:
        cfg: the recipe.
        model_dir: a transformers causal-LM folder (see :func:`resolve_model_dir`).
        tokenizer: its transformers tokenizer (saved beside the model).
        examples: from :func:`~s1kit.training.formatting.format_dataset`.
        output: the folder for checkpoints and the final model.
        callbacks: ``transformers.TrainerCallback`` objects (progress display, tests).
        resume: continue from the newest checkpoint in ``output`` if there is one.
        extra_config: more facts to record in the resolved config (data path, format report).

    Returns:
        The run's step count, logged losses and throughput.
    """
    output = Path(output)
    ws = world_size()
    grad_accum = cfg.gradient_accumulation(ws)
    args = _training_arguments(cfg, output, grad_accum)
    resolved = {
        "format": _format_record(cfg, tokenizer),
        "config": cfg.to_dict(),
        "model": str(model_dir),
        "precision": resolve_precision(cfg),
        "world_size": ws,
        "gradient_accumulation": grad_accum,
        **(extra_config or {}),
    }
    if args.process_index == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / CONFIG_NAME).write_text(yaml.safe_dump(resolved, sort_keys=False))
    model = load_model(model_dir, cfg)
    rows = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in examples]
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=PaddingCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=[_config_callback(resolved), *callbacks],
    )
    trainer.remove_callback(transformers_printer())  # library code stays quiet; the CLI shows progress
    has_ckpt = resume and any(output.glob("checkpoint-*"))
    start = time.perf_counter()
    out = trainer.train(resume_from_checkpoint=True if has_ckpt else None)
    runtime = time.perf_counter() - start
    _save(trainer, cfg, tokenizer, output)
    losses = tuple(float(h["loss"]) for h in trainer.state.log_history if "loss" in h)
    if trainer.is_world_process_zero():
        _write_logs(trainer.state.log_history, output)
    return TrainResult(
        output,
        int(out.global_step),
        losses,
        int(trainer.state.num_input_tokens_seen),
        runtime,
        ws,
        grad_accum,
    )


def _save(trainer: Any, cfg: TrainConfig, tokenizer: Any, output: Path) -> None:
    """The final model as a plain folder; LoRA adapters are merged in (and kept under ``adapter/``)."""
    from s1kit.backends.tokenizer import HFTokenizer

    # The model's own end of turn (its configuration and its chat template): ids that exist, never the
    # unknown token a missing name maps to.
    eot = sorted(HFTokenizer(tokenizer).eos_ids)
    model = trainer.model
    if cfg.lora:
        if trainer.is_world_process_zero():
            model.save_pretrained(output / "adapter")
            model = model.merge_and_unload()
            _set_stop_ids(model, tokenizer, eot)
            model.save_pretrained(output)
    else:
        _set_stop_ids(model, tokenizer, eot)
        trainer.save_model(str(output))  # gathers FSDP/DeepSpeed shards into full weights
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(output)


def _format_record(cfg: TrainConfig, tokenizer: Any) -> dict[str, Any]:
    """The format and delimiters trained on; ``s1kit generate`` reads it back to pick the same format."""
    from s1kit.backends.tokenizer import HFTokenizer
    from s1kit.training.formatting import end_of_turn

    fmt = cfg.reasoning_format()
    return {**fmt.to_dict(), "end_of_turn": end_of_turn(fmt, HFTokenizer(tokenizer))}


def _set_stop_ids(model: Any, tokenizer: Any, extra: list[int]) -> None:
    model.config.use_cache = True
    gen = getattr(model, "generation_config", None)
    if gen is None:
        return
    eos = gen.eos_token_id if isinstance(gen.eos_token_id, list) else [gen.eos_token_id]
    ids = [i for i in dict.fromkeys([*eos, tokenizer.eos_token_id, *extra]) if isinstance(i, int) and i >= 0]
    gen.eos_token_id = ids[0] if len(ids) == 1 else ids


def _write_logs(history: list[dict[str, Any]], output: Path) -> None:
    with (output / "log_history.jsonl").open("w") as f:
        for h in history:
            f.write(json.dumps(h) + "\n")
    points = [(h["step"], h["loss"]) for h in history if "loss" in h]
    if not points:
        return
    try:
        from s1kit.evaluation.plots import pyplot

        plt = pyplot()
    except ImportError:
        return  # the curve is a convenience; log_history.jsonl has the numbers
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 50 else None)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (thinking + answer tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(output / "loss.png", dpi=120)
    plt.close(fig)
