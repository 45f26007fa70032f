"""AlphaOne: slow thinking before the α moment, fast after it.

Zhang et al., 2025, "AlphaOne: Reasoning Models Thinking Slow and Fast at Test Time". The α moment is
α × a base thinking length: ``think_length`` (the model's average thinking length, e.g. measured by a
plain run) or, when it is not given, the setting's budget cap. Before the moment, after each paragraph
break the model writes ("\\n\\n"), "Wait" (the budget's first ignore string) is inserted with a probability
that follows a schedule of the progress t = thinking tokens / moment (``linear``: p0 × (1 - t), the
paper's default annealing; ``constant``: p0), as a Bernoulli draw seeded per trace. After the moment,
a "wait" token the model writes is replaced by the end of thinking (delimiter and answer primer).

Events: ``inserted`` (a "Wait" fed), ``replaced_end`` (a "wait" replaced by the end). Inserted text
counts as thinking and is cut by the budget cap like any ignore string. Loop mode only: the insertion
and replacement happen between decoding steps (the llamacpp or hf backend).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from s1kit.errors import S1kitError
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.nowait import reflection_ids
from s1kit.methods.outcome import derive_seed, with_info
from s1kit.methods.steps import ends_paragraph

ALPHA, P0 = 1.4, 0.5
SCHEDULES = ("linear", "constant")


def wait_probability(schedule: str, p0: float, progress: float) -> float:
    """The chance of inserting "Wait" at a paragraph break, at ``progress`` in [0, 1) of the moment."""
    if schedule == "linear":
        return max(0.0, p0 * (1.0 - progress))
    if schedule == "constant":
        return p0
    raise S1kitError(f"alphaone schedule {schedule!r}: expected one of {list(SCHEDULES)}")


class AlphaSchedule:
    """The per-step monitor: Bernoulli "Wait"s before the α moment, "wait" → end of thinking after."""

    def __init__(
        self, gen: Any, *, moment: int, p0: float, schedule: str, seeds: list[int], wait: str
    ) -> None:
        self.gen, self.moment, self.p0, self.schedule = gen, moment, p0, schedule
        self.rngs = [random.Random(s) for s in seeds]
        self.wait_text = wait
        self.wait_ids = gen.tokenizer.encode(wait)
        self.waits = frozenset(reflection_ids(gen, ("wait",)))
        self.inserted: dict[int, int] = defaultdict(int)
        self.replaced: dict[int, int] = {}

    def __call__(self, index: int, state: Any, session: Any) -> None:
        if not state.roles or state.roles[-1] != "think":
            return  # react to the model's own tokens only
        last = state.tokens[-1]
        n = state.thinking_tokens
        if n < self.moment:
            if ends_paragraph(self.gen.tokenizer, state.tokens):
                p = wait_probability(self.schedule, self.p0, n / self.moment)
                if self.rngs[index].random() < p:
                    state.insert(self.wait_ids, kind="inserted", text=self.wait_text)
                    self.inserted[index] += 1
        elif last in self.waits:
            text = self.gen.tokenizer.decode([last])
            if state.replace_with_end(1, "replaced_end", text=text):
                self.replaced[index] = state.thinking_tokens


def alpha_moment(s: Any) -> int:
    """α × the base thinking length (``think_length``, else the budget cap)."""
    alpha = float(s.params.get("alpha", ALPHA))
    base = s.params.get("think_length") or (s.budget.max_thinking_tokens if s.budget is not None else None)
    if base is None:
        raise S1kitError("alphaone needs a base thinking length: give --think-length N or a budget cap")
    if alpha <= 0:
        raise S1kitError(f"alphaone alpha {alpha}: expected a number > 0")
    return max(1, round(alpha * int(base)))


def alphaone(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """Budget forcing with AlphaOne's slow-then-fast thinking schedule."""
    if c.mode != "loop" or not getattr(gen.engine, "max_batch", 0):
        raise S1kitError(
            "alphaone inserts and replaces tokens between decoding steps: it needs step-level decoding "
            f"(the llamacpp or hf backend in loop mode), not {gen.engine.name} in {c.mode} mode"
        )
    moment = alpha_moment(s)
    p0 = float(s.params.get("p0", P0))
    schedule = str(s.params.get("schedule", "linear"))
    wait_probability(schedule, p0, 0.0)  # validates the schedule
    wait = s.budget.ignore_strings[0] if s.budget is not None else "Wait"
    seeds = [derive_seed(x.seed, "alphaone", i) for i, x in enumerate(sp)]
    mon = AlphaSchedule(gen, moment=moment, p0=p0, schedule=schedule, seeds=seeds, wait=wait)
    outs = gen.generate_batch(prompts, s.budget, sp, mode="loop", rendered=True, monitor=mon)
    return [
        with_info(
            o,
            alpha_moment=moment,
            schedule=schedule,
            p0=p0,
            inserted_waits=mon.inserted[i],
            replaced_at=mon.replaced.get(i),
        )
        for i, o in enumerate(outs)
    ]
