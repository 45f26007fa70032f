"""A scripted deterministic backend: the real Generator and forcing over an engine whose "model"
follows a script, so method tests know exactly what must happen.

Each row added to a session takes the next script (thinking text, answer text): its logits put all mass on
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
    """``unsure``: thinking positions [start, end) where the model is unsure: the script's token still
    wins (logit 12 against 0 for every other token: a greedy or low-temperature draw picks it) but
    its log-probability and the top-k confidence are low. Elsewhere the next token is certain."""

    thinking: str
    answer: str = " 42"
    unsure: tuple[int, int] | None = None


@dataclass
class Counters:
    opens: int = 0
    prompt_tokens_read: int = 0
    steps: int = 0
    branches: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (main length, forced)
    prompts: list[str] = field(default_factory=list)  # decoded prompts, in order


class ScriptedEngine:
    """Step-level access as the decoding loop uses it: one session whose rows join (``add``: each takes
    the next script, in order) and leave (``remove``). ``counters.opens`` counts prompts read."""

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
        session = ScriptedSession(self)
        if prompts:
            session.add(prompts)
        return session

    def complete(self, prompt, *, max_tokens, stop, sampling):  # pragma: no cover - not step-level
        raise NotImplementedError


class ScriptedRow:
    def __init__(self, engine: ScriptedEngine, prompt: list[int], script: Script) -> None:
        tok = engine.tokenizer
        self.engine = engine
        self.prompt = prompt
        self.think = tok.encode(script.thinking) + list(engine.fmt_ids.stop_seqs[0])
        self.answer = tok.encode(script.answer) + [min(engine.fmt_ids.answer_stops)]
        self.fed: list[tuple[int, str]] = []  # (token, which script advanced: "think", "answer", "")
        self.unsure = script.unsure

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

    def logits(self) -> np.ndarray:
        pos = self._pos("think")
        if self.unsure and not self._in_answer() and self.unsure[0] <= pos < self.unsure[1]:
            x = np.zeros(self.engine.tokenizer.vocab_size, dtype=np.float32)
            x[self._next()] = 12.0
            return x
        x = np.full(self.engine.tokenizer.vocab_size, -1e4, dtype=np.float32)
        x[self._next()] = 0.0
        return x

    def feed(self, t: int) -> None:
        self.engine.counters.steps += 1
        which = ""
        if t == self._next():
            which = "answer" if self._in_answer() else "think"
        self.fed.append((t, which))


class ScriptedSession:
    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine
        self.rows: dict[int, ScriptedRow] = {}
        self._next_id = 0

    def add(self, prompts) -> list[int]:
        ids = []
        for prompt in prompts:
            c = self.engine.counters
            c.opens += 1
            c.prompt_tokens_read += len(prompt)
            c.prompts.append(self.engine.tokenizer.decode(list(prompt)))
            self.rows[self._next_id] = ScriptedRow(self.engine, list(prompt), self.engine.scripts.pop(0))
            ids.append(self._next_id)
            self._next_id += 1
        return ids

    def remove(self, rows) -> None:
        for r in rows:
            self.rows.pop(r, None)

    def logits(self, i: int) -> np.ndarray:
        return self.rows[i].logits()

    def step(self, tokens) -> None:
        items = tokens.items() if isinstance(tokens, dict) else enumerate(tokens)
        for i, t in items:
            if t is not None:
                self.rows[i].feed(t)

    def rollback(self, i: int, k: int) -> None:
        fed = self.rows[i].fed
        del fed[len(fed) - k :]

    def length(self, i: int) -> int:
        return len(self.rows[i].prompt) + len(self.rows[i].fed)

    def branch(self, i, forced, *, max_new, stop):
        self.engine.counters.branches.append((len(self.rows[i].fed), tuple(forced)))
        text = self.engine.probes.pop(0) if self.engine.probes else ""
        return self.engine.tokenizer.encode(text)[:max_new]

    def close(self) -> None:
        self.rows.clear()


def scripted_generator(smol_tokenizer, scripts, probes=(), *, format="r1", max_batch=1):
    from s1kit.backends.tokenizer import HFTokenizer
    from s1kit.generation.generator import Generator

    tok = HFTokenizer(smol_tokenizer)
    from s1kit.forcing.formats import get_format

    engine = ScriptedEngine(tok, get_format(format).ids(tok), scripts, probes, max_batch=max_batch)
    return Generator(engine, format)
