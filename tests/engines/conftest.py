"""Engines under test: the embedded GGUF and a tiny random GGUF on batched llama.cpp, a tiny hf model."""

from __future__ import annotations

import pytest

QUESTIONS = [
    "What is 2+2?",
    "How many positive divisors does 360 have? Think it through before you answer.",
    "Name a prime.",
    "Why is the sky blue? Explain briefly, in your own words, with one example.",
    "Count to five.",
    "What is 7*8?",
]


@pytest.fixture(scope="session")
def batched_llamacpp():
    """The embedded model with room for 8 rows."""
    pytest.importorskip("llama_cpp")
    from s1kit.backends import load_engine

    return load_engine("default", "llamacpp", n_ctx=4096, max_batch=8, n_threads=1)


def write_tiny_gguf(
    path, *, hidden: int = 64, layers: int = 2, heads: int = 4, kv_heads: int = 2, seed: int = 0
):
    """A random-initialised llama-architecture GGUF with the embedded model's vocabulary and template."""
    import gguf
    import numpy as np

    from s1kit.backends.models import default_gguf

    src = gguf.GGUFReader(default_gguf())
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(2048)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(2 * hidden)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(hidden // heads)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, field in src.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value = field.contents()
        if name == "tokenizer.ggml.model":
            w.add_tokenizer_model(value)
        elif name == "tokenizer.ggml.pre":
            w.add_tokenizer_pre(value)
        elif name == "tokenizer.ggml.tokens":
            w.add_token_list(value)
        elif name == "tokenizer.ggml.token_type":
            w.add_token_types(value)
        elif name == "tokenizer.ggml.merges":
            w.add_token_merges(value)
        elif name == "tokenizer.chat_template":
            w.add_chat_template(value)
        elif name.endswith("_token_id"):
            w.add_uint32(name, int(value))
    vocab = len(src.fields["tokenizer.ggml.tokens"].contents())
    rng = np.random.default_rng(seed)

    def t(name, *shape, scale=0.2):
        w.add_tensor(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    kv = hidden // heads * kv_heads
    t("token_embd.weight", vocab, hidden, scale=1.0)
    w.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    t("output.weight", vocab, hidden, scale=1.0)
    for i in range(layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        t(f"blk.{i}.attn_q.weight", hidden, hidden)
        t(f"blk.{i}.attn_k.weight", kv, hidden)
        t(f"blk.{i}.attn_v.weight", kv, hidden)
        t(f"blk.{i}.attn_output.weight", hidden, hidden)
        t(f"blk.{i}.ffn_gate.weight", 2 * hidden, hidden)
        t(f"blk.{i}.ffn_up.weight", 2 * hidden, hidden)
        t(f"blk.{i}.ffn_down.weight", hidden, 2 * hidden)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gguf")
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_llamacpp(tiny_gguf):
    from s1kit.backends import load_engine

    return load_engine(str(tiny_gguf), "llamacpp", n_ctx=2048, max_batch=6, n_threads=1)
