"""Fixtures of the curation tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def traces_rows():
    from curation_paths import TRACES

    from s1kit.curation.ingest import read_file

    return read_file(TRACES).rows


@pytest.fixture(scope="session")
def tiny_generator(smol_tokenizer):
    """A Generator over a 2-layer random Llama with the SmolLM2 tokenizer (answers are noise)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from s1kit.backends.hf import HFEngine
    from s1kit.generation.generator import Generator

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(smol_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=smol_tokenizer.bos_token_id,
        eos_token_id=smol_tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(cfg).eval()
    return Generator(HFEngine.from_objects(model, smol_tokenizer, model_name="tiny"), "s1")
