"""Diversity, part 2: the paper's sampler (s1, Algorithm 1).

Until ``size`` questions are chosen: pick a domain uniformly at random among those with questions
left; inside it, rank the remaining questions by trace length (longest first, rank 0) and pick one
with probability proportional to 2^-rank; remove it, and drop the domain once it is empty.
Everything is driven by one ``random.Random(seed)``, and ties in length are broken by row id, so the
same rows and seed always give the same selection in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from s1kit.curation.records import Row
from s1kit.errors import S1kitError


@dataclass(frozen=True)
class Pick:
    """One draw: the row chosen, its domain, its rank among the domain's remaining rows, its length."""

    id: str
    domain: str
    rank: int
    length: int


def trace_length(row: Row) -> int:
    """Trace length used for ranking: ``trace_tokens`` when measured, else characters of the trace."""
    if row.trace_tokens is not None:
        return row.trace_tokens
    return len(row.thinking or "")


def geometric_rank(rng: random.Random, n: int) -> int:
    """A rank in ``[0, n)`` with P(rank = r) proportional to 2^-r (exact, O(expected 2) steps)."""
    total = 2.0 * (1.0 - 0.5**n)
    u = rng.random() * total
    acc, w = 0.0, 1.0
    for r in range(n):
        acc += w
        if u < acc:
            return r
        w *= 0.5
    return n - 1  # u landed in the floating-point sliver at the very end


def sample_diverse(
    rows: Sequence[Row], size: int, seed: int, *, length: Callable[[Row], int] = trace_length
) -> tuple[list[Row], list[Pick]]:
    """Choose ``size`` rows: a uniform domain, then a 2^-rank draw by trace length inside it.

    Args:
        rows: rows with ``domain`` set.
        size: how many to choose.
        seed: the random seed (recorded in the report).
        length: a row's trace length (longer ranks first).

    Returns:
        The chosen rows in draw order, and one :class:`Pick` per draw.

    Raises:
        S1kitError: ``size`` exceeds the rows available, or a row has no domain.

    Example:
        >>> chosen, picks = sample_diverse(rows, 1000, seed=0)  # doctest: +SKIP
    """
    if size < 1:
        raise S1kitError(f"--size {size} is invalid: expected a positive integer")
    if size > len(rows):
        raise S1kitError(f"--size {size} is larger than the {len(rows)} rows that survive the earlier stages")
    pools: dict[str, list[tuple[int, Row]]] = {}
    for row in rows:
        if row.domain is None:
            raise S1kitError(f"row {row.id} has no domain: run the diversity stage's classification first")
        pools.setdefault(row.domain, []).append((length(row), row))
    for items in pools.values():
        items.sort(key=lambda item: (-item[0], item[1].id))
    domains = sorted(pools)
    rng = random.Random(seed)
    chosen: list[Row] = []
    picks: list[Pick] = []
    while len(chosen) < size:
        d = domains[rng.randrange(len(domains))]
        items = pools[d]
        rank = geometric_rank(rng, len(items))
        n, row = items.pop(rank)
        chosen.append(row)
        picks.append(Pick(row.id, d, rank, n))
        if not items:
            domains.remove(d)
    return chosen, picks
