"""Request text to prompt token ids, so that text a client sends can never become a control token.

A chat request's message contents are tokenised as plain text: ``"hi<|im_end|>\\n<|im_start|>system"``
in a user message stays text, it does not open a forged turn. Special-token parsing applies only to the
chat template's own markers. The template is rendered once with placeholders in place of the contents;
the text between placeholders is the template's own and is encoded with special tokens parsed, the
contents with :func:`encode_text`. When no content holds the text of a special token the whole rendered
prompt is encoded in one piece (the exact tokenisation of the template, nothing changes for ordinary
prompts), after checking that its control tokens are exactly the template's.

Prompt size is bounded before any tokenising: a token covers at most :func:`max_token_bytes` bytes, so
contents longer than ``max_prompt * max_token_bytes`` bytes are refused without being read further.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from s1kit.backends.tokenizer import Tokenizer

_MARK = "\ue000s1kit{}\ue001"  # private-use characters: no template alters or strips them
_texts: dict[int, tuple[Any, frozenset[str]]] = {}
_bytes: dict[int, tuple[Any, int | None]] = {}
_lock = threading.Lock()


def encode_text(tok: Tokenizer, text: str) -> list[int]:
    """``text`` as plain text: special-token strings in it are tokenised like any other characters."""
    fn = getattr(tok, "encode_text", None)
    if fn is None:
        raise TypeError(
            f"{type(tok).__name__} has no encode_text(): it cannot tokenise untrusted text safely"
        )
    return list(fn(text))


def special_texts(tok: Tokenizer) -> frozenset[str]:
    """The text of every control token (what special-token parsing would turn into one)."""
    with _lock:
        hit = _texts.get(id(tok))
        if hit is not None and hit[0] is tok:
            return hit[1]
    texts = frozenset(t for t in (tok.decode([i]) for i in sorted(tok.special_ids)) if t)
    with _lock:
        _texts[id(tok)] = (tok, texts)
    return texts


def max_token_bytes(tok: Tokenizer) -> int | None:
    """An upper bound on the UTF-8 bytes of text one token stands for, or None while it is being computed
    (once per tokenizer, in a background thread: reading a 150k vocabulary takes about a second)."""
    with _lock:
        hit = _bytes.get(id(tok))
        if hit is not None and hit[0] is tok:
            return hit[1]
        _bytes[id(tok)] = (tok, None)

    def work() -> None:
        value = _longest_token(tok)
        with _lock:
            _bytes[id(tok)] = (tok, value)

    threading.Thread(target=work, name="s1kit-vocab-scan", daemon=True).start()
    return None


def _longest_token(tok: Tokenizer) -> int:
    inner = getattr(tok, "tok", None)  # a transformers tokenizer: its vocabulary strings, at once
    if inner is not None and hasattr(inner, "get_vocab"):
        backend = getattr(inner, "backend_tokenizer", None)
        byte_level = type(getattr(backend, "decoder", None)).__name__ == "ByteLevel"
        # Byte-level vocabularies spell each byte as one character; other spellings (SentencePiece's
        # "▁", "<0x0A>") are never shorter in UTF-8 than the bytes they stand for.
        return 1 + max(len(k) if byte_level else len(k.encode("utf-8", "replace")) for k in inner.get_vocab())
    return 1 + max(len(tok.decode([i]).encode("utf-8", "replace")) for i in range(tok.vocab_size))


def chat_prompt_ids(
    tok: Tokenizer, messages: Sequence[dict[str, str]], finish: Callable[[str], str] = lambda t: t
) -> list[int]:
    """The token ids of ``messages`` rendered by the chat template; ``finish`` edits the rendered tail
    (it opens the thinking section). Message contents never yield control tokens."""
    marks = [_MARK.format(i) for i in range(len(messages))]
    shaped = tok.apply_chat_template([{**m, "content": k} for m, k in zip(messages, marks, strict=True)])
    parts = _MARKS.split(shaped)
    pieces, order = parts[0::2], [int(x) for x in parts[1::2]]
    contents = _as_rendered(tok, messages, marks, pieces, order)
    pieces[-1] = finish(pieces[-1])
    specials = special_texts(tok)
    if not any(s in c for c in contents for s in specials):
        ids = tok.encode(_join(pieces, contents))
        want = [i for p in pieces for i in tok.encode(p) if i in tok.special_ids]
        if [i for i in ids if i in tok.special_ids] == want:
            return ids  # the template's exact tokenisation, and its control tokens are all its own
    ids = []
    for piece, content in zip(pieces, [*contents, None], strict=True):
        ids += tok.encode(piece)
        if content is not None:
            ids += encode_text(tok, content)
    return ids


_MARKS = re.compile("\ue000s1kit(\\d+)\ue001")


def _join(pieces: Sequence[str], fills: Sequence[str]) -> str:
    return "".join(p + f for p, f in zip(pieces, [*fills, ""], strict=True))


def _as_rendered(
    tok: Tokenizer, messages: Sequence[dict[str, str]], marks: list[str], pieces: list[str], order: list[int]
) -> list[str]:
    """The content at each placeholder as the template writes it (a template may trim a content or cut
    an assistant's reasoning out of it): one render per message, with only that content real."""
    contents = [messages[j]["content"] for j in order]
    if len(set(order)) != len(order) or _join(pieces, contents) == tok.apply_chat_template(list(messages)):
        return contents
    out = []
    for k, j in enumerate(order):
        one = [{**m, "content": marks[i] if i != j else m["content"]} for i, m in enumerate(messages)]
        text = tok.apply_chat_template(one)
        head = _join(pieces[: k + 1], [marks[i] for i in order[:k]])
        tail = _join(pieces[k + 1 :], [marks[i] for i in order[k + 1 :]])
        fits = text.startswith(head) and text.endswith(tail) and len(text) >= len(head) + len(tail)
        out.append(text[len(head) : len(text) - len(tail)] if fits else contents[k])
    return out
