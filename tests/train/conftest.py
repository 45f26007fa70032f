"""Fixtures for the training tests: the real SmolLM2 tokenizer, a tiny random Llama over it saved as a
model folder, and s1K-schema rows on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMOL_TOKENIZER = FIXTURES / "smollm2-tokenizer"


@pytest.fixture(scope="session")
def hf_tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(SMOL_TOKENIZER)


@pytest.fixture(scope="session")
def tok(hf_tok):
    from s1kit.backends.tokenizer import HFTokenizer

    return HFTokenizer(hf_tok)


def make_tiny_model(path: Path, hf_tok, *, hidden: int = 64, seed: int = 0) -> Path:
    """A 2-layer random-initialised Llama with the SmolLM2 vocabulary, saved with its tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(hf_tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=hf_tok.bos_token_id,
        eos_token_id=hf_tok.eos_token_id,
        pad_token_id=hf_tok.pad_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, hf_tok) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", hf_tok)


# Four short arithmetic rows: a tiny model memorises them in a few dozen steps, enough to learn to
# close its thinking with the s1 delimiter on its own.
SUMS = [(1, 2), (3, 4), (2, 5), (6, 1)]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def sums_jsonl(tmp_path_factory) -> Path:
    rows = [
        {
            "question": f"What is {a}+{b}?",
            "thinking_trajectories": [f"I add {a} and {b}.", f"The sum is {a + b}."],
            "attempt": str(a + b),
        }
        for a, b in SUMS
    ]
    return write_rows(tmp_path_factory.mktemp("data") / "sums.jsonl", rows)
