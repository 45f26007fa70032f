"""Thinking steps as the methods after s1 see them: a step ends at a paragraph break ("\n\n").

Tokenizers differ: one has a "\n\n" token, another writes two "\n" tokens (SmolLM2), a third glues the
break to punctuation (".\n\n"). A break is therefore read from the text of the last few tokens, and
reported once, on the token that completes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TAIL_TOKENS = 4  # tokens decoded to look for the break (a break never spans more)


def ends_paragraph(tokenizer: Any, tokens: Sequence[int]) -> bool:
    """True when the last token completes a paragraph break: it writes a newline and the text now ends
    with a blank line (spaces and tabs aside)."""
    if not tokens or "\n" not in tokenizer.decode([tokens[-1]]):
        return False
    tail = tokenizer.decode(list(tokens[-TAIL_TOKENS:])).rstrip(" \t")
    before = tokenizer.decode(list(tokens[-TAIL_TOKENS:-1])).rstrip(" \t")
    return tail.endswith("\n\n") and not before.endswith("\n\n")
