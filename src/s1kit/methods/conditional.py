"""The paper's length-control baselines (Table 3), prompt-only so they work on any model.

* ``token_conditional`` — the prompt states the thinking-token budget;
* ``step_conditional`` — the prompt states a budget of steps (about ``step_tokens`` = 100 tokens each)
  and the thinking carries remaining-step markers: one opens the thinking, and one is inserted after
  every step while thinking, in the marker format of :mod:`s1kit.training.formatting` (so a model
  fine-tuned with ``markers: steps`` sees at inference exactly what it was trained on);
* ``class_conditional`` — "think briefly" (``length_class: brief``) or "think thoroughly".

Each runs with budget forcing (``forcing: true``: the budget is also enforced) or without (the prompt
alone asks for it); the setting's budget is the target either way, so Control measures how often
thinking stayed within it.
"""

from __future__ import annotations

import math
from typing import Any

from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import with_info
from s1kit.training.config import TrainConfig

_DEFAULTS = TrainConfig.__dataclass_fields__
MARKER_TEMPLATE: str = _DEFAULTS["marker_template"].default  # "<|im_start|>{remaining} {unit} left\n"
BUDGET_INSTRUCTION: str = _DEFAULTS["budget_instruction"].default  # "\n\nThink for up to {budget} {unit}."
STEP_TOKENS = 100
CLASS_INSTRUCTIONS = {
    "brief": "\n\nThink briefly: reason only as much as you need, then answer.",
    "thorough": "\n\nThink thoroughly: reason step by step, check your work, then answer.",
}


def _cap(setting: Any) -> int:
    cap = setting.budget.max_thinking_tokens if setting.budget is not None else None
    if cap is None:
        raise S1kitError(f"{setting.method} states a budget in the prompt: give --budgets (not none)")
    return cap


def steps_for(cap: int, step_tokens: int) -> int:
    """Steps a token budget buys (at least one)."""
    return max(1, math.ceil(cap / step_tokens))


def token_question(question: str, setting: Any) -> str:
    return question + BUDGET_INSTRUCTION.format(budget=_cap(setting), unit="tokens")


def step_question(question: str, setting: Any) -> str:
    steps = steps_for(_cap(setting), int(setting.params.get("step_tokens", STEP_TOKENS)))
    return question + BUDGET_INSTRUCTION.format(budget=steps, unit="steps")


def class_question(question: str, setting: Any) -> str:
    return question + CLASS_INSTRUCTIONS[setting.params.get("length_class", "brief")]


def generation_budget(setting: Any) -> Budget | None:
    """The budget enforced while decoding: the setting's with forcing, else the same without a cap."""
    b = setting.budget
    if b is None or setting.params.get("forcing"):
        return b
    return Budget.from_dict({**b.to_dict(), "max_thinking_tokens": None})


def _plain(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    outs = gen.generate_batch(prompts, generation_budget(s), sp, mode=c.mode, rendered=True)
    return [with_info(o, forcing=bool(s.params.get("forcing"))) for o in outs]


token_conditional = _plain
class_conditional = _plain


class StepMarkers:
    """A decoding monitor inserting "<k> steps left" after every ``step_tokens`` thinking tokens."""

    def __init__(self, gen: Any, steps: int, step_tokens: int) -> None:
        self.gen, self.steps, self.step_tokens = gen, steps, step_tokens
        self.next_at: dict[int, int] = {}
        self.inserted: dict[int, int] = {}

    def marker_ids(self, remaining: int) -> list[int]:
        return self.gen.tokenizer.encode(MARKER_TEMPLATE.format(remaining=remaining, unit="steps"))

    def __call__(self, index: int, state: Any, session: Any) -> None:
        at = self.next_at.setdefault(index, self.step_tokens)
        done = self.inserted.get(index, 0)
        if state.thinking_tokens < at or done >= self.steps:
            return
        ids = self.marker_ids(self.steps - done - 1)
        # Fed next, as thinking, exactly like an ignore string ("Wait"): the budget counts it.
        state.insert(ids)
        self.inserted[index] = done + 1
        self.next_at[index] = state.thinking_tokens + len(ids) + self.step_tokens


def step_conditional(
    gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any
) -> list[Completion]:
    """Step budget in the prompt, an opening marker, and a marker after every step while thinking."""
    step_tokens = int(s.params.get("step_tokens", STEP_TOKENS))
    steps = steps_for(_cap(s), step_tokens)
    markers = StepMarkers(gen, steps, step_tokens)
    opened = [p + MARKER_TEMPLATE.format(remaining=steps, unit="steps") for p in prompts]
    if c.mode != "loop" or not getattr(gen.engine, "max_batch", 0):
        raise S1kitError(
            "step_conditional inserts remaining-step markers while decoding: it needs step-level decoding "
            f"(the llamacpp or hf backend in loop mode), not {gen.engine.name} in {c.mode} mode"
        )
    outs = gen.generate_batch(opened, generation_budget(s), sp, mode="loop", rendered=True, monitor=markers)
    return [
        with_info(o, forcing=bool(s.params.get("forcing")), steps=steps, markers=markers.inserted.get(i, 0))
        for i, o in enumerate(outs)
    ]
