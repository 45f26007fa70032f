"""Budget forcing as a method of the registry: the core method and the reference point of every comparison."""

from __future__ import annotations

from typing import Any

from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams


def budget_forcing(
    gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any
) -> list[Completion]:
    return gen.generate_batch(prompts, s.budget, sp, mode=c.mode, rendered=True)
