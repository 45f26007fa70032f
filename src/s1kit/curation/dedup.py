"""Deduplicate: exact after normalisation, then near-duplicates by MinHash (``datasketch``).

The first row in input order is kept; a later copy is dropped with the id of the row it repeats.
Near-duplicates: MinHash signatures of word 3-gram shingles (datasketch's affine32 permutations,
computed for many texts per numpy call), LSH banding with datasketch's optimal (bands, rows) for the
threshold, and every candidate confirmed by its estimated Jaccard similarity >= ``threshold``. Rows
are processed in input order, so the result is deterministic.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from s1kit.curation.records import Dropped, Row, drop
from s1kit.errors import ConfigError, MissingExtraError

STAGE = "dedup"
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_LATEX_NOISE = re.compile(r"\\[,;:! ]|\\(?:left|right|displaystyle|text|mathrm)\b|\$")


@dataclass(frozen=True)
class DedupConfig:
    """Options of the dedup stage.

    Attributes:
        threshold: estimated Jaccard similarity at or above which two questions are near-duplicates.
        num_perm: MinHash permutations (more: a better estimate, slower).
        shingle: words per shingle.
        near: run the MinHash pass (False: exact duplicates only).
    """

    threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 3
    near: bool = True

    def __post_init__(self) -> None:
        if not 0.05 <= self.threshold <= 0.95:  # MinHashLSH needs at least two bands
            raise ConfigError("threshold", self.threshold, "a number in [0.05, 0.95]")
        if self.num_perm < 16:
            raise ConfigError("num_perm", self.num_perm, "an integer >= 16")
        if self.shingle < 1:
            raise ConfigError("shingle", self.shingle, "an integer >= 1")


def normalise(text: str) -> str:
    """Lower-case, NFKC, LaTeX spacing and ``$`` removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _LATEX_NOISE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


_MAX32 = np.uint64((1 << 32) - 1)


class _Signer:
    """MinHash signatures computed with numpy: word hashes (crc32, cached) combine into shingle hashes,
    which go through datasketch's own affine permutations (same seed, the "affine32" scheme), so the values are
    a drop-in ``LeanMinHash`` for ``MinHashLSH``, many texts per numpy call.
    """

    def __init__(self, num_perm: int, shingle: int) -> None:
        from datasketch import MinHash

        a, b = MinHash(num_perm=num_perm, seed=1, scheme="affine32").permutations
        self.a, self.b = np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)
        self.k = shingle
        self.words: dict[str, int] = {}

    def signatures(self, texts: Sequence[str], chunk: int = 512) -> np.ndarray:
        """MinHash values of many texts, shape ``(len(texts), num_perm)``, computed chunk by chunk."""
        out = np.empty((len(texts), len(self.a)), dtype=np.uint32)
        for start in range(0, len(texts), chunk):
            out[start : start + chunk] = self._chunk(texts[start : start + chunk])
        return out

    def _chunk(self, texts: Sequence[str]) -> np.ndarray:
        cache, hashes, lengths = self.words, [], []
        for text in texts:
            words = _WORD.findall(text) or [""]
            hashes.extend(
                [cache[w] if w in cache else cache.setdefault(w, zlib.crc32(w.encode())) for w in words]
            )
            lengths.append(len(words))
        k = self.k
        wh = np.concatenate([np.asarray(hashes, dtype=np.uint64), np.zeros(k, dtype=np.uint64)])
        n_words = np.asarray(lengths)
        row_of_word = np.concatenate([np.repeat(np.arange(len(texts)), n_words), np.full(k, -1)])
        n_sh = np.maximum(n_words - k + 1, 1)  # a text shorter than k words is one shingle
        first_sh = np.concatenate([[0], np.cumsum(n_sh)[:-1]])
        first_word = np.concatenate([[0], np.cumsum(n_words)[:-1]])
        row_of_sh = np.repeat(np.arange(len(texts)), n_sh)
        pos = np.repeat(first_word, n_sh) + np.arange(int(n_sh.sum())) - np.repeat(first_sh, n_sh)
        sh = np.zeros(len(pos), dtype=np.uint64)
        for j in range(k):  # polynomial combination of k word hashes, kept to 32 bits; never across texts
            term = np.where(row_of_word[pos + j] == row_of_sh, wh[pos + j], np.uint64(0))
            sh = (sh * np.uint64(1_000_003) + term) & _MAX32
        with np.errstate(over="ignore"):  # h -> a*h + b mod 2^32 (odd a): datasketch's affine32 map
            phv = sh.astype(np.uint32)[:, None] * self.a + self.b
        return np.minimum.reduceat(phv, first_sh, axis=0)

    def signature(self, text: str) -> np.ndarray:
        return self.signatures([text])[0]


def exact_duplicates(rows: Sequence[Row], norms: Sequence[str]) -> tuple[list[int], list[Dropped]]:
    """Indices of the rows to keep (first of each normalised question) and the dropped copies."""
    kept: list[int] = []
    dropped: list[Dropped] = []
    first: dict[str, str] = {}
    for i, (row, key) in enumerate(zip(rows, norms, strict=True)):
        if key in first:
            dropped.append(drop(row, STAGE, "exact_duplicate", f"same normalised question as {first[key]}"))
        else:
            first[key] = row.id
            kept.append(i)
    return kept, dropped


def near_duplicates(
    rows: Sequence[Row], norms: Sequence[str], config: DedupConfig
) -> tuple[list[Row], list[Dropped]]:
    """LSH banding over the signatures with datasketch's optimal (bands, rows) for the threshold;
    each candidate is confirmed by its estimated Jaccard similarity. The bands are plain dicts of
    bytes (datasketch's ``MinHashLSH.insert``/``query`` cost ~10x more per row in Python)."""
    try:
        from datasketch import MinHashLSH
    except ImportError:
        raise MissingExtraError("near-duplicate detection", "curate", "datasketch") from None
    params = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    bands, width = params.b, params.r * 4  # bytes per band (uint32 values)
    sigs = _Signer(config.num_perm, config.shingle).signatures(norms)
    tables: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    kept: list[Row] = []
    dropped: list[Dropped] = []
    for i, row in enumerate(rows):
        raw = sigs[i].tobytes()
        keys = [raw[j * width : (j + 1) * width] for j in range(bands)]
        candidates: set[int] = set()
        for table, key in zip(tables, keys, strict=True):
            hit = table.get(key)
            if hit:
                candidates.update(hit)
        match = None
        for c in sorted(candidates):  # the earliest kept row first
            sim = float(np.count_nonzero(sigs[c] == sigs[i])) / config.num_perm
            if sim >= config.threshold:
                match = (c, sim)
                break
        if match is not None:
            dropped.append(
                drop(row, STAGE, "near_duplicate", f"MinHash Jaccard {match[1]:.2f} with {rows[match[0]].id}")
            )
            continue
        for table, key in zip(tables, keys, strict=True):
            table.setdefault(key, []).append(i)
        kept.append(row)
    return kept, dropped


def dedup(rows: Sequence[Row], config: DedupConfig | None = None) -> tuple[list[Row], list[Dropped]]:
    """Drop exact duplicates (after :func:`normalise`), then MinHash near-duplicates.

    Example:
        >>> kept, dropped = dedup(rows)  # doctest: +SKIP
        >>> [(d.reason, d.detail) for d in dropped]  # doctest: +SKIP
    """
    config = config or DedupConfig()
    norms = [normalise(r.question) for r in rows]
    keep, dropped = exact_duplicates(rows, norms)
    kept = [rows[i] for i in keep]
    if config.near:
        kept, more = near_duplicates(kept, [norms[i] for i in keep], config)
        dropped.extend(more)
    return kept, dropped
