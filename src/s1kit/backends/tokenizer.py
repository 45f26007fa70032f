"""The tokenizer interface the forcing logic needs, its shared chat behaviour, and the transformers adapter.

Budget forcing works on token ids, so every backend exposes a tokenizer with the same small surface:
encode (special tokens in the text are parsed, no BOS added), decode, the set of special ids, the
end-of-turn ids, the vocabulary size (ids at or above it are never sampled), and chat rendering.

The end-of-turn ids (``eos_ids``) are the model's own, computed once and the same on every backend: the
tokenizer's end-of-sequence token, the end-of-text/end-of-turn ids its configuration names (transformers'
``generation_config.json``, GGUF's ``tokenizer.ggml.eos/eot/eom_token_id``), and the special token the
chat template writes right after an assistant message (``<|im_end|>``, ``<|eot_id|>``, ``<end_of_turn>``,
``</s>``, ``<|return|>``...). Chat templates render in one sandboxed environment
(:mod:`s1kit.backends.chat_template`) whatever the backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from s1kit.backends.chat_template import end_of_turn_tokens, final_end_token, plain_prompt, render_chat
from s1kit.errors import S1kitError


@runtime_checkable
class Tokenizer(Protocol):
    vocab_size: int
    eos_ids: frozenset[int]
    special_ids: frozenset[int]

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str: ...


class ChatTokenizer:
    """What every backend's tokenizer shares: chat rendering and the model's end-of-turn ids.

    Subclasses set ``vocab_size``, ``special_ids``, ``config_eos_ids`` (the ids the model's configuration
    names), ``special_tokens`` (strings the template may use: ``bos_token``, ``eos_token``...), ``adds_bos``
    (whether the model expects a BOS it does not get from a template), ``source`` (the folder or file the
    tokenizer came from) and ``chat_template``, and implement ``encode``/``decode``.
    """

    vocab_size: int
    special_ids: frozenset[int]
    config_eos_ids: frozenset[int]
    special_tokens: dict[str, str]
    adds_bos: bool = False
    source: Path | None = None
    _template: str | None = None
    _eot_cache: tuple[str | None, frozenset[int]] | None = None

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError

    @property
    def chat_template(self) -> str | None:
        """The Jinja chat template (``None`` for a base model); assignable (``--chat-template FILE``)."""
        return self._template

    @chat_template.setter
    def chat_template(self, source: str | None) -> None:
        self._template = source if source and source.strip() else None
        self._eot_cache = None

    @property
    def template_end_ids(self) -> frozenset[int]:
        """The special tokens the chat template writes after an assistant message."""
        if self._eot_cache is None or self._eot_cache[0] != self._template:
            found = (
                end_of_turn_tokens(self.render, self.encode, self.special_ids)
                if self._template
                else frozenset()
            )
            self._eot_cache = (self._template, frozenset(i for i in found if 0 <= i < self.vocab_size))
        return self._eot_cache[1]

    @property
    def answer_end_id(self) -> int | None:
        """The token that closes a final answer: the template's (``<|im_end|>``, ``<|eot_id|>``...), else EOS."""
        if self._template:
            found = final_end_token(self.render, self.encode, self.special_ids)
            if found is not None and 0 <= found < self.vocab_size:
                return found
        eos = (
            self.encode(self.special_tokens.get("eos_token", ""))
            if self.special_tokens.get("eos_token")
            else []
        )
        return eos[0] if len(eos) == 1 else (min(self.config_eos_ids) if self.config_eos_ids else None)

    @property
    def eos_ids(self) -> frozenset[int]:
        """End of sequence and end of turn: the configuration's ids and the chat template's."""
        return self.config_eos_ids | self.template_end_ids

    def render(
        self, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = True, **options: Any
    ) -> str:
        """The chat template rendered (no fallback): raises if the model has none."""
        if not self._template:
            raise S1kitError("the model has no chat template")
        return render_chat(
            self._template,
            messages,
            add_generation_prompt=add_generation_prompt,
            **self.special_tokens,
            **options,
        )

    def apply_chat_template(self, messages: list[dict[str, str]], **options: Any) -> str:
        """The prompt for ``messages`` with the assistant's turn opened.

        ``options`` are template variables (``enable_thinking=True``...). A model without a template gets
        :func:`~s1kit.backends.chat_template.plain_prompt` (its BOS, then each message and a blank line).
        """
        if not self._template:
            return plain_prompt(
                messages, bos=self.special_tokens.get("bos_token", "") if self.adds_bos else ""
            )
        return self.render(messages, add_generation_prompt=True, **options)


class HFTokenizer(ChatTokenizer):
    """Adapter over a ``transformers`` tokenizer.

    ``extra_eos``: more end-of-sequence ids (the model's generation config when the engine has the model
    object; otherwise ``generation_config.json`` beside the tokenizer is read).
    """

    def __init__(self, tok: Any, *, extra_eos: Sequence[int] = ()) -> None:
        self.tok = tok
        self.vocab_size = len(tok)
        # Special and added tokens (R1's <think>): what GGUF files mark control or user-defined.
        self.special_ids = frozenset(int(i) for i in tok.all_special_ids) | frozenset(
            int(i) for i in tok.added_tokens_decoder
        )
        # Control tokens only (special=True): an ordinary added token ("<think>" in some vocabularies)
        # is text the model writes, and forced text may hold it (forcing.state.forced_ids).
        self.control_ids = frozenset(int(i) for i in tok.all_special_ids) | frozenset(
            int(i) for i, t in tok.added_tokens_decoder.items() if t.special
        )
        name = getattr(tok, "name_or_path", "") or ""
        self.source = Path(name) if name and Path(name).is_dir() else None
        eos = {int(i) for i in extra_eos if isinstance(i, int)}
        if tok.eos_token_id is not None:
            eos.add(int(tok.eos_token_id))
        eos |= _generation_config_eos(self.source)
        self.config_eos_ids = frozenset(i for i in eos if 0 <= i < self.vocab_size)
        self.special_tokens = {
            k: str(v) for k, v in getattr(tok, "special_tokens_map", {}).items() if isinstance(v, str)
        }
        for key in ("bos_token", "eos_token"):
            self.special_tokens.setdefault(key, "")
        bos = tok.bos_token_id
        self.adds_bos = bos is not None and tok("a", add_special_tokens=True)["input_ids"][:1] == [bos]
        template = getattr(tok, "chat_template", None)
        if isinstance(template, dict):  # named templates: the default one
            template = template.get("default") or next(iter(template.values()), None)
        self.chat_template = template if isinstance(template, str) else None

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


def _generation_config_eos(folder: Path | None) -> set[int]:
    path = folder / "generation_config.json" if folder else None
    if path is None or not path.is_file():
        return set()
    try:
        value = json.loads(path.read_text()).get("eos_token_id")
    except (OSError, ValueError, AttributeError):
        return set()
    values = value if isinstance(value, list) else [value]
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


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
