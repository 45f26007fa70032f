"""Many sequences in one llama.cpp context, through llama-cpp-python's low-level API.

:class:`SeqPool` replaces the context of a ``llama_cpp.Llama`` with one that holds many sequences in a
unified KV cache (every row draws cells from one pool of ``n_ctx``). Sequence 0 stays with the ``Llama``
object (its own ``generate`` loop, used for round-by-round forcing); decode rows use the others.

:class:`LlamaSession` is the running batch: one ``llama_batch`` per step carries a token for each row,
with the row's own sequence id and position; each row's logits are read from its own output. A row is
rolled back by removing its last cells; a side branch shares the row's cells with a spare sequence
(``llama_memory_seq_cp``) and removes the branch's own cells after. Prompts are prefilled in chunks of
the context's batch size, several prompts per chunk.

Shared prefill: every prefilled prompt's cells are kept, serialised, in host memory
(``llama_state_seq_get_data``). A later prompt that starts with a cached one writes those cells back
(``llama_state_seq_set_data``: a memory copy, no model pass) — the whole prompt with its stored
next-token logits, or the common prefix and then the rest is read — so an eval sweep that asks the same
question at every budget and sample prefills it once, and a server's repeated system prompt is read
once. Identical prompts joining together share one prefill's cells. Oldest entries go first.

Greedy batched decoding gives the same tokens as one sequence at a time: see :class:`SeqPool`.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals

from s1kit.backends.base import CacheFull, Feed, feed_items

MIN_SHARED = 8  # a common prefix shorter than this is re-read rather than copied
UBATCH = 32  # tokens per llama.cpp micro-batch (see SeqPool)


@dataclass
class _Cached:
    tokens: tuple[int, ...]
    state: Any  # the sequence's cache cells, serialised by llama_state_seq_get_data
    size: int
    logits: np.ndarray


class SeqPool:
    """A multi-sequence llama.cpp context shared by a ``Llama`` (sequence 0) and decode sessions.

    Sequence 1 is a spare for side branches and sequence 2 collects retired cells (below); rows use the
    others. Keeping a row's cells in position order keeps its arithmetic the same whatever else is in
    the batch: flash attention visits a row's cells in cell order, and llama.cpp allocates new cells at
    its head, so cells freed in the middle of a batch (a rolled-back or finished row) would be reused
    out of order. Such cells are *retired* instead — moved to sequence 2, where no query sees them —
    and freed together when no row is live (or when the cache is full).
    """

    BRANCH, TRASH = 1, 2

    def __init__(self, llm: Any, *, n_seq: int, n_batch: int, cache_slots: int, cache_bytes: int) -> None:
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_seq_max = n_seq
        params.kv_unified = True  # one pool of cells for every sequence, so rows may differ in length
        # Flash attention visits a row's cells one by one, skipping other rows' (masked) cells, so a
        # row's result does not depend on where its cells lie or what else is cached; the default
        # attention sums over all cells in SIMD lanes, and with 8-bit activation quantization those
        # last-bit differences grow into different greedy tokens.
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.n_batch = n_batch
        # Under 64 queries per micro-batch, llama.cpp's CPU flash attention takes its per-query kernel
        # (no query tiles), so a row's result does not depend on what it is batched with.
        params.n_ubatch = UBATCH
        ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        old, llm._ctx = llm._ctx, ctx  # the Llama object now decodes sequence 0 of this context
        old.close()
        llm.n_tokens = 0
        self.llm = llm
        self.ctx = ctx.ctx
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = min(n_batch, int(llama_cpp.llama_n_batch(self.ctx)))  # what the context took
        self.n_vocab = int(llm.n_vocab())
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._tok = np.ctypeslib.as_array(self.batch.token, shape=(n_batch,))
        self._pos = np.ctypeslib.as_array(self.batch.pos, shape=(n_batch,))
        self._out = np.ctypeslib.as_array(
            ctypes.cast(self.batch.logits, ctypes.POINTER(ctypes.c_int8)), shape=(n_batch,)
        )
        np.ctypeslib.as_array(self.batch.n_seq_id, shape=(n_batch,))[:] = 1
        self._free = list(range(n_seq - 1, self.TRASH, -1))  # 0: the Llama object; 1, 2: see above
        self.cache: OrderedDict[tuple[int, ...], _Cached] = OrderedDict()
        self.cache_slots, self.cache_bytes = cache_slots, cache_bytes
        self.live_rows = 0
        self.trash_cells = 0  # retired cells waiting in sequence TRASH

    # -- sequences -------------------------------------------------------------------------------
    def take_seq(self) -> int:
        if not self._free:
            raise CacheFull("no free llama.cpp sequence")
        return self._free.pop()

    def drop_seq(self, seq: int) -> None:
        """Free a sequence now (its cells are the newest: freeing them keeps every row in order)."""
        llama_cpp.llama_memory_seq_rm(self.mem, seq, -1, -1)
        self._free.append(seq)

    def retire(self, seq: int, start: int = 0) -> None:
        """Hide ``seq``'s cells from ``start`` on without freeing them (see the class notes)."""
        self.trash_cells += max(0, int(llama_cpp.llama_memory_seq_pos_max(self.mem, seq)) + 1 - start)
        llama_cpp.llama_memory_seq_cp(self.mem, seq, self.TRASH, start, -1)
        llama_cpp.llama_memory_seq_rm(self.mem, seq, start, -1)

    def empty_trash(self) -> None:
        llama_cpp.llama_memory_seq_rm(self.mem, self.TRASH, -1, -1)
        self.trash_cells = 0

    # -- the prompt cache (serialised cells in host memory) ----------------------------------------
    def lookup(self, prompt: Sequence[int]) -> tuple[_Cached | None, int]:
        """The cached prompt sharing the longest prefix with ``prompt``, and that prefix's length."""
        best, best_n = None, 0
        p = np.asarray(prompt)
        for entry in self.cache.values():
            n = min(len(entry.tokens), len(p))
            diff = np.flatnonzero(np.asarray(entry.tokens[:n]) != p[:n])
            m = int(diff[0]) if len(diff) else n
            if m > best_n:
                best, best_n = entry, m
        if best is not None:
            self.cache.move_to_end(best.tokens)
        return best, best_n

    def remember(self, seq: int, prompt: Sequence[int], logits: np.ndarray) -> None:
        """Keep a just-prefilled prompt (sequence ``seq`` holds exactly its cells) for later rows."""
        key = tuple(prompt)
        if self.cache_slots <= 0 or key in self.cache:
            return
        size = int(llama_cpp.llama_state_seq_get_size(self.ctx, seq))
        if size > self.cache_bytes:
            return
        buf = (ctypes.c_uint8 * size)()
        if not llama_cpp.llama_state_seq_get_data(self.ctx, buf, size, seq):
            return
        while self.cache and (
            len(self.cache) >= self.cache_slots
            or sum(e.size for e in self.cache.values()) + size > self.cache_bytes
        ):
            self.cache.popitem(last=False)
        self.cache[key] = _Cached(key, buf, size, logits.copy())

    def restore(self, entry: _Cached, seq: int, keep: int) -> None:
        """Write a cached prompt's cells into ``seq`` (new cells at the head, in order), keeping ``keep``."""
        if not llama_cpp.llama_state_seq_set_data(self.ctx, entry.state, entry.size, seq):
            raise CacheFull(f"no room for a cached prompt of {len(entry.tokens)} tokens")
        if keep < len(entry.tokens):
            llama_cpp.llama_memory_seq_rm(self.mem, seq, keep, -1)

    def clear_cache(self) -> None:
        self.cache.clear()

    # -- decoding --------------------------------------------------------------------------------
    def decode(self, items: Sequence[tuple[int, int, int, bool]]) -> list[np.ndarray]:
        """Decode ``(seq, pos, token, want_logits)`` items in chunks of the batch size; the logits of
        the items that want them, in order. Raises :class:`CacheFull` when a chunk finds no cells
        (chunks already decoded stay in the cache: the caller removes them)."""
        out: list[np.ndarray] = []
        b = self.batch
        for start in range(0, len(items), self.n_batch):
            chunk = items[start : start + self.n_batch]
            n = len(chunk)
            b.n_tokens = n
            for j, (seq, pos, token, want) in enumerate(chunk):
                b.seq_id[j][0] = seq
                self._tok[j] = token
                self._pos[j] = pos
                self._out[j] = want
            rc = llama_cpp.llama_decode(self.ctx, b)
            if rc == 1:
                raise CacheFull(f"the llama.cpp KV cache ({self.n_ctx} cells) is full")
            if rc != 0:
                raise RuntimeError(f"llama_decode returned {rc}")
            for j, (_, _, _, want) in enumerate(chunk):
                if want:
                    ptr = llama_cpp.llama_get_logits_ith(self.ctx, j)
                    out.append(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy())
        return out

    def close(self) -> None:
        if self.batch is not None:
            llama_cpp.llama_batch_free(self.batch)
            self.batch = None  # type: ignore[assignment]


@dataclass
class _Row:
    seq: int
    n: int  # cells (positions) the row holds
    logits: np.ndarray


class LlamaSession:
    """Rows decoding together in a :class:`SeqPool` (see :class:`~s1kit.backends.base.DecodeSession`)."""

    def __init__(self, pool: SeqPool, prompts: Sequence[Sequence[int]], *, capacity: int) -> None:
        self.pool = pool  # sessions share the pool's sequences; use one engine from one thread at a time
        self.capacity = capacity
        self.rows: dict[int, _Row] = {}
        self._next = 0
        self.prefilled_tokens = 0  # prompt tokens actually read (not copied): shared prefill shows here
        if prompts:
            self.add(prompts)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def draining(self) -> bool:
        """Retired cells fill half the cache: admit no row until the live ones finish and the cells go
        together (freeing them under live rows would let a row's new cells land before its old ones)."""
        return self.pool.trash_cells > self.pool.n_ctx // 2

    def add(self, prompts: Sequence[Sequence[int]]) -> list[int]:
        if len(self.rows) + len(prompts) > self.capacity:
            raise CacheFull(f"the batch holds {self.capacity} rows")
        try:
            return self._add(prompts)
        except CacheFull:
            if self.pool.live_rows:
                raise
            self.pool.empty_trash()  # nothing is live: retired cells may go
            return self._add(prompts)

    def _add(self, prompts: Sequence[Sequence[int]]) -> list[int]:
        pool, made = self.pool, []
        try:
            plans, items, first = [], [], {}
            for p in prompts:
                p = list(p)
                seq = pool.take_seq()
                made.append(seq)
                key = tuple(p)
                if key in first:  # the same prompt earlier in this call: share its row's cells
                    plans.append((seq, p, first[key], None))
                    continue
                first[key] = seq
                entry, m = pool.lookup(p)
                if entry is not None and m == len(p) == len(entry.tokens):
                    pool.restore(entry, seq, len(p))
                    plans.append((seq, p, None, entry.logits.copy()))
                    continue
                m = min(m, len(p) - 1) if entry is not None and m >= MIN_SHARED else 0
                if m:
                    pool.restore(entry, seq, m)
                items += [(seq, pos, p[pos], pos == len(p) - 1) for pos in range(m, len(p))]
                plans.append((seq, p, None, None))
            logits = iter(pool.decode(items))
            by_seq: dict[int, np.ndarray] = {}
            for seq, p, src, lg in plans:
                if src is not None:
                    llama_cpp.llama_memory_seq_cp(pool.mem, src, seq, -1, -1)
                    lg = by_seq[src].copy()
                elif lg is None:
                    lg = next(logits)
                    pool.remember(seq, p, lg)
                by_seq[seq] = lg
        except BaseException:
            for seq in made:
                pool.drop_seq(seq)
            raise
        self.prefilled_tokens += len(items)
        rows = []
        for seq, p, _, _ in plans:
            self.rows[self._next] = _Row(seq, len(p), by_seq[seq])
            rows.append(self._next)
            self._next += 1
        pool.live_rows += len(rows)
        return rows

    def remove(self, rows: Sequence[int]) -> None:
        pool = self.pool
        for r in rows:
            row = self.rows.pop(r, None)
            if row is not None:
                pool.retire(row.seq)
                pool._free.append(row.seq)
                pool.live_rows -= 1
        if not pool.live_rows:
            pool.empty_trash()

    def logits(self, i: int) -> np.ndarray:
        return self.rows[i].logits

    def step(self, tokens: Feed) -> None:
        feed = feed_items(tokens)
        if not feed:
            return
        items = [(self.rows[r].seq, self.rows[r].n, t, True) for r, t in feed]
        try:
            logits = self.pool.decode(items)
        except CacheFull:
            self.pool.empty_trash()  # retired cells go first (rows may then lose their order), then retry
            logits = self.pool.decode(items)
        for (r, _), lg in zip(feed, logits, strict=True):
            row = self.rows[r]
            row.n += 1
            row.logits = lg

    def rollback(self, i: int, k: int) -> None:
        row = self.rows[i]
        row.n -= k
        self.pool.retire(row.seq, row.n)

    def length(self, i: int) -> int:
        return self.rows[i].n

    def branch(self, i: int, forced: Sequence[int], *, max_new: int, stop: frozenset[int]) -> list[int]:
        row, pool = self.rows[i], self.pool
        vocab = self.engine_vocab
        seq = pool.BRANCH
        out: list[int] = []
        try:
            llama_cpp.llama_memory_seq_cp(pool.mem, row.seq, seq, -1, -1)  # shares the row's cells
            n, logits = row.n, row.logits
            if forced:
                items = [(seq, n + k, t, k == len(forced) - 1) for k, t in enumerate(forced)]
                logits = pool.decode(items)[0]
                n += len(forced)
            for _ in range(max_new):
                if n >= pool.n_ctx:
                    break
                token = int(logits[:vocab].argmax())
                if token in stop:
                    break
                out.append(token)
                logits = pool.decode([(seq, n, token, True)])[0]
                n += 1
        except CacheFull:
            pass  # no room for a longer probe: what was decoded is the answer
        finally:
            llama_cpp.llama_memory_seq_rm(pool.mem, seq, -1, -1)  # the probe's cells are the newest
        return out

    engine_vocab: int = 1 << 30  # set by the engine: ids at or above it are never chosen

    def close(self) -> None:
        self.remove(list(self.rows))
