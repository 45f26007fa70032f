"""Early exit: stop thinking once the answer has settled.

Every ``probe_every`` (K) thinking tokens the model is asked for its answer on a side branch: the
end-of-thinking delimiter and the answer primer ("Final Answer:") are fed on top of the current
state and up to ``probe_tokens`` tokens are decoded greedily; then the branch is dropped and the main
sequence continues exactly where it was (:meth:`DecodeSession.branch`: llama.cpp truncates its KV
cache, transformers masks the branch's cache columns). A probe never re-reads the prompt: it costs
its own forced and generated tokens only. Answers are compared after ``s1kit.grading.judge`` extraction
and normalisation; once the last ``probe_agree`` (M) probes give the same answer, thinking ends with
the forced delimiter and primer (event ``early_exit``), and the model answers as usual.

``probe_text`` replaces the delimiter and primer by a text fed *inside* the thinking, as Dynasor
(Fu et al., 2024, "Efficiently Serving LLM Reasoning Programs with Certaindex") probes: the value
``dynasor`` is its probe, "... Oh, I suddenly got the answer to the whole problem, **Final
Answer**\n\n\\[ \\boxed{". The probe's answer is read from the probe text plus what the model wrote, and,
as in Dynasor, an answer written with a hesitation word ("wait", "hmm" …) counts as no answer. Dynasor's
own settings are K = 32 … 64 tokens, M = 3 agreeing probes, 20-token probes.

Within the budget's maximum, early exit can only shorten thinking; the record's ``method_info``
holds every probe (position, answer), the probes' token and time overhead, and the thinking tokens
saved against the cap.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.methods.outcome import answer_key, with_info

PROBE_EVERY, PROBE_AGREE, PROBE_TOKENS = 32, 2, 16
DYNASOR_PROBE = "... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{"
HESITATION = ("wait", "hold", "but", "okay", "no", "hmm")  # Dynasor's uncertain words


def probe_text_of(value: str | None) -> str | None:
    """The probe text an option names (``dynasor``: Dynasor's probe); None: delimiter and primer."""
    return DYNASOR_PROBE if value == "dynasor" else (value or None)


class Prober:
    """The per-step monitor: probe every K thinking tokens, end thinking when M probes agree.

    Args:
        gen: the Generator (its tokenizer decodes probes; its engine's batch size maps indices).
        every: K, thinking tokens between probes.
        agree: M, how many consecutive probes must give the same (non-empty) answer.
        max_tokens: answer tokens a probe may decode.
    """

    def __init__(
        self,
        gen: Any,
        *,
        every: int,
        agree: int,
        max_tokens: int,
        cap: int | None = None,
        probe_text: str | None = None,
    ) -> None:
        self.gen, self.every, self.agree, self.max_tokens, self.cap = gen, every, agree, max_tokens, cap
        self.probe_text = probe_text
        self._probe_ids = gen.tokenizer.encode(probe_text) if probe_text else None
        self.probes: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
        self.probe_tokens: dict[int, int] = defaultdict(int)
        self.probe_seconds: dict[int, float] = defaultdict(float)
        self.exited_at: dict[int, int] = {}
        self._next: dict[int, int] = {}

    def __call__(self, index: int, state: Any, session: Any) -> None:
        if state.thinking_tokens < self._next.setdefault(index, self.every):
            return
        self._next[index] = state.thinking_tokens + self.every
        key = self.probe(index, state, session)
        seen = self.probes[index]
        seen.append((state.thinking_tokens, key))
        last = [k for _, k in seen[-self.agree :]]
        settled = len(last) == self.agree and last[0] is not None and all(k == last[0] for k in last)
        if settled and state.end_thinking("early_exit"):
            self.exited_at[index] = state.thinking_tokens

    def probe(self, index: int, state: Any, session: Any) -> str | None:
        """The answer the model would give now, normalised (the main sequence is left untouched)."""
        if self._probe_ids is not None:
            forced = list(self._probe_ids)
        else:
            forced = list(state.plan.ids.think_end + state.plan.primer_ids)
        t0 = time.perf_counter()
        local = index % max(1, self.gen.engine.max_batch)  # sessions hold one chunk of max_batch prompts
        out = session.branch(local, forced, max_new=self.max_tokens, stop=state.plan.ids.answer_stops)
        self.probe_seconds[index] += time.perf_counter() - t0
        self.probe_tokens[index] += len(forced) + len(out)
        text = self.gen.tokenizer.decode(out)
        if self.probe_text is not None:
            words = set(re.findall(r"[a-z]+", text.lower()))
            return None if words & set(HESITATION) else answer_key(self.probe_text + text)
        return answer_key(state.budget.answer_primer + " " + text)

    def info(self, index: int, completion: Completion) -> dict[str, Any]:
        cap = self.cap
        exited = index in self.exited_at
        return {
            "probe_text": self.probe_text,
            "probe_every": self.every,
            "probe_agree": self.agree,
            "probes": [[pos, key] for pos, key in self.probes[index]],
            "n_probes": len(self.probes[index]),
            "probe_tokens": self.probe_tokens[index],
            "probe_seconds": round(self.probe_seconds[index], 6),
            "exited": exited,
            "saved_vs_cap": (cap - completion.thinking_tokens) if exited and cap is not None else 0,
        }


def early_exit(gen: Any, prompts: list[str], s: Any, sp: list[SamplingParams], c: Any) -> list[Completion]:
    """Budget forcing plus probes; needs step-level decoding (the llamacpp or hf backend)."""
    p = s.params
    prober = Prober(
        gen,
        every=int(p.get("probe_every", PROBE_EVERY)),
        agree=int(p.get("probe_agree", PROBE_AGREE)),
        max_tokens=int(p.get("probe_tokens", PROBE_TOKENS)),
        cap=s.budget.max_thinking_tokens if s.budget is not None else None,
        probe_text=probe_text_of(p.get("probe_text")),
    )
    outs = gen.generate_batch(prompts, s.budget, sp, mode=c.mode, rendered=True, monitor=prober)
    return [with_info(o, **prober.info(i, o)) for i, o in enumerate(outs)]
