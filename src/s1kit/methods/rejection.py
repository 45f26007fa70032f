"""Rejection sampling (the paper's Table 3 baseline): sample until the thinking fits the budget.

Each try samples with a fresh seed derived from the batch seed; a try is rejected as soon as its
thinking passes the budget (on step-level backends the rest of it is never generated), and only the
prompts still without a fitting sample are tried again. The last allowed try is budget-forced, so
every question gets an answer; the record says whether it fitted (``method_info.fitted``), how many
tries it took (``tries``) and the thinking tokens spent on all of them (``compute_tokens``).
"""

from __future__ import annotations

from typing import Any

from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import reseeded, with_info

DEFAULT_MAX_TRIES = 8


class _Overrun:
    """Monitor + cancel hook: stop a try whose thinking has passed ``limit`` tokens."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.over: set[int] = set()

    def monitor(self, index: int, state: Any, session: Any) -> None:
        if state.thinking_tokens >= self.limit:
            self.over.add(index)

    def cancelled(self, index: int) -> bool:
        return index in self.over


def fits(c: Completion, cap: int) -> bool:
    """The model ended its thinking itself, within ``cap`` tokens."""
    return not c.forced_end and c.finish_reason == "stop" and c.thinking_tokens <= cap


def rejection_sampling(
    gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any
) -> list[Completion]:
    """Up to ``max_tries`` samples per prompt; the first that fits the budget is kept."""
    cap = s.budget.max_thinking_tokens if s.budget is not None else None
    if cap is None:
        raise S1kitError("rejection_sampling needs a thinking budget: give --budgets (not none)")
    tries = int(s.params.get("max_tries", DEFAULT_MAX_TRIES))
    if tries > 1 and sp and sp[0].greedy:
        raise S1kitError("rejection_sampling resamples: set --temperature > 0 (greedy tries are identical)")
    # Tries may run a few tokens past the cap, so a multi-token end delimiter can complete.
    slack = max(len(x) for x in gen.format_ids.stop_seqs) - 1
    loose = Budget.from_dict({**s.budget.to_dict(), "max_thinking_tokens": cap + slack})
    step_level = c.mode == "loop" and bool(getattr(gen.engine, "max_batch", 0))
    kept: dict[int, Completion] = {}
    spent = [0] * len(prompts)
    history: list[list[int]] = [[] for _ in prompts]
    for t in range(tries):
        todo = [i for i in range(len(prompts)) if i not in kept]
        if not todo:
            break
        last = t == tries - 1
        hook = _Overrun(cap + slack) if step_level and not last else None
        outs = gen.generate_batch(
            [prompts[i] for i in todo],
            s.budget if last else loose,
            [reseeded(sp[i], "try", t) for i in todo],
            mode=c.mode,
            rendered=True,
            monitor=hook.monitor if hook else None,
            cancelled=hook.cancelled if hook else None,
        )
        for i, o in zip(todo, outs, strict=True):
            spent[i] += o.thinking_tokens
            history[i].append(o.thinking_tokens)
            if fits(o, cap) or last:
                kept[i] = o
    return [
        with_info(
            kept[i],
            tries=len(history[i]),
            max_tries=tries,
            fitted=fits(kept[i], cap),
            try_thinking_tokens=history[i],
            compute_tokens=spent[i],
        )
        for i in range(len(prompts))
    ]
