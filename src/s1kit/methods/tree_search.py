"""Tree search: budget forcing inside a beam search over thinking steps — the paper's stated future work.

A *step* ends at a paragraph break ("\\n\\n") the model writes or after ``step_tokens`` thinking tokens.
Each round, every live beam is expanded into ``expansion`` sampled steps; candidates are scored and the
best ``beam_width`` paths (finished ones included) are kept, the others pruned. A candidate whose
thinking ended (the model stopped, or the budget forced the end) has its answer decoded in the same
pass and is finished. The search ends when every kept path is finished; the best finished path is the
record.

Budget forcing holds along each path: the cap counts every thinking token on the path, the ignored
stops and the minimum carry over from step to step, so each branch is a budget-forced trace.

Scorers (no reward model needed): ``mean_logprob`` (mean log-probability of the path's sampled tokens)
and ``self_certainty`` (mean KL(uniform || p) of their steps), read from the decoding loop after every
step (the first token of a step has no earlier distribution in that pass and is not scored); or
``reward_model`` (a sequence-classification model from ``--reward-model``, on prompt + path).

A round re-reads each path as text (prompt + thinking so far): llama.cpp reuses the cached prefix, and
the tokenisation of the path may differ from the sampled tokens at step seams. Compute is the thinking
tokens of every branch generated (``method_info.compute_tokens``); ``method_info.rounds`` lists every
candidate (score, tokens, kept or pruned).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from s1kit.errors import S1kitError
from s1kit.forcing.budget import Budget
from s1kit.forcing.state import ForcingEvent
from s1kit.generation.completion import Completion, Timings
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import reseeded, with_info
from s1kit.methods.parallel import _REWARD_MODELS, RewardModel, step_stats
from s1kit.methods.steps import ends_paragraph

BEAM_WIDTH, EXPANSION, STEP_TOKENS = 4, 4, 128
SCORERS = ("mean_logprob", "self_certainty", "reward_model")


class StepCut:
    """The per-step monitor: scores sampled tokens and pauses a sequence at the end of a step."""

    def __init__(self, gen: Any, step_tokens: int) -> None:
        self.gen, self.step_tokens = gen, step_tokens
        self.prev: dict[int, Any] = {}
        self.logprob: dict[int, list[float]] = defaultdict(list)
        self.certainty: dict[int, list[float]] = defaultdict(list)
        self.paused: set[int] = set()

    def __call__(self, index: int, state: Any, session: Any) -> None:
        vocab = self.gen.tokenizer.vocab_size
        last, role = state.tokens[-1], state.roles[-1]
        if role == "think" and index in self.prev:
            lp, cert = _stats(self.prev[index], last, vocab)
            self.logprob[index].append(lp)
            self.certainty[index].append(cert)
        logits = session.logits()
        self.prev[index] = logits.detach().clone() if hasattr(logits, "detach") else logits.copy()
        ended = role == "think" and ends_paragraph(self.gen.tokenizer, state.tokens)
        full = state.thinking_tokens >= self.step_tokens  # each round's state starts at 0
        if (ended or full) and state.stop("step_end"):
            self.paused.add(index)


def _stats(logits: Any, token: int, vocab: int) -> tuple[float, float]:
    """(log p(token), KL(uniform || p)) of one step; a torch row is reduced where it lives."""
    if not hasattr(logits, "detach"):
        return step_stats(logits, token, vocab)
    import torch

    logp = torch.log_softmax(logits[:vocab].float(), 0)
    lp, mean = torch.stack([logp[token], logp.mean()]).tolist()
    return float(lp), float(-math.log(vocab) - mean)


@dataclass
class Path:
    """One beam: the thinking so far and what it cost."""

    text: str = ""
    tokens: int = 0
    ignores: int = 0
    logprobs: list[float] = field(default_factory=list)
    certainties: list[float] = field(default_factory=list)
    events: list[ForcingEvent] = field(default_factory=list)
    rm: float = 0.0
    final: Completion | None = None  # set when thinking ended and the answer is decoded

    def score(self, scorer: str) -> float:
        if scorer == "reward_model":
            return self.rm
        xs = self.logprobs if scorer == "mean_logprob" else self.certainties
        return sum(xs) / len(xs) if xs else float("-inf") if scorer == "mean_logprob" else 0.0


def _step_budget(b: Budget, path: Path) -> Budget:
    """The setting's budget for the rest of a path (cap, minimum and ignores already spent)."""
    cap = None if b.max_thinking_tokens is None else max(0, b.max_thinking_tokens - path.tokens)
    return replace(
        b,
        max_thinking_tokens=cap,
        min_thinking_tokens=min(
            max(0, b.min_thinking_tokens - path.tokens), cap if cap is not None else 1 << 30
        ),
        num_ignore=max(0, b.num_ignore - path.ignores),
    )


def _params(s: Any, sp: list[SamplingParams]) -> dict[str, Any]:
    p = s.params
    out = {
        "beam_width": int(p.get("beam_width", BEAM_WIDTH)),
        "expansion": int(p.get("expansion", EXPANSION)),
        "step_tokens": int(p.get("step_tokens", STEP_TOKENS)),
        "scorer": str(p.get("scorer", "mean_logprob")),
    }
    if out["scorer"] not in SCORERS:
        raise S1kitError(f"tree_search scorer {out['scorer']!r}: expected one of {list(SCORERS)}")
    if out["scorer"] == "reward_model" and not p.get("reward_model"):
        raise S1kitError("tree_search scorer reward_model needs --reward-model PATH")
    if min(out["beam_width"], out["expansion"], out["step_tokens"]) < 1:
        raise S1kitError(f"tree_search: beam width, expansion and step tokens must be >= 1, got {out}")
    if s.budget is None or s.budget.max_thinking_tokens is None:
        raise S1kitError("tree_search forces a budget on every branch: give --budgets N (not none)")
    if out["expansion"] > 1 and any(x.greedy for x in sp):
        raise S1kitError("tree_search samples several steps per beam: give --temperature > 0")
    return out


def tree_search(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """Beam search over budget-forced thinking steps, one record per question (its best path)."""
    if c.mode != "loop" or not getattr(gen.engine, "max_batch", 0):
        raise S1kitError(
            "tree_search scores and cuts steps in the decoding loop: it needs step-level decoding "
            f"(the llamacpp or hf backend in loop mode), not {gen.engine.name} in {c.mode} mode"
        )
    p = _params(s, sp)
    rm = None
    if p["scorer"] == "reward_model":
        path = str(s.params["reward_model"])
        rm = _REWARD_MODELS.get(path) or _REWARD_MODELS.setdefault(path, RewardModel(path))
    t0 = time.perf_counter()
    beams: list[list[Path]] = [[Path()] for _ in prompts]
    rounds: list[list[list[dict[str, Any]]]] = [[] for _ in prompts]
    compute = [0] * len(prompts)
    n_round = 0
    while any(b.final is None for bs in beams for b in bs):
        jobs = [
            (q, r, b, j)
            for q, bs in enumerate(beams)
            for r, b in enumerate(bs)
            if b.final is None
            for j in range(p["expansion"])
        ]
        cut = StepCut(gen, p["step_tokens"])
        outs = gen.generate_batch(
            [prompts[q] + b.text for q, _, b, _ in jobs],
            [_step_budget(s.budget, b) for _, _, b, _ in jobs],
            [reseeded(sp[q], "tree", n_round, r, j) for q, r, _, j in jobs],
            mode="loop",
            rendered=True,
            monitor=cut,
        )
        fresh: list[list[Path]] = [[] for _ in prompts]
        for k, ((q, _, b, _), o) in enumerate(zip(jobs, outs, strict=True)):
            compute[q] += o.thinking_tokens
            fresh[q].append(_extend(b, o, k, cut, prompts[q], rm))
        for q in range(len(prompts)):
            if not fresh[q]:
                continue
            pool = [b for b in beams[q] if b.final is not None] + fresh[q]
            ranked = sorted(pool, key=lambda b: -b.score(p["scorer"]))  # stable: ties keep pool order
            beams[q] = ranked[: p["beam_width"]]
            new = {id(b) for b in fresh[q]}
            rounds[q].append(
                [_row(b, p["scorer"], i < p["beam_width"]) for i, b in enumerate(ranked) if id(b) in new]
            )
        n_round += 1
    secs = (time.perf_counter() - t0) / max(1, len(prompts))
    out = []
    for q, bs in enumerate(beams):
        best = max(bs, key=lambda b: b.score(p["scorer"]))
        pruned = sum(1 for r in rounds[q] for x in r if not x["kept"])
        out.append(
            with_info(
                _record(best, prompts[q], secs),
                **p,
                rounds=rounds[q],
                n_rounds=len(rounds[q]),
                branches=sum(len(r) for r in rounds[q]),
                pruned=pruned,
                score=_row(best, p["scorer"], True)["score"],
                compute_tokens=compute[q],
                wall_seconds=round(secs, 4),
            )
        )
    return out


def _row(b: Path, scorer: str, kept: bool) -> dict[str, Any]:
    score = b.score(scorer)
    return {
        "score": round(score, 6) if score != float("-inf") else None,
        "tokens": b.tokens,
        "done": b.final is not None,
        "kept": kept,
    }


def _extend(b: Path, o: Completion, k: int, cut: StepCut, prompt: str, rm: Any) -> Path:
    """The path ``b`` followed by the step ``o`` (finished when its thinking ended)."""
    shift = b.tokens
    # thinking positions move by the path so far; an answer_limit counts answer tokens and stays
    events = [
        e if e.kind == "answer_limit" else replace(e, position=e.position + shift)
        for e in o.events
        if e.kind != "step_end"
    ]
    new = Path(
        text=b.text + o.thinking,
        tokens=b.tokens + o.thinking_tokens,
        ignores=b.ignores + o.ignored_stops,
        logprobs=b.logprobs + cut.logprob[k],
        certainties=b.certainties + cut.certainty[k],
        events=b.events + events,
    )
    if k not in cut.paused:
        new.final = o
    if rm is not None:
        new.rm = rm(prompt + new.text + (o.answer if new.final is not None else ""))
    return new


def _record(best: Path, prompt: str, secs: float) -> Completion:
    o = best.final
    assert o is not None
    return Completion(
        prompt=prompt,
        thinking=best.text,
        answer=o.answer,
        thinking_tokens=best.tokens,
        answer_tokens=o.answer_tokens,
        forced_end=o.forced_end,
        ignored_stops=best.ignores,
        finish_reason=o.finish_reason,
        events=tuple(best.events),
        timings=Timings(0.0, secs, best.tokens + o.answer_tokens),
        prompt_tokens=o.prompt_tokens,
        token_ids=(),
    )
