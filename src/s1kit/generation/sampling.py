"""Sampling parameters (one type for every backend) and the sampler used in the decoding loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from s1kit.errors import ConfigError


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is drawn. ``temperature == 0`` is greedy decoding.

    Each backend translates these in its own module and refuses what it cannot honour.

    ``logit_bias`` is OpenAI's: (token id, bias) pairs added to the logits before anything else; a
    bias <= -100 bans the token (its logit becomes -inf). ``bias_scope="thinking"`` applies it only
    while the sequence is thinking (NoWait's suppression of reflection words); the sampler is told the
    phase by the decoding loop. A mapping {id: bias} is accepted and stored as sorted pairs.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    seed: int | None = None
    logit_bias: tuple[tuple[int, float], ...] = ()
    bias_scope: Literal["all", "thinking"] = "all"

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
        bias = self.logit_bias
        pairs = list(bias.items()) if isinstance(bias, Mapping) else list(bias)
        try:
            norm = tuple(sorted((int(t), float(b)) for t, b in pairs))
        except (TypeError, ValueError):
            raise ConfigError("logit_bias", bias, "(token id, bias) pairs or a {id: bias} mapping") from None
        if any(t < 0 or b != b for t, b in norm) or len({t for t, _ in norm}) != len(norm):
            raise ConfigError("logit_bias", bias, "distinct token ids >= 0 with numeric biases")
        object.__setattr__(self, "logit_bias", norm)
        if self.bias_scope not in ("all", "thinking"):
            raise ConfigError("bias_scope", self.bias_scope, "'all' or 'thinking'")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["logit_bias"] = [list(p) for p in self.logit_bias]
        return d

    def bias_for(self, *, thinking: bool) -> tuple[tuple[int, float], ...]:
        """The bias that applies in this phase."""
        return self.logit_bias if (thinking or self.bias_scope == "all") else ()


class Sampler:
    """Draws one token from a row of logits; never returns an id at or above ``vocab_size``.

    Model vocabularies are often padded past the tokenizer's (Qwen: 152,064 rows, 151,665 tokens);
    those rows are masked so an id the tokenizer cannot decode is never fed back.
    """

    def __init__(
        self,
        params: SamplingParams,
        vocab_size: int,
        *,
        stream: int = 0,
        thinking: Callable[[], bool] | None = None,
    ) -> None:
        self.params = params
        self._thinking = thinking  # tells a ``bias_scope="thinking"`` bias whether the sequence thinks
        self.vocab_size = vocab_size
        ids = [t for t, _ in params.logit_bias if t < vocab_size]
        self._bias_ids = np.asarray(ids, dtype=np.int64)
        self._bias = np.asarray([b for t, b in params.logit_bias if t < vocab_size], dtype=np.float64)
        self._bias[self._bias <= -100] = -np.inf
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

    def biased(self, logits: Any) -> np.ndarray:
        """The logits with ``logit_bias`` added (a float64 copy of the first ``vocab_size`` rows)."""
        x = np.array(_to_numpy(logits)[: self.vocab_size], dtype=np.float64)
        x[self._bias_ids] += self._bias
        return x

    def __call__(self, logits: Any, *, thinking: bool | None = None) -> int:
        """Draw a token; ``thinking`` says whether the sequence is thinking (for ``bias_scope``; default:
        the constructor's ``thinking`` callback, else True)."""
        if thinking is None:
            thinking = self._thinking() if self._thinking is not None else True
        if self._bias_ids.size and (thinking or self.params.bias_scope == "all"):
            logits = self.biased(logits)
        if self.params.greedy:
            return int(logits[: self.vocab_size].argmax())
        p = self.probs(_to_numpy(logits))
        return int(self.rng.choice(p.size, p=p))


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.detach().float().cpu().numpy()  # a torch tensor
