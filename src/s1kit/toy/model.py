"""The toy model's tokenizer and its randomly initialised starting point, as a transformers folder.

The tokenizer is a real ``PreTrainedTokenizerFast``: one token per printable ASCII character, plus the
ChatML special tokens ``<|im_start|>`` and ``<|im_end|>`` and a few whole words of the chat template and
the length markers (``think``, ``answer``, the chat roles, ``steps``, ``tokens``, ``left``). Text that
budget forcing *forces* into a sequence ("Wait", the answer primer "Final Answer:") is deliberately not
a word token: forced text is encoded as plain text (``encode_text``, where every added token is split
into characters), so a word token would be one token in training and its characters at inference. Its chat template is ChatML without a
default system prompt that writes an assistant turn with thinking in s1's layout (so the format
detection picks ``s1``), so every stage (``s1kit train``, ``s1kit eval --backend hf``, the s1 format's
delimiters and the format detection) works on it unchanged.

The model is a small Llama-shaped decoder (2 layers, width 128 by default) saved with random weights
drawn from a seed; ``s1kit train`` trains it from there like any other model folder.

Example:
    >>> tok = build_tokenizer()  # doctest: +SKIP
    >>> tok.convert_ids_to_tokens(tok.encode("C48\\nWait", add_special_tokens=False))  # doctest: +SKIP
    ['C', '4', '8', '\\n', 'W', 'a', 'i', 't']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s1kit.errors import MissingExtraError, S1kitError

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>")
WORD_TOKENS = (
    "think",
    "answer",
    "user",
    "assistant",
    "system",
    "steps",
    "tokens",
    "left",
)
CHAT_TEMPLATE = (  # an assistant turn with a "thinking" field is written in s1's layout
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' and message['thinking'] is defined %}"
    "{{ '<|im_start|>assistant\\n<|im_start|>think\\n' + message['thinking'] + '\\n<|im_start|>answer\\n'"
    " + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class ModelShape:
    """The decoder's size (Llama architecture)."""

    hidden_size: int = 128
    intermediate_size: int = 512
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 256

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise S1kitError(
                f"hidden_size={self.hidden_size} must be a multiple of num_attention_heads={self.num_attention_heads}"
            )


def _imports() -> tuple[Any, Any]:
    try:
        import tokenizers
        import transformers
    except ImportError as e:
        raise MissingExtraError("the toy model", "train", e.name or "transformers") from e
    return tokenizers, transformers


def build_tokenizer() -> Any:
    """The character tokenizer with the s1 special tokens and a ChatML chat template."""
    tokenizers, transformers = _imports()
    chars = ["\n", "\t"] + [chr(c) for c in range(32, 127)]
    vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *chars])}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    # Every character is its own piece; the added tokens below are matched before this split.
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = tokenizers.decoders.Fuse()
    tk.add_special_tokens([tokenizers.AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tk.add_tokens([tokenizers.AddedToken(t, special=False, normalized=False) for t in WORD_TOKENS])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tk,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<unk>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
        clean_up_tokenization_spaces=False,
    )


def write_init_model(out: Path, *, seed: int, shape: ModelShape | None = None) -> Path:
    """Save the tokenizer and a randomly initialised model (weights drawn from ``seed``) to ``out``."""
    _, transformers = _imports()
    import torch

    shape = shape or ModelShape()
    tok = build_tokenizer()
    vocab = -(-len(tok) // 16) * 16  # a multiple of 16; rows past the tokenizer are never sampled
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        **asdict(shape),
        num_key_value_heads=shape.num_attention_heads,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tok.convert_tokens_to_ids("<|im_start|>"),
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        initializer_range=0.02,
    )
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.bos_token_id = None
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "WORD_TOKENS",
    "ModelShape",
    "build_tokenizer",
    "write_init_model",
]
