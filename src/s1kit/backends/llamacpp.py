"""llama.cpp backend (llama-cpp-python): GGUF models on CPU or GPU.

Step-level access uses ``Llama.eval`` and reads the last logits from the context, so forcing happens
between steps without re-reading the prompt; rollback truncates the KV cache. ``complete`` runs the
engine's own ``Llama.generate`` loop (its C sampler), reusing the cached prefix unless told not to.
One sequence at a time (``max_batch = 1``): the high-level API holds one sequence per context.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import llama_cpp
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment

from s1kit.backends.base import RoundResult, stop_suffix
from s1kit.errors import S1kitError
from s1kit.backends.models import ModelSpec
from s1kit.generation.sampling import SamplingParams


class LlamaTokenizer:
    """The s1kit tokenizer surface over llama.cpp's own vocabulary."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.llm = llm
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self.vocab_size = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.special_ids = frozenset(
            i for i in range(self.vocab_size) if llama_cpp.llama_vocab_is_control(vocab, i)
        )
        eos = {int(llama_cpp.llama_vocab_eos(vocab)), int(llama_cpp.llama_vocab_eot(vocab))}
        self.eos_ids = frozenset(i for i in eos if 0 <= i < self.vocab_size)
        self.template = llm.metadata.get("tokenizer.chat_template")
        self._bos = self._piece(int(llama_cpp.llama_vocab_bos(vocab)))
        self._eos = self._piece(int(llama_cpp.llama_vocab_eos(vocab)))

    def _piece(self, token: int) -> str:
        return self.decode([token]) if 0 <= token < self.vocab_size else ""

    def encode(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def encode_text(self, text: str) -> list[int]:
        """``text`` as plain text: control-token strings in it stay text (never a forged turn)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, ids: Sequence[int]) -> str:
        return self.llm.detokenize(list(ids), special=True).decode("utf-8", errors="replace")

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if not self.template:
            raise S1kitError("the GGUF file has no chat template (tokenizer.chat_template)")
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        return env.from_string(self.template).render(
            messages=messages, add_generation_prompt=True, bos_token=self._bos, eos_token=self._eos
        )


class LlamaCppEngine:
    name = "llamacpp"
    max_batch = 1

    def __init__(self, llm: llama_cpp.Llama, *, model_name: str = "model") -> None:
        self.llm = llm
        self.tokenizer = LlamaTokenizer(llm)
        self.model_name = model_name
        self.context_length = int(llm.n_ctx())
        self._n_vocab = int(llm.n_vocab())

    @classmethod
    def from_spec(
        cls,
        spec: ModelSpec,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        **_: Any,
    ) -> LlamaCppEngine:
        if spec.kind != "gguf":
            raise S1kitError(
                f"the llamacpp backend needs a .gguf file; {spec.path} is a transformers folder (use --backend hf)"
            )
        threads = n_threads or max(1, os.cpu_count() or 1)
        try:
            llm = llama_cpp.Llama(
                model_path=str(spec.path),
                n_ctx=n_ctx or 8192,
                n_threads=threads,
                n_threads_batch=threads,  # its default (all cores) makes prefill crawl on a busy machine
                n_gpu_layers=n_gpu_layers,
                logits_all=False,
                verbose=False,
            )
        except ValueError as e:
            raise S1kitError(f"llama.cpp could not load {spec.path}: {e}") from e
        return cls(llm, model_name=spec.name)

    # -- step-level access -----------------------------------------------------------------------
    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> LlamaSession:
        if len(prompts) != 1:
            raise S1kitError("the llamacpp backend decodes one sequence at a time")
        return LlamaSession(self, list(prompts[0]))

    def last_logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self._n_vocab,)).copy()

    def prefill(self, ids: list[int], *, reuse_cache: bool = True) -> None:
        """Evaluate ``ids``, reusing the longest cached prefix (always re-evaluating the last token)."""
        llm = self.llm
        keep = 0
        if reuse_cache:
            cached = llm.input_ids[: llm.n_tokens].tolist()
            while keep < min(len(cached), len(ids) - 1) and cached[keep] == ids[keep]:
                keep += 1
        llm.n_tokens = keep
        llm.eval(ids[keep:])

    # -- generate until a stop (round by round) through llama-cpp-python's own loop --------------
    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
        reuse_cache: bool = True,
    ) -> RoundResult:
        room = self.context_length - len(prompt)
        n = min(max_tokens, room)
        if n <= 0:
            return RoundResult([], length=True)
        if not reuse_cache:
            self.llm.reset()
        if sampling.seed is not None:
            self.llm.set_seed(sampling.seed)
        out: list[int] = []
        gen = self.llm.generate(
            list(prompt),
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        for token in gen:
            out.append(int(token))
            if stop_suffix(out, stop) or len(out) >= n:
                break
        gen.close()
        return RoundResult(out, length=len(out) == room and len(out) < max_tokens)


class LlamaSession:
    def __init__(self, engine: LlamaCppEngine, prompt: list[int]) -> None:
        self.engine = engine
        engine.prefill(prompt)
        self._logits = engine.last_logits()

    def logits(self, i: int) -> np.ndarray:
        return self._logits

    def step(self, tokens: Sequence[int | None]) -> None:
        token = tokens[0]
        if token is None:
            return
        self.engine.llm.eval([token])
        self._logits = self.engine.last_logits()

    def rollback(self, i: int, k: int) -> None:
        self.engine.llm.n_tokens -= k  # the next eval drops those cache cells

    def length(self, i: int) -> int:
        return int(self.engine.llm.n_tokens)

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        llm, saved_n, saved_logits = self.engine.llm, self.engine.llm.n_tokens, self._logits
        vocab = self.engine.tokenizer.vocab_size
        out: list[int] = []
        try:
            if forced:
                llm.eval(list(forced))
            for _ in range(max_new):
                if llm.n_tokens >= self.engine.context_length:
                    break
                token = int(self.engine.last_logits()[:vocab].argmax())
                if token in stop:
                    break
                out.append(token)
                llm.eval([token])
        finally:
            llm.n_tokens = saved_n  # the next eval drops the branch's cache cells
            self._logits = saved_logits
        return out

    def close(self) -> None:
        pass
