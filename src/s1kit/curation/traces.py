"""Traces: a teacher model writes a reasoning trace and an attempt for every question of a pool.

Output is one JSONL line per question in the s1K schema (``question``, ``solution``, ``cot_type``,
``source_type``, ``metadata``, ``thinking_trajectories``, ``attempt``) plus ``id`` and ``answer``,
with the generation record (token counts, whether the budget forced the end, finish reason, timings)
in ``metadata``. Lines are appended as batches finish; a rerun skips questions already in the file,
so an interrupted run resumes. Engines with step access batch in the decoding loop; HTTP engines get
``workers`` concurrent requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1kit.curation.records import Row, question_uid
from s1kit.errors import ConfigError
from s1kit.forcing.budget import Budget
from s1kit.generation.sampling import SamplingParams

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TracesConfig:
    """Teacher settings.

    Attributes:
        budget: thinking and answer budget of the teacher.
        sampling: decoding settings (the seed makes sampled traces reproducible).
        batch_size: questions per batch (one cache flush per batch).
        workers: concurrent requests for engines without step access (HTTP servers).
        suffix: appended to each question (the answer convention the attempt should follow).
    """

    budget: Budget = field(default_factory=lambda: Budget(max_thinking_tokens=4096, max_answer_tokens=1024))
    sampling: SamplingParams = field(default_factory=SamplingParams)
    batch_size: int = 8
    workers: int = 4
    suffix: str = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "an integer >= 1")
        if self.workers < 1:
            raise ConfigError("workers", self.workers, "an integer >= 1")


def done_uids(path: Path) -> set[str]:
    """Questions already in an output file (a torn last line is ignored and cut off)."""
    if not path.is_file():
        return set()
    good: list[str] = []
    uids: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("question"), str):
                uids.add(question_uid(rec["question"]))
                good.append(line if line.endswith("\n") else line + "\n")
    path.write_text("".join(good), encoding="utf-8")
    return uids


def trace_record(row: Row, completion: Any, teacher: str, budget: Budget) -> dict[str, Any]:
    """One output line: the s1K fields, ``id`` and ``answer``, and the generation record."""
    meta = dict(row.metadata)
    meta.update(
        {
            "teacher": teacher,
            "budget": budget.to_dict(),
            "thinking_tokens": completion.thinking_tokens,
            "answer_tokens": completion.answer_tokens,
            "forced_end": completion.forced_end,
            "ignored_stops": completion.ignored_stops,
            "finish_reason": completion.finish_reason,
            "timings": completion.timings.to_dict(),
        }
    )
    return {
        "id": row.id,
        "question": row.question,
        "answer": row.gold,
        "solution": row.solution or row.gold,
        "cot_type": row.cot_type,
        "source_type": row.source,
        "metadata": meta,
        "thinking_trajectories": [completion.thinking],
        "attempt": completion.answer,
    }


def _generate(gen: Any, questions: list[str], config: TracesConfig) -> list[Any]:
    if getattr(gen.engine, "max_batch", 0):
        return gen.generate_batch(questions, config.budget, config.sampling)
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        return list(pool.map(lambda q: gen.generate(q, config.budget, config.sampling), questions))


def generate_traces(
    rows: Sequence[Row],
    gen: Any,
    out: Path,
    config: TracesConfig | None = None,
    *,
    teacher: str = "teacher",
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Write a trace for each row not yet in ``out``; returns (newly written, already there).

    Example:
        >>> gen = ModelRef("default", "auto", "default").load()  # doctest: +SKIP
        >>> generate_traces(rows, gen, Path("traces.jsonl"))       # doctest: +SKIP
        (120, 0)
    """
    config = config or TracesConfig()
    out.parent.mkdir(parents=True, exist_ok=True)
    done = done_uids(out)
    todo = list(dict((r.uid, r) for r in rows if r.uid not in done).values())
    written = 0
    with out.open("a", encoding="utf-8") as f:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start : start + config.batch_size]
            outs = _generate(gen, [r.question + config.suffix for r in batch], config)
            for row, completion in zip(batch, outs, strict=True):
                rec = trace_record(row, completion, teacher, config.budget)
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            written += len(batch)
            if progress is not None:
                progress(written, len(todo))
    return written, len(rows) - len(todo)
