"""How much memory each GPU needs for a run, before the run: ``s1kit train --estimate --gpus N``.

The model (all bytes per GPU, N GPUs, parameters, gradients and optimizer state fully sharded as
FSDP FULL_SHARD and ZeRO-3 both do):

* weights ``P*w/N``, gradients ``P*w/N``, AdamW's two moments ``2*P*w/N``, where ``w`` is the bytes of
  the training dtype: 2 for a model loaded in bf16 (8 bytes per parameter in all), 4 for fp32 (16);
  with LoRA only the adapters carry gradients and optimizer state;
* the gathered (unsharded) parameters of the decoder layer being computed and the one prefetched;
* activations of one micro batch at the full block size ``S``: with gradient checkpointing, each
  layer's input ``L*S*h*a`` plus one layer recomputed in full ``S*a*(6h + 2*kv + 3*I)``; without it,
  ``L`` layers in full. Attention is assumed memory-efficient (SDPA or flash), linear in ``S``;
* the logits and the loss: ``S*V*(a + 4 + 4)`` (logits in the activation dtype, transformers' fp32
  upcast, and log-softmax in fp32). At 32K tokens and Qwen's 152K vocabulary this is the biggest term.

It fits if the total stays under 90% of the GPU's memory (the rest goes to the CUDA context, NCCL
buffers and allocator fragmentation). These are estimates to plan with, not measurements.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from s1kit.errors import ConfigError, S1kitError
from s1kit.training.config import TrainConfig

GiB = 1024**3
USABLE = 0.9

# Architectures from the models' public config.json files, so the paper's run can be sized with no
# weights on disk.
KNOWN: dict[str, dict[str, Any]] = {
    "Qwen/Qwen2.5-32B-Instruct": dict(
        model_type="qwen2",
        hidden_size=5120,
        intermediate_size=27648,
        num_hidden_layers=64,
        num_attention_heads=40,
        num_key_value_heads=8,
        vocab_size=152064,
        tie_word_embeddings=False,
        max_position_embeddings=32768,
    ),
    "Qwen/Qwen2.5-7B-Instruct": dict(
        model_type="qwen2",
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        tie_word_embeddings=False,
        max_position_embeddings=32768,
    ),
}


@dataclass(frozen=True)
class Architecture:
    """The shape numbers the estimate needs."""

    name: str
    params: int
    layers: int
    hidden: int
    intermediate: int
    kv_dim: int
    vocab: int
    layer_params: int
    lora_params: int  # adapter parameters for the config's LoRA rank on every linear layer


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU, by part, in GiB."""

    model: str
    params_b: float
    gpus: int
    strategy: str
    precision: str
    block_size: int
    weights: float
    gradients: float
    optimizer: float
    gathered_layers: float
    activations: float
    logits: float
    total: float
    gpu_memory: float
    fits: bool
    max_tokens_that_fit: int  # longest sequence (micro batch 1) that fits

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def table(self) -> str:
        rows = [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer state (AdamW)", self.optimizer),
            ("gathered layers (FSDP/ZeRO-3)", self.gathered_layers),
            (f"activations at {self.block_size} tokens", self.activations),
            ("logits + loss", self.logits),
            ("total", self.total),
        ]
        head = (
            f"{self.model} ({self.params_b:.2f}B params), {self.precision}, {self.strategy} over "
            f"{self.gpus} GPU(s) of {self.gpu_memory:g} GiB"
        )
        lines = [head] + [f"  {name:<34} {v:8.1f} GiB" for name, v in rows]
        verdict = "fits" if self.fits else "does NOT fit"
        lines.append(
            f"  {verdict} in {USABLE:.0%} of {self.gpu_memory:g} GiB; longest sequence that fits: "
            f"{self.max_tokens_that_fit} tokens"
        )
        return "\n".join(lines)


def architecture(model: str, *, lora_r: int = 16) -> Architecture:
    """Shape numbers of ``model``: a name in :data:`KNOWN`, ``default``, a GGUF file or a model folder.

    Parameters are counted exactly by building the model on PyTorch's meta device (no memory used).
    """
    try:
        import torch
        import transformers
    except ImportError as e:
        raise S1kitError("--estimate needs torch and transformers: pip install 's1kit[train]'") from e
    if model in KNOWN:
        spec = dict(KNOWN[model])
        config = transformers.AutoConfig.for_model(spec.pop("model_type"), **spec)
    else:
        from s1kit.training.trainer import resolve_model_dir

        if not os.path.exists(model) and model != "default":
            raise S1kitError(
                f"model {model!r} not found: expected a model folder, 'default' or one of {sorted(KNOWN)}"
            )
        config = transformers.AutoConfig.from_pretrained(resolve_model_dir(model))
        if isinstance(getattr(config, "quantization_config", None), dict):
            del config.quantization_config
    with torch.device("meta"):
        net = transformers.AutoModelForCausalLM.from_config(config)
    params = sum(p.numel() for p in net.parameters())
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    h, heads = text.hidden_size, text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or h // heads
    kv = (getattr(text, "num_key_value_heads", None) or heads) * head_dim
    layer_cls = {type(m) for m in net.modules() if type(m).__name__ in (net._no_split_modules or ())}
    layers = [m for m in net.modules() if type(m) in layer_cls]
    layer_params = max((sum(p.numel() for p in m.parameters()) for m in layers), default=params)
    lora = 0
    for m in layers:
        for sub in m.modules():
            if isinstance(sub, torch.nn.Linear):
                lora += lora_r * (sub.in_features + sub.out_features)
    return Architecture(
        name=model,
        params=params,
        layers=text.num_hidden_layers,
        hidden=h,
        intermediate=getattr(text, "intermediate_size", 4 * h),
        kv_dim=kv,
        vocab=text.vocab_size,
        layer_params=layer_params,
        lora_params=lora,
    )


def estimate(
    arch: Architecture,
    cfg: TrainConfig,
    *,
    gpus: int,
    gpu_memory_gib: float = 80.0,
    strategy: Literal["fsdp", "deepspeed"] = "fsdp",
) -> MemoryEstimate:
    """Per-GPU memory for training ``arch`` with ``cfg`` on ``gpus`` GPUs (see the module docstring)."""
    if gpus < 1:
        raise ConfigError("gpus", gpus, "at least 1")
    if gpu_memory_gib <= 0:
        raise ConfigError("gpu_memory", gpu_memory_gib, "a positive number of GiB")
    precision = "bf16" if cfg.precision == "auto" else cfg.precision
    w = 2 if precision == "bf16" else 4  # fp16 keeps fp32 master weights
    a = 4 if precision == "fp32" else 2
    p = arch.params
    trainable = arch.lora_params if cfg.lora else p
    weights = p * w / gpus
    grads = trainable * w / gpus
    optim = 2 * trainable * w / gpus
    gathered = 2 * arch.layer_params * w if gpus > 1 else 0.0
    static = weights + grads + optim + gathered
    per_tok_layer = a * (6 * arch.hidden + 2 * arch.kv_dim + 3 * arch.intermediate)
    if cfg.gradient_checkpointing:
        per_tok = arch.layers * arch.hidden * a + per_tok_layer
    else:
        per_tok = arch.layers * per_tok_layer
    per_tok_logits = arch.vocab * (a + 4 + 4)
    s, b = cfg.block_size, cfg.micro_batch_size
    acts, logits = per_tok * s * b, per_tok_logits * s * b
    total = static + acts + logits
    room = gpu_memory_gib * GiB * USABLE - static
    max_tokens = max(0, int(room / (per_tok + per_tok_logits))) if room > 0 else 0
    return MemoryEstimate(
        model=arch.name,
        params_b=p / 1e9,
        gpus=gpus,
        strategy=strategy + (" + LoRA" if cfg.lora else ""),
        precision=precision,
        block_size=s,
        weights=weights / GiB,
        gradients=grads / GiB,
        optimizer=optim / GiB,
        gathered_layers=gathered / GiB,
        activations=acts / GiB,
        logits=logits / GiB,
        total=total / GiB,
        gpu_memory=gpu_memory_gib,
        fits=total <= gpu_memory_gib * GiB * USABLE,
        max_tokens_that_fit=max_tokens,
    )
