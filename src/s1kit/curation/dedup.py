"""Deduplicate: exact after normalisation, then near-duplicates by MinHash (``datasketch``).

The first row in input order is kept; a later copy is dropped with the id of the row it repeats.
Near-duplicates are candidates from MinHash LSH over word 3-gram shingles whose estimated Jaccard
similarity is at least ``threshold``; the order of insertion is the input order, so the result is
deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

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
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError("threshold", self.threshold, "a number in (0, 1]")
        if self.num_perm < 16:
            raise ConfigError("num_perm", self.num_perm, "an integer >= 16")
        if self.shingle < 1:
            raise ConfigError("shingle", self.shingle, "an integer >= 1")


def normalise(text: str) -> str:
    """Lower-case, NFKC, LaTeX spacing and ``$`` removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _LATEX_NOISE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def shingles(text: str, k: int) -> set[bytes]:
    words = _WORD.findall(normalise(text))
    if len(words) <= k:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + k]).encode() for i in range(len(words) - k + 1)}


def exact_duplicates(rows: Sequence[Row]) -> tuple[list[Row], list[Dropped]]:
    kept: list[Row] = []
    dropped: list[Dropped] = []
    first: dict[str, str] = {}
    for row in rows:
        key = normalise(row.question)
        if key in first:
            dropped.append(drop(row, STAGE, "exact_duplicate", f"same normalised question as {first[key]}"))
        else:
            first[key] = row.id
            kept.append(row)
    return kept, dropped


def near_duplicates(rows: Sequence[Row], config: DedupConfig) -> tuple[list[Row], list[Dropped]]:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise MissingExtraError("near-duplicate detection", "curate", "datasketch") from None
    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    hashes: dict[str, MinHash] = {}
    kept: list[Row] = []
    dropped: list[Dropped] = []
    for i, row in enumerate(rows):
        sh = shingles(row.question, config.shingle)
        m = MinHash(num_perm=config.num_perm, seed=1)
        if sh:
            m.update_batch(sorted(sh))
        match = None
        for key in sorted(lsh.query(m), key=int):  # earliest kept row first
            sim = m.jaccard(hashes[key])
            if sim >= config.threshold:
                match = (key, sim)
                break
        if match is not None:
            other = rows[int(match[0])]
            dropped.append(
                drop(row, STAGE, "near_duplicate", f"MinHash Jaccard {match[1]:.2f} with {other.id}")
            )
            continue
        key = str(i)
        lsh.insert(key, m)
        hashes[key] = m
        kept.append(row)
    return kept, dropped


def dedup(rows: Sequence[Row], config: DedupConfig | None = None) -> tuple[list[Row], list[Dropped]]:
    """Drop exact duplicates (after :func:`normalise`), then MinHash near-duplicates.

    Example:
        >>> kept, dropped = dedup(rows)  # doctest: +SKIP
        >>> [(d.reason, d.detail) for d in dropped]  # doctest: +SKIP
    """
    config = config or DedupConfig()
    kept, dropped = exact_duplicates(rows)
    if config.near:
        kept, more = near_duplicates(kept, config)
        dropped.extend(more)
    return kept, dropped
