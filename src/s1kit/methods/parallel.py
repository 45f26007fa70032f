"""Parallel scaling: N independent samples per question, combined by a vote or a score.

Generation is budget forcing with ``--samples N`` (each sample a record, graded by the runner);
``best_of_n`` also scores each sample. Combining is done afterwards, from the records, by pure
functions, and every curve at k = 1, 2, 4 … N comes from the one run by subsampling (exact over all
k-subsets when there are few, else a seeded sample of them).

Scorers (chosen by name in :data:`SCORERS`):

* ``mean_logprob`` — the mean log-probability of the generated tokens under the model;
* ``self_certainty`` — the mean KL divergence of the uniform distribution from the model's next-token
  distribution (Kang et al., 2025): high when the model is sure;
* ``reward_model`` — a transformers sequence-classification model given by path (probability of its
  last label, or the sigmoid of a single logit).

The first two re-score each completion on the generating model through the step-level session API
(the llamacpp or hf backend); an HTTP backend offers no per-token distributions and is refused.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from s1kit.errors import S1kitError
from s1kit.evaluation.at_k import Rule, k_curve, samples_by_setting
from s1kit.generation.completion import Completion
from s1kit.generation.loop import ScoringRow
from s1kit.generation.sampling import SamplingParams
from s1kit.grading.vote import Equal
from s1kit.methods.outcome import with_info


@dataclass(frozen=True)
class TokenStats:
    """Per generated token: its log-probability and the model's certainty at that step."""

    logprobs: tuple[float, ...]
    certainties: tuple[float, ...]


def mean_logprob(stats: TokenStats) -> float:
    """Mean token log-probability (0 for an empty completion)."""
    return statistics.fmean(stats.logprobs) if stats.logprobs else 0.0


def self_certainty(stats: TokenStats) -> float:
    """Mean KL(uniform || p) over the generated tokens' steps."""
    return statistics.fmean(stats.certainties) if stats.certainties else 0.0


TOKEN_SCORERS: dict[str, Callable[[TokenStats], float]] = {
    "mean_logprob": mean_logprob,
    "self_certainty": self_certainty,
}
SCORERS: tuple[str, ...] = (*TOKEN_SCORERS, "reward_model")


def step_stats(logits: Any, token: int, vocab: int) -> tuple[float, float]:
    """(log p(token), KL(uniform || p)) from one step's logits."""
    x = logits.detach().float().cpu().numpy() if hasattr(logits, "detach") else np.asarray(logits)
    x = x[:vocab].astype(np.float64)
    logp = x - (x.max() + np.log(np.exp(x - x.max()).sum()))
    return float(logp[token]), float(-math.log(vocab) - logp.mean())


def token_stats(gen: Any, prompt: str, token_ids: Sequence[int]) -> TokenStats:
    """Re-score a completion on the generating model: one pass over its tokens after the prompt."""
    return token_stats_many(gen, [(prompt, token_ids)])[0]


def token_stats_many(gen: Any, items: Sequence[tuple[str, Sequence[int]]]) -> list[TokenStats]:
    """Re-score many completions together: teacher-forced rows of the one decoding loop (a log-probs
    hook per step); samples of one prompt share its prefill."""
    engine = gen.engine
    if not getattr(engine, "max_batch", 0):
        raise S1kitError(
            f"log-probability scorers need per-token distributions (the llamacpp or hf backend), "
            f"not {engine.name}"
        )
    vocab = gen.tokenizer.vocab_size
    stats: list[tuple[list[float], list[float]]] = [([], []) for _ in items]

    def observer(i: int) -> Callable[[Any, int], None]:
        def observe(logits: Any, token: int) -> None:
            lp, c = step_stats(logits, token, vocab)
            stats[i][0].append(lp)
            stats[i][1].append(c)

        return observe

    rows = [
        ScoringRow(gen.tokenizer.encode(p), list(ids), observer(i), key=i) for i, (p, ids) in enumerate(items)
    ]
    gen.decode_rows(rows)
    return [TokenStats(tuple(lps), tuple(cs)) for lps, cs in stats]


class RewardModel:
    """A transformers sequence-classification model scoring (prompt + thinking + answer) texts."""

    def __init__(self, path: str, *, device: str = "cpu", max_tokens: int = 2048) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path).to(device).eval()
        except (OSError, ValueError) as e:
            raise S1kitError(
                f"--reward-model {path}: not a sequence-classification model ({str(e).splitlines()[0]})"
            ) from e
        self.device, self.max_tokens = device, max_tokens

    def __call__(self, text: str) -> float:
        import torch

        ids = self.tokenizer(text, add_special_tokens=True)["input_ids"][-self.max_tokens :]  # keep the end
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([ids], device=self.device)).logits[0].float()
        if logits.numel() == 1:
            return float(torch.sigmoid(logits[0]))
        return float(torch.softmax(logits, -1)[-1])


_REWARD_MODELS: dict[str, RewardModel] = {}


def score_completions(gen: Any, completions: Sequence[Completion], params: dict[str, Any]) -> list[dict]:
    """Scores of each completion for every scorer named in ``params["scorers"]``."""
    names = params.get("scorers") or ["mean_logprob"]
    out: list[dict[str, float]] = [{} for _ in completions]
    stats: list[TokenStats] = []
    if any(n in TOKEN_SCORERS for n in names):  # one re-scoring pass serves every token scorer
        stats = token_stats_many(gen, [(c.prompt, c.token_ids) for c in completions])
    for name in names:
        if name in TOKEN_SCORERS:
            for d, st in zip(out, stats, strict=True):
                d[name] = TOKEN_SCORERS[name](st)
        elif name == "reward_model":
            path = params.get("reward_model")
            if not path:
                raise S1kitError("scorer reward_model needs --reward-model PATH")
            rm = _REWARD_MODELS.get(path) or _REWARD_MODELS.setdefault(path, RewardModel(path))
            for d, c in zip(out, completions, strict=True):
                d[name] = rm(c.prompt + c.thinking + c.answer)
        else:
            raise S1kitError(f"unknown scorer {name!r}: expected one of {list(SCORERS)}")
    return out


def best_of_n(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """One sample per prompt (the runner draws N), budget-forced, with its scores attached."""
    outs = gen.generate_batch(prompts, s.budget, sp, mode=c.mode, rendered=True)
    scores = score_completions(gen, outs, s.params)
    return [with_info(o, scores=sc) for o, sc in zip(outs, scores, strict=True)]


def majority_vote(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """One sample per prompt (the runner draws N); the vote is taken from the records."""
    return gen.generate_batch(prompts, s.budget, sp, mode=c.mode, rendered=True)


# ------------------------------------------------------------------ combining

# Combining is done from the records, by the one implementation in s1kit.evaluation.at_k: votes cluster
# answers by the grader's equivalence without the gold (s1kit.grading.vote), best-of-k takes the
# best-scored sample, and every k comes from one run by subsampling.


def curve(
    records: Sequence[dict[str, Any]],
    rule: Rule = "majority",
    scorer: str | None = None,
    *,
    equal: Equal | None = None,
) -> list[tuple[int, float, float]]:
    """[(k, compute, accuracy %)] for k = 1, 2, 4 … N over one setting's records
    (:func:`s1kit.evaluation.at_k.k_curve`; compute = k × the mean thinking tokens of one sample)."""
    return k_curve(samples_by_setting({"": records}, equal=equal)[""], rule, scorer)
