"""DeepConf: many traces, their confidence from the model's own distributions, a confidence-weighted vote.

Fu, Wang, Tian, Zhao, 2025, "Deep Think with Confidence". Per decoding step the *token confidence* is
minus the mean log-probability of the ``top_k`` most likely next tokens (high: a peaked distribution);
a *group confidence* is its mean over a sliding ``window`` of steps, and a trace's confidence is its
lowest group confidence (the whole trace when it is shorter than a window).

* ``offline``: ``traces`` full traces per question; keep the most confident ``keep`` fraction and vote,
  each kept answer weighted by its trace's confidence.
* ``online``: ``warmup`` full traces set the threshold, the ``1 - keep`` quantile of their confidences
  (DeepConf-low: keep 0.1, the 90th percentile); each further trace is stopped (event ``stopped``) as
  soon as a full window's confidence falls below it. The vote is over the confident warm-up traces
  and every trace that was not stopped, weighted by confidence. Traces after the warm-up come
  ``chunk`` at a time (default: the engine's batch), and no more are drawn once the leading answer
  holds a ``consensus`` share (default 0.95, the paper's tau) of the confidence of every trace not
  stopped so far, warm-up included — checked after the warm-up and after each chunk;
  ``consensus: 0`` draws all ``traces``.

Every trace is budget-forced with the setting's budget. A question's record is its most confident
trace giving the voted answer; ``method_info`` lists every trace (thinking tokens, confidence, answer,
stopped, kept) and ``compute_tokens`` is the thinking tokens of all traces, stopped ones included.
Confidence is read in the decoding loop after each thinking step (the llamacpp or hf backend).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from s1kit.errors import S1kitError
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import reseeded, with_info

# The paper's defaults (vLLM's top-20 log-probs, 2,048-token groups, 16 warm-up traces, DeepConf-low);
# the paper draws 256-512 traces per question, far beyond a CPU: 32 here.
WINDOW, TOP_K, KEEP, WARMUP, TRACES, CONSENSUS = 2048, 20, 0.1, 16, 32, 0.95
MODES = ("offline", "online")


def token_confidence(logits: Any, k: int, vocab: int) -> float:
    """Minus the mean log-probability of the ``k`` most likely tokens of one step's distribution.

    A torch row is reduced where it lives (one scalar comes back from a GPU, not the vocabulary)."""
    if hasattr(logits, "detach"):
        import torch

        t = logits.detach()[:vocab].float()
        return float(torch.logsumexp(t, 0) - torch.topk(t, min(k, t.numel())).values.mean())
    x = np.asarray(logits)[:vocab].astype(np.float64)
    m = x.max()
    lse = m + math.log(float(np.exp(x - m).sum()))
    k = min(k, x.size)
    top = np.partition(x, x.size - k)[x.size - k :]
    return float(lse - top.mean())


def lowest_group(confs: Sequence[float], window: int) -> float:
    """The lowest mean over sliding windows of ``window`` confidences (all of them when fewer)."""
    if not confs:
        return 0.0
    if len(confs) <= window:
        return float(np.mean(confs))
    c = np.cumsum(np.concatenate([[0.0], np.asarray(confs, dtype=np.float64)]))
    return float(((c[window:] - c[:-window]) / window).min())


class Confidence:
    """The per-step monitor: token confidences per trace; stops a trace below ``threshold`` (online)."""

    def __init__(self, gen: Any, *, k: int, window: int, threshold: float | None = None) -> None:
        self.gen, self.k, self.window, self.threshold = gen, k, window, threshold
        self.confs: dict[int, list[float]] = defaultdict(list)
        self._win: dict[int, deque[float]] = {}
        self.stopped: dict[int, int] = {}

    def __call__(self, index: int, state: Any, session: Any) -> None:
        c = token_confidence(session.logits(), self.k, self.gen.tokenizer.vocab_size)
        self.confs[index].append(c)
        win = self._win.setdefault(index, deque(maxlen=self.window))
        win.append(c)
        full = self.threshold is not None and len(win) == self.window
        if full and sum(win) / self.window < self.threshold and state.stop("stopped"):
            self.stopped[index] = state.thinking_tokens

    def trace_confidence(self, index: int) -> float:
        return lowest_group(self.confs[index], self.window)


def _params(s: Any) -> dict[str, Any]:
    p = s.params
    out = {
        "mode": str(p.get("mode", "online")),
        "traces": int(p.get("traces", TRACES)),
        "warmup": int(p.get("warmup", WARMUP)),
        "window": int(p.get("window", WINDOW)),
        "top_k": int(p.get("top_k", TOP_K)),
        "keep": float(p.get("keep", KEEP)),
        "consensus": float(p.get("consensus", CONSENSUS)),
        "chunk": int(p.get("chunk", 0)),
    }
    if out["mode"] not in MODES:
        raise S1kitError(f"deepconf mode {out['mode']!r}: expected one of {list(MODES)}")
    if out["mode"] == "online" and not 1 <= out["warmup"] < out["traces"]:
        raise S1kitError(
            f"deepconf online: warm-up {out['warmup']} must be >= 1 and below traces {out['traces']}"
        )
    if not 0 < out["keep"] <= 1:
        raise S1kitError(f"deepconf keep {out['keep']}: expected a fraction in (0, 1]")
    if not 0 <= out["consensus"] <= 1:
        raise S1kitError(f"deepconf consensus {out['consensus']}: expected a share in [0, 1] (0: off)")
    if out["chunk"] < 0:
        raise S1kitError(f"deepconf chunk {out['chunk']}: expected traces per check >= 1 (0: the batch)")
    return out


def _generate(
    gen: Any, prompts: list[str], s: Any, sps: list[SamplingParams], c: Any, n: int, first: int, mon: Any
):
    """Traces ``first`` … ``first + n - 1`` of every prompt (prompt-major), each with its own seed."""
    many = [p for p in prompts for _ in range(n)]
    seeds = [reseeded(sps[i], "deepconf", first + j) for i in range(len(prompts)) for j in range(n)]
    outs = gen.generate_batch(many, s.budget, seeds, mode="loop", rendered=True, monitor=mon)
    return [outs[i * n : (i + 1) * n] for i in range(len(prompts))]


def deepconf(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """N budget-forced traces per question, filtered and voted by confidence (offline or online)."""
    p = _params(s)
    if c.mode != "loop" or not getattr(gen.engine, "max_batch", 0):
        raise S1kitError(
            "deepconf reads every step's top-k log-probabilities: it needs step-level decoding "
            f"(the llamacpp or hf backend in loop mode), not {gen.engine.name} in {c.mode} mode"
        )
    if any(x.greedy for x in sp):
        raise S1kitError("deepconf draws many traces per question: give --temperature > 0")
    t0 = time.perf_counter()
    first_n = p["warmup"] if p["mode"] == "online" else p["traces"]
    warm_mon = Confidence(gen, k=p["top_k"], window=p["window"])
    warm = _generate(gen, prompts, s, sp, c, first_n, 0, warm_mon)
    results = []
    for i, outs in enumerate(warm):
        confs = [warm_mon.trace_confidence(i * first_n + j) for j in range(first_n)]
        traces = [_trace(o, cf, stopped=False) for o, cf in zip(outs, confs, strict=True)]
        results.append((outs, traces))
    thresholds: list[float | None] = [None] * len(prompts)
    if p["mode"] == "online":
        for i, (_, traces) in enumerate(results):
            thresholds[i] = float(np.quantile([t["confidence"] for t in traces], 1 - p["keep"]))
        chunk = p["chunk"] or max(1, int(gen.engine.max_batch))
        # one threshold per question: each question's adaptive traces with its own monitor, a chunk at
        # a time until the vote reaches consensus or the traces run out
        for i, prompt in enumerate(prompts):
            outs, traces = results[i]
            while len(traces) < p["traces"] and not _consensus(traces, p):
                n = min(chunk, p["traces"] - len(traces))
                mon = Confidence(gen, k=p["top_k"], window=p["window"], threshold=thresholds[i])
                (more,) = _generate(gen, [prompt], s, [sp[i]], c, n, len(traces), mon)
                outs += more
                traces += [
                    _trace(o, mon.trace_confidence(j), stopped=j in mon.stopped) for j, o in enumerate(more)
                ]
    seconds = time.perf_counter() - t0
    return [
        _combine(outs, traces, p, thresholds[i], seconds / len(prompts))
        for i, (outs, traces) in enumerate(results)
    ]


def _trace(o: Completion, confidence: float, *, stopped: bool) -> dict[str, Any]:
    from s1kit.grading.vote import answer_of  # the voter's reading of an answer

    return {
        "thinking_tokens": o.thinking_tokens,
        "confidence": round(confidence, 6),
        "answer": None if stopped else answer_of(o.answer[-2000:]),  # as the voter reads it
        "stopped": stopped,
    }


def vote_share(traces: Sequence[dict[str, Any]], kept: Sequence[int], winner: str | None) -> float:
    """The share of the kept traces' confidence that gave the voted answer (0 when nothing votes)."""
    total = sum(traces[i]["confidence"] for i in kept)
    if winner is None or total <= 0:
        return 0.0
    return sum(traces[i]["confidence"] for i in kept if traces[i]["answer"] == winner) / total


def live_share(traces: Sequence[dict[str, Any]]) -> float:
    """The consensus DeepConf online stops on: the leading answer's share of the confidence of every
    trace not stopped so far, warm-up included (the threshold filter decides the final vote, not this)."""
    from s1kit.grading.vote import vote

    live = [i for i, t in enumerate(traces) if not t["stopped"]]
    winner = vote(
        [traces[i]["answer"] for i in live], weights=[traces[i]["confidence"] for i in live], extract=False
    )
    return vote_share(traces, live, winner)


def _consensus(traces: list[dict[str, Any]], p: dict[str, Any]) -> bool:
    return p["consensus"] > 0 and live_share(traces) >= p["consensus"]


def kept_traces(
    traces: Sequence[dict[str, Any]], mode: str, keep: float, threshold: float | None
) -> list[int]:
    """Indices of the traces that vote: the top ``keep`` fraction (offline) or those at or above the
    threshold and not stopped (online)."""
    if mode == "online":
        return [i for i, t in enumerate(traces) if not t["stopped"] and t["confidence"] >= (threshold or 0.0)]
    n = max(1, math.ceil(keep * len(traces)))
    order = sorted(range(len(traces)), key=lambda i: -traces[i]["confidence"])
    return sorted(order[:n])


def _combine(
    outs: list[Completion],
    traces: list[dict[str, Any]],
    p: dict[str, Any],
    threshold: float | None,
    secs: float,
) -> Completion:
    from s1kit.grading.vote import vote  # the grader's clustering: equivalent answers vote together

    kept = kept_traces(traces, p["mode"], p["keep"], threshold)
    for i, t in enumerate(traces):
        t["kept"] = i in kept
    winner = vote(
        [traces[i]["answer"] for i in kept], weights=[traces[i]["confidence"] for i in kept], extract=False
    )
    pool = (
        [i for i in kept if winner is not None and traces[i]["answer"] == winner]
        or kept
        or [i for i, t in enumerate(traces) if not t["stopped"]]
        or list(range(len(traces)))
    )
    best = max(pool, key=lambda i: traces[i]["confidence"])
    return with_info(
        outs[best],
        **{k: v for k, v in p.items() if k != "traces"},
        n_traces=len(traces),
        max_traces=p["traces"],
        consensus_share=round(live_share(traces), 4),
        threshold=threshold,
        voted=winner,
        chosen=best,
        n_stopped=sum(t["stopped"] for t in traces),
        n_kept=len(kept),
        traces=traces,
        compute_tokens=sum(t["thinking_tokens"] for t in traces),
        wall_seconds=round(secs, 4),
    )
