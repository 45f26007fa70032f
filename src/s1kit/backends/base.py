"""The backend protocol.

An engine offers one or both ways of generating:

* ``open(prompts)`` returns a :class:`DecodeSession` — step-level access to a running batch whose rows
  join (:meth:`DecodeSession.add`) and leave (:meth:`DecodeSession.remove`): feed one token per row,
  read each row's next logits, roll a row back, probe a side branch. Used for forcing *in the decoding
  loop* (:mod:`s1kit.generation.loop`);
* ``complete(...)`` is "generate until a stop", used for forcing *round by round*; it is all that an
  HTTP server offers.

Rows are numbered in the order they join (``open``'s prompts are rows ``0..n-1``); a row's number never
changes and is never reused within a session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from s1kit.backends.tokenizer import Tokenizer
from s1kit.generation.sampling import SamplingParams


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


class CacheFull(Exception):
    """The engine's KV cache has no room for this step or prompt; nothing was changed.

    The decoding loop answers by pre-empting a row (it is re-read later) or by waiting for rows to leave.
    """


Feed = Mapping[int, int] | Sequence[int | None]


class DecodeSession(Protocol):
    def add(self, prompts: Sequence[Sequence[int]]) -> list[int]:
        """Prefill ``prompts`` (in chunks; a prompt sharing a cached prefix copies it) and return their
        new row numbers. Raises :class:`CacheFull` (adding none) when they do not fit now."""

    def remove(self, rows: Sequence[int]) -> None:
        """Drop rows from the batch (their cache cells are freed at once)."""

    def logits(self, i: int) -> Any:
        """Next-token logits of row ``i`` (a 1-D array or tensor)."""

    def step(self, tokens: Feed) -> None:
        """Feed one token per row: ``{row: token}``, or a sequence indexed by row (``None``: not fed).
        Raises :class:`CacheFull` (feeding nothing) when the cache has no room for the step."""

    def rollback(self, i: int, k: int) -> None:
        """Forget the last ``k`` tokens fed to row ``i``."""

    def length(self, i: int) -> int:
        """Tokens in row ``i``'s context (prompt + fed)."""

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        """Greedy side branch of row ``i``: feed ``forced``, decode up to ``max_new`` tokens (until
        a ``stop`` id), return them, and leave the row exactly as it was (cache cells removed or
        masked back, next logits restored). The prompt is never re-read."""

    def close(self) -> None: ...


class Engine(Protocol):
    name: str
    model_name: str
    tokenizer: Tokenizer
    context_length: int  # the longest sequence (prompt + generated) one row may hold
    max_batch: int  # rows one DecodeSession holds at once; 0 if there is no step-level access

    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> DecodeSession: ...

    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult: ...


def feed_items(tokens: Feed) -> list[tuple[int, int]]:
    """``(row, token)`` pairs of a step's feed, in row order."""
    if isinstance(tokens, Mapping):
        return sorted((int(r), int(t)) for r, t in tokens.items())
    return [(r, int(t)) for r, t in enumerate(tokens) if t is not None]


def stop_suffix(tokens: Sequence[int], stop: Sequence[Sequence[int]]) -> bool:
    """True when ``tokens`` ends with one of the stop sequences."""
    return any(len(s) <= len(tokens) and tuple(tokens[len(tokens) - len(s) :]) == tuple(s) for s in stop)
