"""llama.cpp backend (llama-cpp-python): GGUF models on CPU or GPU.

Step-level access holds many rows in one llama.cpp context (:mod:`s1kit.backends.llamacpp_session`:
one ``llama_batch`` per step, a sequence id per row, per-row logits, rollback by removing a row's last
cache cells, side branches on copied cells, prompts prefilled once and shared), so forcing happens
between steps without re-reading the prompt and ``max_batch`` rows decode together. ``complete`` runs
the engine's own ``Llama.generate`` loop (its C sampler) on sequence 0 of the same context, reusing the
cached prefix unless told not to.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from s1kit.backends.base import RoundResult, stop_suffix
from s1kit.backends.llamacpp_session import LlamaSession, SeqPool
from s1kit.backends.models import ModelSpec
from s1kit.backends.tokenizer import ChatTokenizer
from s1kit.errors import S1kitError
from s1kit.generation.sampling import SamplingParams


class LlamaTokenizer(ChatTokenizer):
    """The s1kit tokenizer surface over llama.cpp's own vocabulary.

    End-of-turn ids come from the GGUF metadata (``tokenizer.ggml.eos/eot/eom_token_id``) and the chat
    template (:class:`~s1kit.backends.tokenizer.ChatTokenizer`), not from llama.cpp's guesses by token
    text, so they are the same as for the same model loaded with transformers.
    """

    def __init__(self, llm: llama_cpp.Llama, *, source: Path | None = None) -> None:
        self.llm = llm
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self.vocab_size = int(llama_cpp.llama_vocab_n_tokens(vocab))
        # Control and user-defined tokens: what transformers calls special and added tokens (llama.cpp
        # marks some control tokens user-defined, harmony's <|start|>, <|message|>, <|channel|>...).
        marked = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        attrs = [llama_cpp.llama_vocab_get_attr(vocab, i) for i in range(self.vocab_size)]
        self.special_ids = frozenset(i for i, a in enumerate(attrs) if a & marked)
        self.control_ids = frozenset(i for i, a in enumerate(attrs) if a & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)
        meta = llm.metadata
        eos = {int(llama_cpp.llama_vocab_eos(vocab))}
        for key in (
            "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id",
        ):
            if str(meta.get(key, "")).isdigit():
                eos.add(int(meta[key]))
        self.config_eos_ids = frozenset(i for i in eos if 0 <= i < self.vocab_size)
        self.source = source
        bos = int(llama_cpp.llama_vocab_bos(vocab))
        self.adds_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab)) and 0 <= bos < self.vocab_size
        self.special_tokens = {
            "bos_token": self._piece(bos),
            "eos_token": self._piece(int(llama_cpp.llama_vocab_eos(vocab))),
        }
        self.chat_template = meta.get("tokenizer.chat_template")

    def _piece(self, token: int) -> str:
        return self.decode([token]) if 0 <= token < self.vocab_size else ""

    def encode(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def encode_text(self, text: str) -> list[int]:
        """``text`` as plain text: control-token strings in it stay text (never a forged turn)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, ids: Sequence[int]) -> str:
        return self.llm.detokenize(list(ids), special=True).decode("utf-8", errors="replace")


MIN_CELLS = 64  # cells each row needs at least: a batch larger than n_ctx / MIN_CELLS is refused
RESERVED_SEQS = 3  # sequence 0 (the Llama object), a spare for side branches, retired cells


def default_max_batch(n_ctx: int) -> int:
    """Rows decoded together when not set: a quarter-kilotoken of cache per row, 1 to 64."""
    return max(1, min(64, n_ctx // 256))


class LlamaCppEngine:
    name = "llamacpp"

    def __init__(
        self,
        llm: llama_cpp.Llama,
        *,
        model_name: str = "model",
        max_batch: int | None = None,
        cache_slots: int | None = None,
        cache_bytes: int = 512 << 20,
    ) -> None:
        self.llm = llm
        self.tokenizer = LlamaTokenizer(llm)
        self.model_name = model_name
        n_ctx = int(llm.n_ctx())
        self.max_batch = check_max_batch(max_batch, n_ctx)
        self.pool = SeqPool(
            llm,
            n_seq=self.max_batch + RESERVED_SEQS,
            n_batch=min(n_ctx, max(512, self.max_batch)),  # llama.cpp clamps its own to n_ctx
            cache_slots=max(16, 2 * self.max_batch) if cache_slots is None else cache_slots,
            cache_bytes=cache_bytes,
        )
        self.context_length = self.pool.n_ctx
        self._n_vocab = int(llm.n_vocab())

    @classmethod
    def from_spec(
        cls,
        spec: ModelSpec,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        max_batch: int | None = None,
        **_: Any,
    ) -> LlamaCppEngine:
        if spec.kind != "gguf":
            raise S1kitError(
                f"the llamacpp backend needs a .gguf file; {spec.path} is a transformers folder (use --backend hf)"
            )
        n_ctx = n_ctx or 8192
        if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < MIN_CELLS:
            raise S1kitError(f"--n-ctx={n_ctx!r} is too small: expected an integer >= {MIN_CELLS} tokens")
        check_max_batch(max_batch, n_ctx)  # before loading: a bad option costs no load time
        threads = n_threads or max(1, os.cpu_count() or 1)
        try:
            llm = llama_cpp.Llama(
                model_path=str(spec.path),
                n_ctx=n_ctx,
                # llama.cpp clamps the context's batch to n_ctx; a larger one asserts
                n_batch=min(512, n_ctx),
                n_threads=threads,
                n_threads_batch=threads,  # its default (all cores) makes prefill crawl on a busy machine
                n_gpu_layers=n_gpu_layers,
                logits_all=False,
                verbose=False,
            )
        except ValueError as e:
            raise S1kitError(f"llama.cpp could not load {spec.path}: {e}") from e
        return cls(llm, model_name=spec.name, max_batch=max_batch)

    # -- step-level access: many rows in one context ---------------------------------------------
    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> LlamaSession:
        session = LlamaSession(self.pool, [], capacity=self.max_batch)
        session.engine_vocab = self.tokenizer.vocab_size
        if prompts:
            session.add(prompts)
        return session

    def last_logits(self) -> np.ndarray:
        """Logits after the last ``llm.eval`` (sequence 0, the high-level API)."""
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self._n_vocab,)).copy()

    def prefill(self, ids: list[int], *, reuse_cache: bool = True) -> None:
        """Evaluate ``ids`` on sequence 0, reusing the longest cached prefix (always re-evaluating the last token)."""
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


def check_max_batch(max_batch: int | None, n_ctx: int) -> int:
    """``max_batch`` checked against the context (``None``: sized to it); a one-line error otherwise."""
    if max_batch is None:
        return default_max_batch(n_ctx)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise S1kitError(f"--max-batch={max_batch} is invalid: expected an integer >= 1")
    limit = int(llama_cpp.llama_max_parallel_sequences()) - RESERVED_SEQS
    allowed = min(limit, n_ctx // MIN_CELLS)
    if max_batch > allowed:
        raise S1kitError(
            f"--max-batch={max_batch} is more than a context of {n_ctx} tokens allows "
            f"(at most {allowed}: {MIN_CELLS} cache cells per row, {limit} sequences); "
            "lower --max-batch or raise --n-ctx"
        )
    return max_batch
