"""The backend protocol.

An engine offers one or both ways of generating:

* ``open(prompts)`` returns a :class:`DecodeSession` — step-level access (feed one token per sequence,
  read the next logits, roll back), used for forcing *in the decoding loop*;
* ``complete(...)`` is "generate until a stop", used for forcing *round by round*; it is all that an
  HTTP server offers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from s1kit.generation.sampling import SamplingParams
from s1kit.backends.tokenizer import Tokenizer


@dataclass(frozen=True)
class RoundResult:
    """One "generate until a stop" call.

    ``tokens`` may end with the stop sequence (local engines keep it); ``stopped`` is True only when
    the engine stopped on a stop sequence *and removed it* (HTTP servers with stop strings).
    ``length`` is True when the engine hit its own limit (context) rather than ``max_tokens``.
    """

    tokens: list[int]
    stopped: bool = False
    length: bool = False


class DecodeSession(Protocol):
    def logits(self, i: int) -> Any:
        """Next-token logits of sequence ``i`` (a 1-D array or tensor)."""

    def step(self, tokens: Sequence[int | None]) -> None:
        """Feed one token per sequence (``None``: the sequence is finished)."""

    def rollback(self, i: int, k: int) -> None:
        """Forget the last ``k`` tokens fed to sequence ``i``."""

    def length(self, i: int) -> int:
        """Tokens in sequence ``i``'s context (prompt + fed)."""

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        """Greedy side branch of sequence ``i``: feed ``forced``, decode up to ``max_new`` tokens (until
        a ``stop`` id), return them, and leave the main sequence exactly as it was (cache truncated or
        masked back, next logits restored). The prompt is never re-read."""

    def close(self) -> None: ...


class Engine(Protocol):
    name: str
    model_name: str
    tokenizer: Tokenizer
    context_length: int
    max_batch: int  # sequences one DecodeSession can hold; 0 if there is no step-level access

    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> DecodeSession: ...

    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult: ...


def stop_suffix(tokens: Sequence[int], stop: Sequence[Sequence[int]]) -> bool:
    """True when ``tokens`` ends with one of the stop sequences."""
    return any(len(s) <= len(tokens) and tuple(tokens[len(tokens) - len(s) :]) == tuple(s) for s in stop)
