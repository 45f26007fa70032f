"""transformers backend: batched decoding with a KV cache and per-sequence forcing state.

The decoding loop is s1kit's own (so forcing happens between steps without re-reading the prompt);
rows are left-padded, and rolling a row back masks its last positions out of attention.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache, GenerationConfig, StoppingCriteria

from s1kit.backends.base import RoundResult, stop_suffix
from s1kit.errors import S1kitError
from s1kit.backends.models import ModelSpec, gguf_to_hf
from s1kit.generation.sampling import SamplingParams
from s1kit.backends.tokenizer import HFTokenizer


def default_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class HFEngine:
    name = "hf"

    def __init__(self, model: Any, tokenizer: Any, *, model_name: str = "model", max_batch: int = 16) -> None:
        self.model = model.eval()
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        extra = [gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])
        self.tokenizer = HFTokenizer(tokenizer, extra_eos=extra)
        self.model_name = model_name
        self.max_batch = max_batch
        cfg = model.config
        self.context_length = int(getattr(cfg, "max_position_embeddings", 0) or 2048)
        self.device = next(model.parameters()).device
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)

    @classmethod
    def from_objects(cls, model: Any, tokenizer: Any, **kwargs: Any) -> HFEngine:
        """Wrap an already-built model and tokenizer (tests build tiny ones from a config)."""
        return cls(model, tokenizer, **kwargs)

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, *, device: str | None = None, dtype: str | None = None, max_batch: int = 16
    ) -> HFEngine:
        path = gguf_to_hf(spec.path) if spec.kind == "gguf" else spec.path
        device = device or default_device()
        torch_dtype = _dtype(dtype, device)
        try:
            tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype).to(device)
        except (OSError, ValueError, KeyError) as e:
            raise S1kitError(
                f"{path} could not be loaded as a causal language model: {str(e).splitlines()[0]}"
            ) from e
        return cls(model, tok, model_name=spec.name, max_batch=max_batch)

    # -- step-level access -----------------------------------------------------------------------
    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> HFSession:
        return HFSession(self, prompts)

    # -- generate until a stop (round by round), through transformers' own generate() -------------
    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult:
        room = self.context_length - len(prompt)
        n = min(max_tokens, room)
        if n <= 0:
            return RoundResult([], length=True)
        ids = torch.tensor([list(prompt)], device=self.device)
        cfg = GenerationConfig(
            max_new_tokens=n,
            do_sample=not sampling.greedy,
            temperature=sampling.temperature if not sampling.greedy else None,
            top_p=sampling.top_p if not sampling.greedy else None,
            top_k=sampling.top_k if not sampling.greedy else None,  # 0 disables top-k
            pad_token_id=self._pad,
            eos_token_id=None,
        )
        vocab_rows = self.model.get_output_embeddings().weight.shape[0]
        if vocab_rows > self.tokenizer.vocab_size:
            cfg.suppress_tokens = list(range(self.tokenizer.vocab_size, vocab_rows))
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                generation_config=cfg,
                stopping_criteria=[_StopOnSequences(stop)],
            )
        tokens = out[0, len(prompt) :].tolist()
        return RoundResult(tokens, length=len(tokens) == room and len(tokens) < max_tokens)


class HFSession:
    """A batch of sequences sharing one DynamicCache; columns are positions in the cache."""

    def __init__(self, engine: HFEngine, prompts: Sequence[Sequence[int]]) -> None:
        self.engine = engine
        model, dev = engine.model, engine.device
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), engine._pad, dtype=torch.long)
        self.mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p) :] = torch.tensor(list(p), dtype=torch.long)
            self.mask[i, width - len(p) :] = 1
        self.lengths = [len(p) for p in prompts]
        self.fed_cols: list[list[int]] = [[] for _ in prompts]  # cache columns of tokens fed after the prompt
        self.cache = DynamicCache(config=model.config)
        pos = (self.mask.cumsum(-1) - 1).clamp(min=0)
        self._last = self._forward(ids.to(dev), pos.to(dev))

    def _forward(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        kwargs = {self.engine._cache_kw: self.cache}
        with torch.inference_mode():
            out = self.engine.model(
                input_ids=ids,
                attention_mask=self.mask.to(self.engine.device),
                position_ids=pos,
                use_cache=True,
                logits_to_keep=1,
                **kwargs,
            )
        return out.logits[:, -1, :].float()

    def logits(self, i: int) -> torch.Tensor:
        return self._last[i]

    def step(self, tokens: Sequence[int | None]) -> None:
        col = self.mask.shape[1]
        fed = torch.tensor([t is not None for t in tokens], dtype=torch.long)
        ids = torch.tensor([[self.engine._pad if t is None else t] for t in tokens], dtype=torch.long)
        pos = torch.tensor([[self.lengths[i]] for i in range(len(tokens))], dtype=torch.long)
        self.mask = torch.cat([self.mask, fed[:, None]], dim=1)
        for i, t in enumerate(tokens):
            if t is not None:
                self.lengths[i] += 1
                self.fed_cols[i].append(col)
        dev = self.engine.device
        self._last = self._forward(ids.to(dev), pos.to(dev))

    def rollback(self, i: int, k: int) -> None:
        for _ in range(k):
            self.mask[i, self.fed_cols[i].pop()] = 0
            self.lengths[i] -= 1

    def length(self, i: int) -> int:
        return self.lengths[i]

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        saved = self._last.clone()
        vocab = self.engine.tokenizer.vocab_size
        n = len(self.fed_cols[i])
        others: list[int | None] = [None] * len(self.lengths)
        out: list[int] = []

        def feed(token: int) -> None:
            others[i] = token
            self.step(others)
            others[i] = None

        try:
            for t in forced:
                feed(t)
            for _ in range(max_new):
                if self.lengths[i] >= self.engine.context_length:
                    break
                token = int(self._last[i, :vocab].argmax())
                if token in stop:
                    break
                out.append(token)
                feed(token)
        finally:
            self.rollback(i, len(self.fed_cols[i]) - n)
            self._last = saved
        return out

    def close(self) -> None:
        self.cache = None  # type: ignore[assignment]
        self._last = None  # type: ignore[assignment]


class _StopOnSequences(StoppingCriteria):
    def __init__(self, stop: Sequence[Sequence[int]]) -> None:
        self.stop = stop
        self.tail = max((len(s) for s in stop), default=0)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        hit = bool(self.tail) and stop_suffix(input_ids[0, -self.tail :].tolist(), self.stop)
        return torch.full((input_ids.shape[0],), hit, dtype=torch.bool, device=input_ids.device)


def _dtype(name: str | None, device: str) -> torch.dtype:
    if name is None:
        if device == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise S1kitError(f"unknown dtype {name!r}: expected float32, bfloat16 or float16") from None


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()
