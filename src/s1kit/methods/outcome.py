"""What every method shares: a Completion that carries method details, seeds per try, answer keys.

A method returns one :class:`MethodCompletion` per prompt. Its ``info`` lands in the evaluation record
under ``method_info`` (tries, probes, scores, ``compute_tokens`` …), so every figure a report shows is
recomputed from ``records.jsonl`` alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from s1kit.evaluation.at_k import compute_tokens  # a record's cost, defined beside the curves
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.grading.extract import extract_answer, normalize_answer

MAX_KEY_CHARS = 200  # longer "answers" are not compared (model output is untrusted)


@dataclass(frozen=True)
class MethodCompletion(Completion):
    """A :class:`~s1kit.completion.Completion` plus what the method did (``info``, JSON types only)."""

    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self, *, with_ids: bool = False) -> dict[str, Any]:
        d = super().to_dict(with_ids=with_ids)
        d["method_info"] = dict(self.info)
        return d


def with_info(c: Completion, **info: Any) -> MethodCompletion:
    """``c`` with ``info`` merged into its method details."""
    old = dict(c.info) if isinstance(c, MethodCompletion) else {}
    base = {f.name: getattr(c, f.name) for f in dataclasses.fields(Completion)}
    return MethodCompletion(**base, info={**old, **info})


def derive_seed(seed: int | None, *parts: object) -> int:
    """A seed for one try/sample of a method, fixed by the batch seed and the parts (repeatable)."""
    h = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(h[:4], "big")


def reseeded(sp: SamplingParams, *parts: object) -> SamplingParams:
    return dataclasses.replace(sp, seed=derive_seed(sp.seed, *parts))


def answer_key(answer: str, thinking: str = "") -> str | None:
    """The normalised answer a completion gives (``s1kit.grading.judge`` extraction; thinking as fallback)."""
    found = extract_answer(answer[-4 * MAX_KEY_CHARS :])
    if found is None and thinking:
        found = extract_answer(thinking[-4 * MAX_KEY_CHARS :])
    return None if found is None else normalize_answer(found)


__all__ = ["MethodCompletion", "answer_key", "compute_tokens", "derive_seed", "reseeded", "with_info"]
