"""Batches whose rows come and go: what the server's scheduler decodes on.

:class:`HFBatch` is continuous batching on the transformers backend: new requests are prefilled on their
own (through the engine's own :class:`~s1kit.backends.hf.HFSession`), then merged into the running
batch's KV cache by left-padding the narrower of the two; finished or cancelled rows are dropped from
the cache at once, so they stop costing compute. :class:`WaveBatch` serves any other engine through
``engine.open()``: rows join only when the batch is empty (llama.cpp holds one sequence).
Rows are addressed by their position in the batch, which shifts down when earlier rows leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from s1kit.backends import Engine
from s1kit.generation.sampling import SamplingParams


class Batch(Protocol):
    capacity: int

    def __len__(self) -> int: ...

    def can_add(self) -> int:
        """How many rows may join now."""

    def add(self, prompts: Sequence[Sequence[int]]) -> None: ...

    def remove(self, rows: Sequence[int]) -> None: ...

    def logits(self, i: int) -> Any: ...

    def step(self, tokens: Sequence[int | None]) -> None: ...

    def rollback(self, i: int, k: int) -> None: ...

    def length(self, i: int) -> int: ...

    def close(self) -> None: ...


def make_batch(engine: Engine, max_batch: int) -> Batch:
    """Continuous batching where the engine allows it (hf), waves otherwise."""
    if getattr(engine, "name", "") == "hf" and max_batch > 1:
        return HFBatch(engine, max_batch)
    return WaveBatch(engine, max(1, min(max_batch, engine.max_batch or 1)))


class HFBatch:
    """Continuous batching over an :class:`~s1kit.backends.hf.HFEngine`."""

    def __init__(self, engine: Any, capacity: int) -> None:
        self.engine = engine
        self.capacity = capacity
        self.session: Any = None  # an HFSession whose rows are rewritten on add and remove

    def __len__(self) -> int:
        return 0 if self.session is None else len(self.session.lengths)

    def can_add(self) -> int:
        return self.capacity - len(self)

    def add(self, prompts: Sequence[Sequence[int]]) -> None:
        import torch

        from s1kit.backends.hf import HFSession

        new = HFSession(self.engine, prompts)
        if self.session is None:
            self.session = new
            return
        old = self.session
        w_old, w_new = old.mask.shape[1], new.mask.shape[1]
        width = max(w_old, w_new)
        for a, b in zip(old.cache.layers, new.cache.layers, strict=True):
            a.keys = torch.cat([_pad_left(a.keys, width - w_old), _pad_left(b.keys, width - w_new)], 0)
            a.values = torch.cat([_pad_left(a.values, width - w_old), _pad_left(b.values, width - w_new)], 0)
        old.mask = torch.cat([_pad_left(old.mask, width - w_old), _pad_left(new.mask, width - w_new)], 0)
        old.fed_cols = [[c + width - w_old for c in cols] for cols in old.fed_cols] + [
            [c + width - w_new for c in cols] for cols in new.fed_cols
        ]
        old.lengths = old.lengths + new.lengths
        old._last = torch.cat([old._last, new._last], 0)
        new.close()

    def remove(self, rows: Sequence[int]) -> None:
        import torch

        s = self.session
        gone = set(rows)
        keep = [i for i in range(len(self)) if i not in gone]
        if not keep:
            self.close()
            return
        idx = torch.tensor(keep, dtype=torch.long)
        mask = s.mask[idx]
        # Columns no remaining row attends to at the left edge are dropped, so the width stays bounded.
        used = mask.sum(0).nonzero()
        start = int(used[0]) if len(used) else 0
        dev_idx = idx.to(s.engine.device)
        for layer in s.cache.layers:
            layer.keys = layer.keys[dev_idx, :, start:]
            layer.values = layer.values[dev_idx, :, start:]
        s.mask = mask[:, start:].contiguous()
        s.fed_cols = [[c - start for c in s.fed_cols[i]] for i in keep]
        s.lengths = [s.lengths[i] for i in keep]
        s._last = s._last[dev_idx]

    def logits(self, i: int) -> Any:
        return self.session.logits(i)

    def step(self, tokens: Sequence[int | None]) -> None:
        self.session.step(tokens)

    def rollback(self, i: int, k: int) -> None:
        self.session.rollback(i, k)

    def length(self, i: int) -> int:
        return self.session.length(i)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None


class WaveBatch:
    """Rows join only when the batch is empty; finished rows are fed nothing until the wave ends."""

    def __init__(self, engine: Engine, capacity: int) -> None:
        self.engine = engine
        self.capacity = capacity
        self.session: Any = None
        self.index: list[int] = []  # session row of each live row

    def __len__(self) -> int:
        return len(self.index)

    def can_add(self) -> int:
        return self.capacity if not self.index else 0

    def add(self, prompts: Sequence[Sequence[int]]) -> None:
        self.close()
        self.session = self.engine.open(prompts, SamplingParams())
        self.width = len(prompts)
        self.index = list(range(len(prompts)))

    def remove(self, rows: Sequence[int]) -> None:
        gone = set(rows)
        self.index = [r for i, r in enumerate(self.index) if i not in gone]
        if not self.index:
            self.close()

    def logits(self, i: int) -> Any:
        return self.session.logits(self.index[i])

    def step(self, tokens: Sequence[int | None]) -> None:
        full: list[int | None] = [None] * self.width
        for r, t in zip(self.index, tokens, strict=True):
            full[r] = t
        self.session.step(full)

    def rollback(self, i: int, k: int) -> None:
        self.session.rollback(self.index[i], k)

    def length(self, i: int) -> int:
        return self.session.length(self.index[i])

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None
        self.index = []


def _pad_left(x: Any, n: int) -> Any:
    if n == 0:
        return x
    import torch

    shape = list(x.shape)
    dim = 1 if x.dim() == 2 else 2  # a mask [B, W] or a cache tensor [B, H, W, D]
    shape[dim] = n
    return torch.cat([torch.zeros(shape, dtype=x.dtype, device=x.device), x], dim)
