"""NoWait: suppress reflection words while thinking — the opposite of budget forcing's "Wait".

Wang et al., 2025, "Wait, We Don't Need to 'Wait'! Removing Thinking Tokens Improves Reasoning
Efficiency". Every vocabulary token that spells one of the reflection words ("Wait", " wait", "WAIT",
".wait" …: the token's text stripped of spaces and punctuation, lower-cased) is banned by a logit bias
of -inf while the sequence thinks; the answer is decoded unmasked. Words split over several tokens are
not masked (as in the paper, which masks whole-word tokens).

The mask is :class:`~s1kit.generation.sampling.SamplingParams`'s ``logit_bias`` with
``bias_scope="thinking"``: the sampler of the decoding loop applies it before sampling (llamacpp, hf);
over HTTP it is sent as OpenAI's ``logit_bias`` (vLLM and llama.cpp's server honour it) on thinking
rounds only. A per-step monitor (loop mode) records where the model's own top choice was a masked token
(event ``suppressed``) and the probability mass the mask removed, so a trace shows what was cut.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from s1kit.errors import S1kitError
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import with_info

# The paper's core reflection keywords.
WORDS: tuple[str, ...] = (
    "wait",
    "alternatively",
    "hmm",
    "but",
    "however",
    "check",
    "double-check",
    "maybe",
    "verify",
    "again",
    "oh",
    "ah",
)
MAX_EVENTS = 100  # suppressed events kept per trace (the counts stay exact)
_STRIP = " \t\r\n.,;:!?\"'()[]{}`*_-"
_CACHE: dict[tuple[int, tuple[str, ...]], tuple[Any, tuple[int, ...]]] = {}
_LOCK = threading.Lock()


def reflection_ids(gen: Any, words: Sequence[str]) -> tuple[int, ...]:
    """Ids of every token that spells one of ``words`` (never the format's delimiters or stops)."""
    tok = gen.tokenizer
    key = (id(tok), tuple(sorted({w.lower() for w in words})))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is tok:
            return hit[1]
    want = set(key[1])
    ids = gen.format_ids
    keep = set(ids.think_end) | set(ids.answer_stops) | {t for s in ids.stop_seqs for t in s}
    found = tuple(
        i for i in range(tok.vocab_size) if i not in keep and tok.decode([i]).strip(_STRIP).lower() in want
    )
    with _LOCK:
        _CACHE[key] = (tok, found)
    return found


class Suppressions:
    """The per-step monitor: where the model's top choice was masked, and the mass the mask removed.

    A step's distribution is read after the token before it is fed and counted once the token drawn
    from it is the model's own thinking token (not a forced one, not the end); the first thinking
    token, drawn from the distribution after the prompt, is not observed.
    """

    def __init__(self, gen: Any, ids: Sequence[int]) -> None:
        self.gen = gen
        self.ids = np.asarray(sorted(ids), dtype=np.int64)
        self.idset = frozenset(int(i) for i in ids)
        self.count: dict[int, int] = defaultdict(int)
        self.mass: dict[int, float] = defaultdict(float)
        self._pending: dict[int, tuple[int, float]] = {}

    def __call__(self, index: int, state: Any, session: Any) -> None:
        pending = self._pending.pop(index, None)
        if pending is not None and state.roles and state.roles[-1] == "think":
            top, mass = pending
            self.mass[index] += mass
            if top in self.idset:
                self.count[index] += 1
                if self.count[index] <= MAX_EVENTS:
                    state.record("suppressed", self.gen.tokenizer.decode([top]), (top,))
        self._pending[index] = self._look(session.logits())

    def _look(self, logits: Any) -> tuple[int, float]:
        """(the top token, the probability of the masked tokens) of one step's raw distribution; a torch
        row is reduced where it lives (two numbers come back from a GPU)."""
        vocab = self.gen.tokenizer.vocab_size
        if hasattr(logits, "detach"):
            import torch

            t = logits.detach()[:vocab].float()
            ids = torch.as_tensor(self.ids, device=t.device)
            top, mass = torch.stack([t.argmax().float(), torch.softmax(t, 0)[ids].sum()]).tolist()
            return int(top), float(mass)
        x = np.asarray(logits)[:vocab].astype(np.float64)
        top = int(x.argmax())
        p = np.exp(x - x[top])
        return top, float(p[self.ids].sum() / p.sum())

    def info(self, index: int) -> dict[str, Any]:
        return {"suppressed": self.count[index], "suppressed_mass": round(self.mass[index], 4)}


def nowait(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """Budget forcing with the reflection words' tokens masked while thinking."""
    words = tuple(s.params.get("words") or WORDS)
    ids = reflection_ids(gen, words)
    if not ids:
        raise S1kitError(f"nowait: no token of this tokenizer spells one of {list(words)}")
    bias = tuple((t, -100.0) for t in ids)
    masked = [dataclasses.replace(x, logit_bias=bias, bias_scope="thinking") for x in sp]
    watch = Suppressions(gen, ids) if c.mode == "loop" and getattr(gen.engine, "max_batch", 0) else None
    outs = gen.generate_batch(prompts, s.budget, masked, mode=c.mode, rendered=True, monitor=watch)
    return [
        with_info(
            o,
            words=list(words),
            masked_tokens=len(ids),
            **(watch.info(i) if watch else {"suppressed": None, "suppressed_mass": None}),
        )
        for i, o in enumerate(outs)
    ]
