"""A scripted deterministic backend: the real Generator and forcing over an engine whose "model"
follows a script, so method tests know exactly what must happen.

Each ``open`` takes the next script (thinking text, answer text): the session's logits put all mass on
the script's next thinking token, then on the format's end-of-thinking stop, then on the answer and
end of turn. Forced tokens (delimiter, primer, "Wait", markers) do not advance the script. ``branch``
returns the next scripted probe answer and leaves the main sequence untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from s1kit.generation.sampling import SamplingParams


@dataclass
class Script:
    thinking: str
    answer: str = " 42"


@dataclass
class Counters:
    opens: int = 0
    prompt_tokens_read: int = 0
    steps: int = 0
    branches: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (main length, forced)
    prompts: list[str] = field(default_factory=list)  # decoded prompts, in order


class ScriptedEngine:
    name = "scripted"
    model_name = "scripted"
    context_length = 4096

    def __init__(
        self, tokenizer, fmt_ids, scripts: Sequence[Script], probes: Sequence[str] = (), *, max_batch=1
    ):
        self.tokenizer = tokenizer
        self.fmt_ids = fmt_ids
        self.scripts = list(scripts)
        self.probes = list(probes)
        self.max_batch = max_batch
        self.counters = Counters()

    def open(self, prompts, sampling: SamplingParams):
        assert len(prompts) == 1
        self.counters.opens += 1
        self.counters.prompt_tokens_read += len(prompts[0])
        self.counters.prompts.append(self.tokenizer.decode(list(prompts[0])))
        return ScriptedSession(self, list(prompts[0]), self.scripts.pop(0))

    def complete(self, prompt, *, max_tokens, stop, sampling):  # pragma: no cover - not step-level
        raise NotImplementedError


class ScriptedSession:
    def __init__(self, engine: ScriptedEngine, prompt: list[int], script: Script) -> None:
        tok = engine.tokenizer
        self.engine = engine
        self.prompt = prompt
        self.think = tok.encode(script.thinking) + list(engine.fmt_ids.stop_seqs[0])
        self.answer = tok.encode(script.answer) + [min(engine.fmt_ids.answer_stops)]
        self.fed: list[tuple[int, str]] = []  # (token, which script advanced: "think", "answer", "")

    def _pos(self, which: str) -> int:
        return sum(1 for _, w in self.fed if w == which)

    def _in_answer(self) -> bool:
        end = list(self.engine.fmt_ids.think_end)
        toks = [t for t, _ in self.fed]
        return any(toks[i : i + len(end)] == end for i in range(len(toks) - len(end) + 1))

    def _next(self) -> int:
        if self._in_answer():
            p = self._pos("answer")
            return self.answer[min(p, len(self.answer) - 1)]
        p = self._pos("think")
        return self.think[min(p, len(self.think) - 1)]

    def logits(self, i: int) -> np.ndarray:
        x = np.full(self.engine.tokenizer.vocab_size, -1e4, dtype=np.float32)
        x[self._next()] = 0.0
        return x

    def step(self, tokens) -> None:
        t = tokens[0]
        if t is None:
            return
        self.engine.counters.steps += 1
        which = ""
        if t == self._next():
            which = "answer" if self._in_answer() else "think"
        self.fed.append((t, which))

    def rollback(self, i: int, k: int) -> None:
        del self.fed[len(self.fed) - k :]

    def length(self, i: int) -> int:
        return len(self.prompt) + len(self.fed)

    def branch(self, i, forced, *, max_new, stop):
        self.engine.counters.branches.append((len(self.fed), tuple(forced)))
        text = self.engine.probes.pop(0) if self.engine.probes else ""
        return self.engine.tokenizer.encode(text)[:max_new]

    def close(self) -> None:
        pass


def scripted_generator(smol_tokenizer, scripts, probes=(), *, format="r1", max_batch=1):
    from s1kit.generation.generator import Generator
    from s1kit.backends.tokenizer import HFTokenizer

    tok = HFTokenizer(smol_tokenizer)
    from s1kit.forcing.formats import get_format

    engine = ScriptedEngine(tok, get_format(format).ids(tok), scripts, probes, max_batch=max_batch)
    return Generator(engine, format)
