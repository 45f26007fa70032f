"""The training configuration: the s1 paper's SFT recipe as validated defaults.

Every field has the paper's value unless noted (Muennighoff et al. 2025, section 3 and appendix D):
5 epochs, lr 1e-5 with cosine decay and 5% warmup, AdamW with betas (0.9, 0.95) and weight decay 1e-4,
bf16, a global batch of 16 and a block size of 32,768 tokens, so that no s1K trace is cut off.
Recipes (``s1kit/recipes/*.yaml``) override only what differs.

Example:
    >>> cfg = TrainConfig.from_recipe("cpu-tiny").replace(max_steps=2)
    >>> cfg.max_steps
    2
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

import yaml

from s1kit.errors import ConfigError, S1kitError

Precision = Literal["auto", "bf16", "fp16", "fp32"]
Overlong = Literal["skip", "truncate"]
Markers = Literal["none", "tokens", "steps"]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup"]


@dataclass(frozen=True)
class TrainConfig:
    """Supervised fine-tuning settings, validated on construction.

    Attributes:
        format: reasoning format (s1, r1, qwen3, magistral, gpt-oss, or custom) whose delimiters wrap the thinking.
        think_start: custom format: the text that opens thinking.
        think_end: custom format: the end-of-thinking delimiter.
        system: system prompt for the chat template (None: the template's own default).
        epochs: passes over the data (paper: 5).
        max_steps: stop after this many optimizer steps; -1 runs all epochs.
        learning_rate: peak learning rate (paper: 1e-5).
        lr_scheduler: schedule after warmup (paper: cosine).
        warmup_ratio: share of the steps spent warming up linearly (paper: 0.05).
        adam_beta1: AdamW beta1 (paper: 0.9).
        adam_beta2: AdamW beta2 (paper: 0.95).
        weight_decay: AdamW weight decay (paper: 1e-4).
        max_grad_norm: gradient clipping norm (0 disables).
        global_batch_size: sequences per optimizer step over all processes (paper: 16).
        micro_batch_size: sequences per forward pass on one process; the rest is gradient accumulation.
        block_size: longest sequence in tokens (paper: 32,768, so no s1K sample is cut).
        overlong: what to do with a row longer than the block size: skip it or truncate it (always reported).
        precision: bf16 where the hardware has it ("auto"), else fp32; the model is loaded in this dtype.
        gradient_checkpointing: recompute activations in the backward pass to save memory.
        lora: train LoRA adapters (peft) instead of all weights; merged into the saved model.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator.
        lora_dropout: LoRA dropout.
        lora_target: modules LoRA wraps ("all-linear" or a comma-separated list of names).
        markers: write remaining-token or remaining-step markers into the thinking (the paper's
            token- and step-conditional baselines); "none" for plain s1 training.
        marker_every: tokens between two markers (the paper's steps are about 100 tokens).
        marker_template: the marker text; ``{remaining}`` and ``{unit}`` are filled in.
        budget_instruction: appended to the question when markers are on; ``{budget}`` and ``{unit}``.
        logging_steps: log loss, lr and tokens/s every this many steps.
        save_steps: checkpoint every this many steps; 0 checkpoints once per epoch.
        save_total_limit: checkpoints kept on disk.
        seed: random seed for data order and initialisation of LoRA weights.
        attn_implementation: attention kernel for transformers ("sdpa", "eager", "flash_attention_2").
    """

    format: str = "s1"
    think_start: str | None = None
    think_end: str | None = None
    system: str | None = None
    epochs: float = 5.0
    max_steps: int = -1
    learning_rate: float = 1e-5
    lr_scheduler: Scheduler = "cosine"
    warmup_ratio: float = 0.05
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    global_batch_size: int = 16
    micro_batch_size: int = 1
    block_size: int = 32768
    overlong: Overlong = "skip"
    precision: Precision = "auto"
    gradient_checkpointing: bool = True
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = "all-linear"
    markers: Markers = "none"
    marker_every: int = 100
    marker_template: str = "<|im_start|>{remaining} {unit} left\n"
    budget_instruction: str = "\n\nThink for up to {budget} {unit}."
    logging_steps: int = 1
    save_steps: int = 0
    save_total_limit: int = 2
    seed: int = 42
    attn_implementation: str = "sdpa"

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
        positive = ("epochs", "learning_rate", "global_batch_size", "micro_batch_size", "block_size")
        for name in positive + ("lora_r", "lora_alpha", "marker_every", "logging_steps"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, getattr(self, name), "a positive number")
        for name in ("weight_decay", "max_grad_norm", "save_steps", "lora_dropout"):
            if getattr(self, name) < 0:
                raise ConfigError(name, getattr(self, name), "a number >= 0")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ConfigError("max_steps", self.max_steps, "a positive step count, or -1 for all epochs")
        if self.save_total_limit < 1:
            raise ConfigError("save_total_limit", self.save_total_limit, "at least 1")
        for name in ("adam_beta1", "adam_beta2", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "a number in [0, 1)")
        if self.global_batch_size % self.micro_batch_size:
            raise ConfigError(
                "global_batch_size",
                self.global_batch_size,
                f"a multiple of micro_batch_size={self.micro_batch_size}",
            )
        if "{remaining}" not in self.marker_template:
            raise ConfigError("marker_template", self.marker_template, "a string containing '{remaining}'")
        if "{budget}" not in self.budget_instruction:
            raise ConfigError("budget_instruction", self.budget_instruction, "a string containing '{budget}'")
        self.reasoning_format()  # a known format, or custom with both delimiters

    def reasoning_format(self) -> Any:
        """The :class:`~s1kit.forcing.formats.ReasoningFormat` this config trains on."""
        from s1kit.forcing.formats import FORMATS, ReasoningFormat, get_format

        if self.format == "custom":
            if not self.think_start or not self.think_end:
                raise ConfigError("format", self.format, "custom with both think_start and think_end set")
            return ReasoningFormat.custom(self.think_start, self.think_end)
        try:
            return get_format(self.format)
        except S1kitError:
            raise ConfigError("format", self.format, f"one of {sorted(FORMATS)} or custom") from None

    def gradient_accumulation(self, world_size: int) -> int:
        """Accumulation steps so that micro batch x processes x steps equals the global batch."""
        per_step = self.micro_batch_size * world_size
        if self.global_batch_size % per_step:
            raise ConfigError(
                "global_batch_size",
                self.global_batch_size,
                f"a multiple of micro_batch_size x processes = {per_step}",
            )
        return self.global_batch_size // per_step

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys are an error that names them."""
        if not isinstance(data, dict):
            raise S1kitError(
                f"a training config must be a mapping of field: value, got {type(data).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], data[unknown[0]], f"a TrainConfig field (one of {sorted(known)})")
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        return self.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_recipe(cls, name_or_path: str) -> TrainConfig:
        """Load a shipped recipe by name (``s1k-qwen2.5-32b``, ``cpu-tiny``) or a YAML file by path."""
        data = load_recipe(name_or_path)
        data.pop("model", None)  # informational: the model a recipe was written for
        data.pop("description", None)
        return cls.from_dict(data)


def recipe_names() -> list[str]:
    """Names of the recipes shipped in the package."""
    root = resources.files("s1kit") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str) -> dict[str, Any]:
    """The raw mapping of a recipe (shipped name or YAML path)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text = path.read_text()
    elif name_or_path in recipe_names():
        text = (resources.files("s1kit") / "recipes" / f"{name_or_path}.yaml").read_text()
    else:
        raise S1kitError(f"unknown recipe {name_or_path!r}: expected one of {recipe_names()} or a .yaml file")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise S1kitError(f"recipe {name_or_path!r} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise S1kitError(f"recipe {name_or_path!r} must be a mapping of field: value")
    return data


def _check_type(name: str, value: Any, hint: Any) -> None:
    args = get_args(hint)
    if args and all(isinstance(a, str) for a in args):  # Literal
        if value not in args:
            raise ConfigError(name, value, f"one of {list(args)}")
        return
    if hint is bool or hint == "bool":
        if not isinstance(value, bool):
            raise ConfigError(name, value, "true or false")
        return
    allow_none = type(None) in args
    if value is None:
        if not allow_none:
            raise ConfigError(name, value, "a value, not null")
        return
    base = next((a for a in args if a is not type(None)), hint)
    if base is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(name, value, "a finite number")
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, value, "an integer")
    elif base is str and not isinstance(value, str):
        raise ConfigError(name, value, "a string")
