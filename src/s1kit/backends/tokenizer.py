"""The tokenizer interface the forcing logic needs, and its transformers adapter.

Budget forcing works on token ids, so every backend exposes a tokenizer with the same small surface:
encode (special tokens in the text are parsed, no BOS added), decode, the set of special ids, the
end-of-sequence ids, the vocabulary size (ids at or above it are never sampled), and chat rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from s1kit.errors import S1kitError


@runtime_checkable
class Tokenizer(Protocol):
    vocab_size: int
    eos_ids: frozenset[int]
    special_ids: frozenset[int]

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str: ...


class HFTokenizer:
    """Adapter over a ``transformers`` tokenizer."""

    def __init__(self, tok: Any, *, extra_eos: Sequence[int] = ()) -> None:
        self.tok = tok
        self.vocab_size = len(tok)
        eos = set(extra_eos)
        if tok.eos_token_id is not None:
            eos.add(int(tok.eos_token_id))
        self.eos_ids = frozenset(eos)
        self.special_ids = frozenset(int(i) for i in tok.all_special_ids) | frozenset(
            int(i) for i, t in tok.added_tokens_decoder.items() if t.special
        )

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def encode_text(self, text: str) -> list[int]:
        """``text`` as plain text: special-token strings in it stay text (client text never becomes a
        control token). Uses its own copy of the Rust tokenizer, whose split flag is shared state."""
        plain = self.__dict__.get("_plain_backend")
        if plain is None:
            backend = getattr(self.tok, "backend_tokenizer", None)
            if backend is None:  # a Python tokenizer: the option is per call
                return list(self.tok.encode(text, add_special_tokens=False, split_special_tokens=True))
            import copy

            from tokenizers import AddedToken

            plain = copy.deepcopy(backend)
            # every added token counts as special here (special_ids holds them all): re-add the others as
            # special in this copy, so the split flag keeps "</think>" typed by a client as text too
            plain.add_special_tokens(
                [
                    AddedToken(
                        t.content, single_word=t.single_word, lstrip=t.lstrip, rstrip=t.rstrip, special=True
                    )
                    for t in self.tok.added_tokens_decoder.values()
                    if not t.special
                ]
            )
            plain.encode_special_tokens = True
            self._plain_backend = plain
        return list(plain.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if not getattr(self.tok, "chat_template", None):
            raise S1kitError(
                "the model's tokenizer has no chat template: pass --format custom with a template"
            )
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class IncrementalDecoder:
    """Turns a growing list of ids into text deltas without cutting multi-byte characters.

    Decodes a small window behind the read position (as vLLM and TGI do), so each call is O(window).
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0  # start of the decode window
        self.read = 0  # ids before this are already emitted

    def push(self, token: int) -> str:
        self.ids.append(token)
        prefix_text = self.tokenizer.decode(self.ids[self.prefix : self.read])
        full = self.tokenizer.decode(self.ids[self.prefix :])
        if full.endswith("\ufffd") or len(full) < len(prefix_text):
            return ""  # an incomplete UTF-8 sequence: wait for the next token
        self.prefix, self.read = self.read, len(self.ids)
        return full[len(prefix_text) :]
