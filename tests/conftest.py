"""Shared fixtures: real tokenizers, tiny random-initialised models built from configs, the embedded model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"
SMOL_TOKENIZER = FIXTURES / "smollm2-tokenizer"


def _shared() -> Path:
    """The workplace's shared data (../shared beside the checkout); $S1KIT_SHARED overrides."""
    for candidate in (
        os.environ.get("S1KIT_SHARED"),
        Path(__file__).resolve().parents[2] / "shared",
        "/work/shared",
    ):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(__file__).resolve().parents[2] / "shared"


SHARED = _shared()
R1_TOKENIZER = SHARED / "tokenizers" / "r1-distill-qwen"


@pytest.fixture(scope="session")
def smol_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(SMOL_TOKENIZER)


def tiny_llama(tokenizer, *, seed: int = 0, eos_boost: float = 0.0, extra_rows: int = 0, hidden: int = 32):
    """A 2-layer random Llama over a real tokenizer. ``eos_boost`` scales the EOS row of the output
    layer so attempts to stop are frequent; ``extra_rows`` pads the vocabulary past the tokenizer's."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tokenizer) + extra_rows,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # sharper distributions than the near-uniform init
        if eos_boost:
            model.lm_head.weight[tokenizer.eos_token_id] *= eos_boost
    return model


@pytest.fixture(scope="session")
def tiny_engine(smol_tokenizer):
    from s1kit.backends.hf import HFEngine

    return HFEngine.from_objects(tiny_llama(smol_tokenizer, eos_boost=3.0), smol_tokenizer, model_name="tiny")


@pytest.fixture(scope="session")
def embedded_llamacpp():
    pytest.importorskip("llama_cpp")
    from s1kit.backends import load_engine

    return load_engine("default", "llamacpp", n_ctx=2048)


@pytest.fixture(scope="session")
def embedded_hf():
    """The embedded model on transformers (converted once from its GGUF, then cached)."""
    from s1kit.backends import load_engine

    return load_engine("default", "hf", device="cpu")
