"""transformers backend: batched decoding with a KV cache and per-sequence forcing state.

The decoding loop is s1kit's own (so forcing happens between steps without re-reading the prompt);
rows are left-padded, and rolling a row back masks its last positions out of attention.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    GenerationConfig,
    LogitsProcessor,
    StoppingCriteria,
)

from s1kit.backends.base import Feed, RoundResult, feed_items, stop_suffix
from s1kit.backends.models import ModelSpec, gguf_to_hf
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import S1kitError
from s1kit.generation.sampling import Sampler, SamplingParams


def default_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class HFEngine:
    name = "hf"

    def __init__(
        self, model: Any, tokenizer: Any, *, model_name: str = "model", max_batch: int | None = 16
    ) -> None:
        max_batch = 16 if max_batch is None else max_batch
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise S1kitError(f"--max-batch={max_batch} is invalid: expected an integer >= 1")
        self.model = model.eval()
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        extra = [gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])
        self.tokenizer = HFTokenizer(tokenizer, extra_eos=extra)
        self.model_name = model_name
        cfg = model.config
        # Rolling a row back masks its cache columns; caches that drop or fold old positions (sliding
        # windows, recurrent state) cannot be rolled back that way: those models force round by round
        # (transformers' own generate), and say why.
        self.no_step_reason = _no_step_reason(cfg)
        self.max_batch = 0 if self.no_step_reason else max_batch
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
        cls,
        spec: ModelSpec,
        *,
        device: str | None = None,
        dtype: str | None = None,
        max_batch: int | None = None,
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
        if self.no_step_reason:
            raise S1kitError(f"{self.model_name}: {self.no_step_reason}; use --mode rounds")
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
        cfg = GenerationConfig(max_new_tokens=n, do_sample=False, pad_token_id=self._pad, eos_token_id=None)
        vocab_rows = self.model.get_output_embeddings().weight.shape[0]
        if vocab_rows > self.tokenizer.vocab_size:
            cfg.suppress_tokens = list(range(self.tokenizer.vocab_size, vocab_rows))
        # Sampling is s1kit's Sampler with a round's own seed (derived from the seed and where the round
        # starts), so rounds never replay one random stream and torch's global RNG is left alone.
        processors = []
        if not sampling.greedy:
            seed = None if sampling.seed is None else hash((sampling.seed, len(prompt))) % (2**63)
            sampler = Sampler(replace(sampling, seed=seed), self.tokenizer.vocab_size)
            processors.append(_SampleWith(sampler))
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                generation_config=cfg,
                logits_processor=processors,
                stopping_criteria=[_StopOnSequences(stop)],
            )
        tokens = out[0, len(prompt) :].tolist()
        return RoundResult(tokens, length=len(tokens) == room and len(tokens) < max_tokens)


class HFSession:
    """Rows sharing one DynamicCache, left-padded; columns are positions in the cache.

    Rows join (:meth:`add`: the new prompts are prefilled on their own — identical prompts once, the
    cache expanded to their copies — then merged by left-padding the narrower side) and leave
    (:meth:`remove`: their cache rows are dropped at once, and columns no row attends to any more are
    cut from the left). Rolling a row back masks its last columns out of attention. The mask and the
    logits stay on the device; :meth:`argmax` and :meth:`host_logits` read the whole batch in one transfer.
    """

    def __init__(self, engine: HFEngine, prompts: Sequence[Sequence[int]]) -> None:
        self.engine = engine
        self.cache: Any = None
        self.mask: torch.Tensor | None = None  # [B, W] on the device; 1 where a row attends
        self.lengths: list[int] = []  # per slot: prompt + fed tokens
        self.fed_cols: list[list[int]] = []  # per slot: cache columns of tokens fed after the prompt
        self._last: torch.Tensor | None = None  # [B, V] next-token logits on the device
        self.slots: list[int] = []  # row number of each slot
        self._next = 0
        self.prefilled_tokens = 0
        if prompts:
            self.add(prompts)

    def __len__(self) -> int:
        return len(self.slots)

    def _slot(self, row: int) -> int:
        return self.slots.index(row)

    def _forward(self, ids: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor, cache: Any) -> torch.Tensor:
        with torch.inference_mode():
            out = self.engine.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=pos,
                use_cache=True,
                logits_to_keep=1,
                **{self.engine._cache_kw: cache},
            )
        return out.logits[:, -1, :].float()

    def _prefill(self, prompts: Sequence[Sequence[int]]) -> tuple[Any, torch.Tensor, torch.Tensor]:
        dev = self.engine.device
        unique = list(dict.fromkeys(tuple(p) for p in prompts))
        width = max(len(p) for p in unique)
        ids = torch.full((len(unique), width), self.engine._pad, dtype=torch.long)
        mask = torch.zeros((len(unique), width), dtype=torch.long)
        for i, p in enumerate(unique):
            ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p) :] = 1
        self.prefilled_tokens += sum(len(p) for p in unique)
        cache = DynamicCache(config=self.engine.model.config)
        mask, pos = mask.to(dev), (mask.cumsum(-1) - 1).clamp(min=0).to(dev)
        last = self._forward(ids.to(dev), pos, mask, cache)
        if len(unique) < len(prompts):  # one prefill per distinct prompt, expanded to its copies
            where = {p: i for i, p in enumerate(unique)}
            idx = torch.tensor([where[tuple(p)] for p in prompts], device=dev)
            for layer in cache.layers:
                layer.keys, layer.values = layer.keys[idx], layer.values[idx]
            mask, last = mask[idx], last[idx]
        return cache, mask, last

    def add(self, prompts: Sequence[Sequence[int]]) -> list[int]:
        cache, mask, last = self._prefill(prompts)
        rows = list(range(self._next, self._next + len(prompts)))
        self._next += len(prompts)
        if self.cache is None:
            self.cache, self.mask, self._last = cache, mask, last
            self.lengths = [len(p) for p in prompts]
            self.fed_cols = [[] for _ in prompts]
            self.slots = rows
            return rows
        w_old, w_new = self.mask.shape[1], mask.shape[1]
        width = max(w_old, w_new)
        for a, b in zip(self.cache.layers, cache.layers, strict=True):
            a.keys = torch.cat([_pad_left(a.keys, width - w_old), _pad_left(b.keys, width - w_new)], 0)
            a.values = torch.cat([_pad_left(a.values, width - w_old), _pad_left(b.values, width - w_new)], 0)
        self.mask = torch.cat([_pad_left(self.mask, width - w_old), _pad_left(mask, width - w_new)], 0)
        self.fed_cols = [[c + width - w_old for c in cols] for cols in self.fed_cols] + [[] for _ in prompts]
        self.lengths += [len(p) for p in prompts]
        self._last = torch.cat([self._last, last], 0)
        self.slots += rows
        return rows

    def remove(self, rows: Sequence[int]) -> None:
        gone = set(rows)
        keep = [i for i, r in enumerate(self.slots) if r not in gone]
        if len(keep) == len(self.slots):
            return
        if not keep:
            self.close()
            return
        idx = torch.tensor(keep, dtype=torch.long, device=self.engine.device)
        mask = self.mask[idx]
        used = mask.sum(0).nonzero()  # columns no remaining row attends to are cut from the left
        start = int(used[0]) if len(used) else 0
        for layer in self.cache.layers:
            layer.keys = layer.keys[idx, :, start:]
            layer.values = layer.values[idx, :, start:]
        self.mask = mask[:, start:].contiguous()
        self.fed_cols = [[c - start for c in self.fed_cols[i]] for i in keep]
        self.lengths = [self.lengths[i] for i in keep]
        self.slots = [self.slots[i] for i in keep]
        self._last = self._last[idx]

    def logits(self, i: int) -> torch.Tensor:
        return self._last[self._slot(i)]

    def argmax(self, rows: Sequence[int], vocab: int) -> list[int]:
        """Greedy tokens of many rows: one device op, one small transfer."""
        idx = torch.tensor([self._slot(r) for r in rows], device=self.engine.device)
        return self._last[idx, :vocab].argmax(-1).tolist()

    def host_logits(self, rows: Sequence[int]) -> Any:
        """The logits of many rows on the host, in one transfer."""
        idx = torch.tensor([self._slot(r) for r in rows], device=self.engine.device)
        return self._last[idx].cpu().numpy()

    def step(self, tokens: Feed) -> None:
        feed = dict(feed_items(tokens))
        if not feed:
            return
        dev = self.engine.device
        col = self.mask.shape[1]
        fed = [r in feed for r in self.slots]
        ids = torch.tensor([[feed.get(r, self.engine._pad)] for r in self.slots], dtype=torch.long)
        pos = torch.tensor([[n] for n in self.lengths], dtype=torch.long)
        new_col = torch.tensor(fed, dtype=torch.long, device=dev)[:, None]
        self.mask = torch.cat([self.mask, new_col], dim=1)
        for s, f in enumerate(fed):
            if f:
                self.lengths[s] += 1
                self.fed_cols[s].append(col)
        last = self._forward(ids.to(dev), pos.to(dev), self.mask, self.cache)
        if not all(fed):  # rows fed nothing keep their logits
            keep = torch.tensor(fed, device=dev)[:, None]
            last = torch.where(keep, last, self._last)
        self._last = last

    def rollback(self, i: int, k: int) -> None:
        s = self._slot(i)
        for _ in range(k):
            self.mask[s, self.fed_cols[s].pop()] = 0
            self.lengths[s] -= 1

    def length(self, i: int) -> int:
        return self.lengths[self._slot(i)]

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        saved = self._last.clone()
        s = self._slot(i)
        vocab = self.engine.tokenizer.vocab_size
        n = len(self.fed_cols[s])
        out: list[int] = []
        try:
            for t in forced:
                self.step({i: t})
            for _ in range(max_new):
                if self.lengths[s] >= self.engine.context_length:
                    break
                token = int(self._last[s, :vocab].argmax())
                if token in stop:
                    break
                out.append(token)
                self.step({i: token})
        finally:
            self.rollback(i, len(self.fed_cols[s]) - n)
            self._last = saved
        return out

    def close(self) -> None:
        self.cache = self.mask = self._last = None
        self.lengths, self.fed_cols, self.slots = [], [], []


class _SampleWith(LogitsProcessor):
    """Draws the next token with an s1kit Sampler; greedy decoding then picks it."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(scores, float("-inf"))
        for b in range(scores.shape[0]):
            out[b, self.sampler(scores[b])] = 0.0
        return out


def _no_step_reason(cfg: Any) -> str | None:
    """Why a model's cache cannot be rolled back by masking columns, or None."""
    kinds = set(getattr(cfg, "layer_types", None) or ())
    if kinds - {"full_attention"}:
        return f"its layers include {sorted(kinds - {'full_attention'})}, whose caches cannot be rolled back"
    window = getattr(cfg, "sliding_window", None)
    if window and getattr(cfg, "use_sliding_window", True) and not kinds:
        return f"it uses sliding-window attention ({window} tokens), whose cache cannot be rolled back"
    if any(getattr(cfg, k, None) for k in ("state_size", "ssm_state_size", "conv_kernel", "d_state")):
        return "it keeps a recurrent state, which cannot be rolled back"
    return None


class _StopOnSequences(StoppingCriteria):
    def __init__(self, stop: Sequence[Sequence[int]]) -> None:
        self.stop = stop
        self.tail = max((len(s) for s in stop), default=0)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        hit = bool(self.tail) and stop_suffix(input_ids[0, -self.tail :].tolist(), self.stop)
        return torch.full((input_ids.shape[0],), hit, dtype=torch.bool, device=input_ids.device)


def _pad_left(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        return x
    shape = list(x.shape)
    dim = 1 if x.dim() == 2 else 2  # a mask [B, W] or a cache tensor [B, H, W, D]
    shape[dim] = n
    return torch.cat([torch.zeros(shape, dtype=x.dtype, device=x.device), x], dim)


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
