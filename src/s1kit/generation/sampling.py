"""Sampling parameters (one type for every backend) and the sampler used in the decoding loop."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from s1kit.errors import ConfigError


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is drawn. ``temperature == 0`` is greedy decoding.

    Each backend translates these in its own module and refuses what it cannot honour.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    seed: int | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.temperature, bool)
            or not isinstance(self.temperature, int | float)
            or self.temperature < 0
        ):
            raise ConfigError("temperature", self.temperature, "a number >= 0")
        if not isinstance(self.top_p, int | float) or not 0 < self.top_p <= 1:
            raise ConfigError("top_p", self.top_p, "a number in (0, 1]")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise ConfigError("top_k", self.top_k, "an integer >= 0")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ConfigError("seed", self.seed, "an integer or None")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sampler:
    """Draws one token from a row of logits; never returns an id at or above ``vocab_size``.

    Model vocabularies are often padded past the tokenizer's (Qwen: 152,064 rows, 151,665 tokens);
    those rows are masked so an id the tokenizer cannot decode is never fed back.
    """

    def __init__(self, params: SamplingParams, vocab_size: int, *, stream: int = 0) -> None:
        self.params = params
        self.vocab_size = vocab_size
        seed = params.seed if params.seed is not None else np.random.SeedSequence().entropy
        self.rng = np.random.default_rng([int(seed) % (2**63), stream])

    def probs(self, logits: np.ndarray) -> np.ndarray:
        """The distribution sampled from, after temperature, top-k and top-p (float64)."""
        x = np.asarray(logits, dtype=np.float64)[: self.vocab_size] / self.params.temperature
        k = self.params.top_k
        if 0 < k < x.size:
            kth = np.partition(x, -k)[-k]
            x = np.where(x < kth, -np.inf, x)
        x = x - x.max()
        p = np.exp(x)
        p /= p.sum()
        if self.params.top_p < 1.0:
            order = np.argsort(-p, kind="stable")
            cum = np.cumsum(p[order])
            keep = order[: int(np.searchsorted(cum, self.params.top_p) + 1)]
            q = np.zeros_like(p)
            q[keep] = p[keep]
            p = q / q.sum()
        return p

    def __call__(self, logits: Any) -> int:
        if self.params.greedy:
            return int(logits[: self.vocab_size].argmax())
        p = self.probs(_to_numpy(logits))
        return int(self.rng.choice(p.size, p=p))


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.detach().float().cpu().numpy()  # a torch tensor
