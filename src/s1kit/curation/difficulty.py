"""Difficulty: keep the questions that every solver model gets wrong, and measure trace lengths.

Each solver answers each question through any backend (the paper: Qwen2.5-7B- and 32B-Instruct);
the answer is graded with :mod:`s1kit.grading.judge` against the reference. Results go to
``<out>/cache/solver-<spec>.jsonl`` as they arrive, keyed by the question's hash, so an interrupted run
resumes where it stopped and a solver whose questions are all cached is never even loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from s1kit.curation.records import Dropped, Row, drop
from s1kit.curation.specs import JsonlCache, ModelRef
from s1kit.errors import ConfigError
from s1kit.forcing.budget import Budget
from s1kit.generation.sampling import SamplingParams

STAGE = "difficulty"
BOXED_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DifficultyConfig:
    """How solvers answer.

    Attributes:
        budget: the solver's thinking and answer budget (instruct solvers mostly answer inside it).
        sampling: decoding settings (greedy by default, as a filter should be reproducible).
        batch_size: questions per ``generate_batch`` call (and per cache flush).
        grade_timeout: seconds allowed to grade one answer.
        format: reasoning format for the solvers (None: the Generator's choice).
    """

    budget: Budget = field(default_factory=lambda: Budget(max_thinking_tokens=1024, max_answer_tokens=256))
    sampling: SamplingParams = field(default_factory=SamplingParams)
    batch_size: int = 8
    grade_timeout: float = 5.0
    format: str | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "an integer >= 1")


def grade_kind(row: Row) -> str:
    return "gpqa" if row.cot_type == "multiple_choice" else "math"


def solve(
    rows: Sequence[Row],
    generator: Any,
    cache: JsonlCache,
    config: DifficultyConfig,
    *,
    name: str = "solver",
    progress: Progress | None = None,
) -> None:
    """Answer and grade every row not yet in ``cache``; results are appended batch by batch."""
    from s1kit.grading.pool import GradingPool

    todo = [r for r in dict((r.uid, r) for r in rows).values() if r.uid not in cache]
    if not todo:
        return
    with GradingPool(workers=1, timeout=config.grade_timeout) as pool:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start : start + config.batch_size]
            outs = generator.generate_batch(
                [r.question + BOXED_SUFFIX for r in batch], config.budget, config.sampling
            )
            verdicts = pool.grade_many(
                [(c.answer, r.gold, grade_kind(r), c.thinking) for r, c in zip(batch, outs, strict=True)]
            )
            cache.add(
                {
                    "uid": r.uid,
                    "correct": bool(v.correct),
                    "extracted": v.extracted,
                    "gold": r.gold,
                    "timed_out": v.timed_out,
                    "thinking_tokens": c.thinking_tokens,
                    "answer_tokens": c.answer_tokens,
                }
                for r, c, v in zip(batch, outs, verdicts, strict=True)
            )
            if progress is not None:
                progress(name, min(start + len(batch), len(todo)), len(todo))


def difficulty(
    rows: Sequence[Row],
    solvers: Sequence[ModelRef],
    out_dir: Path,
    config: DifficultyConfig | None = None,
    *,
    length: Callable[[str], int] | None = None,
    loaded: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[list[Row], list[Dropped]]:
    """Drop rows that any solver answers correctly; record ``trace_tokens`` on the rest.

    Args:
        rows: the rows to filter.
        solvers: solver specs (each loaded only if some question is not cached yet).
        out_dir: the run's output folder (its ``cache/`` holds one JSONL per solver).
        config: solver settings.
        length: counts tokens of a trace with the named tokenizer (None: leave ``trace_tokens``).
        loaded: already-loaded generators by spec (tests and the pipeline share one model).
        progress: called with (solver spec, done, total).
    """
    config = config or DifficultyConfig()
    caches: list[tuple[ModelRef, JsonlCache]] = []
    for ref in solvers:
        cache = JsonlCache(out_dir / "cache" / f"solver-{ref.slug}.jsonl")
        if any(r.uid not in cache for r in rows):
            gen = (loaded or {}).get(ref.spec) or ref.load(config.format)
            if loaded is not None:  # the pipeline reuses it (e.g. as the classifier)
                loaded[ref.spec] = gen
            solve(rows, gen, cache, config, name=ref.spec, progress=progress)
        caches.append((ref, cache))
    kept: list[Row] = []
    dropped: list[Dropped] = []
    for row in rows:
        solved_by = [ref.spec for ref, cache in caches if (cache.get(row.uid) or {}).get("correct")]
        if solved_by:
            dropped.append(drop(row, STAGE, "solved", f"answered correctly by {', '.join(solved_by)}"))
            continue
        if length is not None:
            row = replace(row, trace_tokens=length(row.thinking or ""))
        kept.append(row)
    return kept, dropped


def tokenizer_length(name: str) -> Callable[[str], int]:
    """A token counter for the tokenizer in folder ``name`` (a transformers tokenizer, loaded offline)."""
    from s1kit.errors import MissingExtraError, S1kitError

    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingExtraError("counting trace tokens", "hf", "transformers") from None
    if not Path(name).is_dir():
        raise S1kitError(f"--tokenizer {name!r} is not a folder: expected a transformers tokenizer folder")
    tok = AutoTokenizer.from_pretrained(name)
    return lambda text: len(tok.encode(text, add_special_tokens=False)) if text else 0
