"""Diversity, part 1: classify each question into a Mathematics Subject Classification (MSC) domain.

The 61 top-level MSC 2020 codes ship in ``msc.json`` (from simplescaling/s1, Apache-2.0). The
classifier model is constrained to valid codes: on engines with step access (llama.cpp,
transformers) the code is decoded greedily over a trie of the codes' token sequences, so only a
valid code can come out; over "generate until a stop" engines (HTTP servers) the reply is parsed for
a valid code or title, and a reply with neither falls back to the code whose title and descriptions
share the most words with the question (counted as ``fallback`` in the report).
Results are cached in ``<out>/cache/classify-<spec>.jsonl``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from s1kit.curation.records import Row
from s1kit.curation.specs import JsonlCache, ModelRef
from s1kit.generation.loop import ConstrainedRow, run_rows
from s1kit.generation.sampling import SamplingParams

_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "are",
        "from",
        "theory",
        "other",
        "general",
        "its",
        "into",
        "which",
    ]
)
Progress = Callable[[str, int, int], None]


@cache
def msc_codes() -> tuple[dict[str, Any], ...]:
    """The MSC 2020 top-level codes: ``code``, ``title``, ``descriptions``, ``prompt``."""
    text = resources.files("s1kit.curation").joinpath("msc.json").read_text(encoding="utf-8")
    return tuple(json.loads(text))


def msc_titles() -> dict[str, str]:
    return {c["code"]: c["title"] for c in msc_codes()}


def classify_prompt(question: str) -> str:
    codes = "\n".join(f"{c['code']} {c['title']}" for c in msc_codes())
    return (
        "Classify the question into one Mathematics Subject Classification (MSC 2020) top-level domain.\n"
        f"Domains:\n{codes}\n\nQuestion:\n{question[:2000]}\n\nReply with the two-digit code only."
    )


@cache
def _keyword_index() -> dict[str, tuple[tuple[int, float], ...]]:
    """word -> ((code index, weight), ...): inverse document frequency over the 61 codes' titles and
    descriptions, doubled for title words."""
    bags = []
    for c in msc_codes():
        title = set(_WORD.findall(c["title"].lower())) - _STOP
        desc = set(_WORD.findall(" ".join(c["descriptions"]).lower())) - _STOP
        bags.append((title, title | desc))
    df: dict[str, int] = {}
    for _, words in bags:
        for w in words:
            df[w] = df.get(w, 0) + 1
    index: dict[str, list[tuple[int, float]]] = {}
    for i, (title, words) in enumerate(bags):
        for w in sorted(words):
            index.setdefault(w, []).append((i, math.log(len(bags) / df[w]) * (2.0 if w in title else 1.0)))
    return {w: tuple(v) for w, v in index.items()}


def keyword_domain(question: str) -> str:
    """The code whose title and descriptions best match the question's words (idf-weighted; ties: lowest).

    A crude classifier used when no model is given, and as the last resort when a free-form reply
    names no valid code.
    """
    index = _keyword_index()
    scores = [0.0] * len(msc_codes())
    for w in set(_WORD.findall(question.lower())):
        for i, weight in index.get(w, ()):
            scores[i] += weight
    best = max(range(len(scores)), key=lambda i: (round(scores[i], 9), -i))  # codes are in ascending order
    return msc_codes()[best]["code"]


def parse_domain(text: str) -> str | None:
    """A valid code in a free-form reply: the first valid two-digit number, else a title named."""
    titles = msc_titles()
    for m in re.finditer(r"(?<!\d)(\d{2})(?!\d)", text):
        if m.group(1) in titles:
            return m.group(1)
    low = text.lower()
    for code, title in titles.items():
        if title.lower() in low:
            return code
    return None


class _Trie:
    """Token sequences of the codes (as the continuation " NN"), for constrained greedy decoding."""

    def __init__(self, tokenizer: Any) -> None:
        self.root: dict[int, Any] = {}
        for code in msc_titles():
            node = self.root
            for t in tokenizer.encode(f" {code}"):
                node = node.setdefault(int(t), {})
            node[-1] = code  # -1 marks the end of a code


def _prompt_ids(gen: Any, question: str) -> list[int]:
    text = gen.tokenizer.apply_chat_template([{"role": "user", "content": classify_prompt(question)}])
    return gen.tokenizer.encode(text + "MSC code:")


def classify_constrained(gen: Any, questions: Sequence[str]) -> list[str]:
    """Greedy decoding restricted to the code trie, all questions in one running batch (the one decoding
    loop with an allowed-tokens mask: :class:`~s1kit.generation.loop.ConstrainedRow`)."""
    trie = _Trie(gen.tokenizer)
    codes: list[str | None] = [None] * len(questions)

    def walker(i: int) -> Callable[[list[int]], list[int] | None]:
        def allowed(tokens: list[int]) -> list[int] | None:
            node = trie.root
            for t in tokens:
                node = node[t]
            if -1 in node:  # a whole code: the row is done
                codes[i] = node[-1]
                return None
            return sorted(k for k in node if k >= 0)

        return allowed

    rows = [ConstrainedRow(_prompt_ids(gen, q), walker(i), key=i) for i, q in enumerate(questions)]
    run_rows(gen.engine, rows)
    return [c if c is not None else keyword_domain(q) for c, q in zip(codes, questions, strict=True)]


def classify_free(gen: Any, question: str) -> tuple[str, str]:
    """Ask a "generate until stop" engine; parse a valid code, else fall back to keywords."""
    ids = _prompt_ids(gen, question)
    res = gen.engine.complete(ids, max_tokens=8, stop=[], sampling=SamplingParams())
    code = parse_domain(gen.tokenizer.decode(res.tokens))
    return (code, "model") if code else (keyword_domain(question), "fallback")


def classify(
    rows: Sequence[Row],
    classifier: ModelRef | None,
    out_dir: Path,
    *,
    loaded: Any = None,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> tuple[list[Row], dict[str, int]]:
    """Give every row a ``domain``: its own if it has one, else the classifier's (or keywords without one).

    Returns the rows and how many domains came from each method (``input``, ``model``, ``fallback``,
    ``keywords``).
    """
    how: dict[str, int] = {}
    if classifier is None:  # keyword matching is instant: nothing to cache
        store = None
        found_kw = {r.uid: keyword_domain(r.question) for r in rows if r.domain is None}
    else:
        store = JsonlCache(out_dir / "cache" / f"classify-{classifier.slug}.jsonl")
        todo = list(dict((r.uid, r) for r in rows if r.domain is None and r.uid not in store).values())
        gen = (loaded if loaded is not None else classifier.load()) if todo else None
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            if getattr(gen.engine, "max_batch", 0):
                found = [(c, "model") for c in classify_constrained(gen, [r.question for r in batch])]
            else:
                found = [classify_free(gen, r.question) for r in batch]
            store.add({"uid": r.uid, "domain": c, "how": h} for r, (c, h) in zip(batch, found, strict=True))
            if progress is not None:
                progress(classifier.spec, min(start + batch_size, len(todo)), len(todo))
    out: list[Row] = []
    for r in rows:
        if r.domain is not None:
            how["input"] = how.get("input", 0) + 1
            out.append(r)
            continue
        rec = store.get(r.uid) if store is not None else {"domain": found_kw[r.uid], "how": "keywords"}
        assert rec is not None
        how[rec["how"]] = how.get(rec["how"], 0) + 1
        out.append(replace(r, domain=rec["domain"]))
    return out, dict(sorted(how.items()))
