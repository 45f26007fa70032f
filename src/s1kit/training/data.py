"""Training rows from s1K-schema files and from Sky-T1 trace dumps.

Accepted inputs:

* JSONL, JSON (a list of objects) or Parquet with ``question``, ``thinking_trajectories`` (a string or
  a list of strings, joined by newlines as the s1 code does) and ``attempt``: the s1K schema and the
  output of ``s1kit curate``;
* the s1K-1.1 column names ``deepseek_thinking_trajectory`` and ``deepseek_attempt`` (preferred when
  present, as in s1.1);
* Sky-T1 evaluation dumps (``code`` holds ``<|begin_of_thought|> ... <|end_of_thought|>
  <|begin_of_solution|> ... <|end_of_solution|>``), as in ``shared/pool/traces_skythought/``: only
  rows graded correct whose thought is closed are kept. Files whose name says ``EVALSET_DO_NOT_TRAIN``
  hold traces on an evaluation benchmark and are refused unless ``allow_eval_sets=True``.

A folder is read as every ``*.jsonl``/``*.json``/``*.parquet`` file in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError

EVAL_SET_MARK = "EVALSET_DO_NOT_TRAIN"
BEGIN_THOUGHT, END_THOUGHT = "<|begin_of_thought|>", "<|end_of_thought|>"
BEGIN_SOLUTION, END_SOLUTION = "<|begin_of_solution|>", "<|end_of_solution|>"


@dataclass(frozen=True)
class Example:
    """One supervised row: a question, the reasoning that answers it, and the final answer."""

    question: str
    thinking: str
    attempt: str
    source: str = ""


@dataclass(frozen=True)
class LoadReport:
    """How many rows each file gave and how many were dropped, with the reason."""

    files: tuple[str, ...]
    rows: int
    dropped: tuple[tuple[str, int], ...]  # (reason, count)
    skipped_files: tuple[str, ...] = ()  # evaluation-set trace files left out of a folder

    def summary(self) -> str:
        text = f"{self.rows} rows from {len(self.files)} file(s)"
        if self.dropped:
            text += "; dropped " + ", ".join(f"{n} {why}" for why, n in self.dropped)
        if self.skipped_files:
            text += f"; skipped {len(self.skipped_files)} evaluation-set file(s): " + ", ".join(
                self.skipped_files
            )
        return text


def load_examples(path: str | Path, *, allow_eval_sets: bool = False) -> tuple[list[Example], LoadReport]:
    """Read training rows from a file or a folder of files.

    Raises:
        S1kitError: for a missing path, an unreadable file, a row without the needed fields, an
            evaluation-set trace file (unless allowed), or no rows at all.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise S1kitError(f"training data {str(path)!r} not found: expected a .jsonl, .json or .parquet file")
    files = (
        sorted(f for f in p.iterdir() if f.suffix in (".jsonl", ".json", ".parquet")) if p.is_dir() else [p]
    )
    skipped = [f.name for f in files if EVAL_SET_MARK in f.name] if p.is_dir() and not allow_eval_sets else []
    files = [f for f in files if f.name not in skipped]  # a folder's eval-set files: left out, and reported
    if not files:
        raise S1kitError(f"{p} holds no .jsonl, .json or .parquet file")
    examples: list[Example] = []
    dropped: dict[str, int] = {}
    for f in files:
        if EVAL_SET_MARK in f.name and not allow_eval_sets:
            raise S1kitError(
                f"{f.name} holds traces on an evaluation benchmark (contaminated for training): "
                "pass --allow-eval-sets only if you will not evaluate on that benchmark"
            )
        for i, row in enumerate(_read_rows(f)):
            ex, why = _to_example(row, f"{f.name}:{i + 1}")
            if ex is None:
                dropped[why] = dropped.get(why, 0) + 1
            else:
                examples.append(ex)
    report = LoadReport(
        tuple(str(f) for f in files), len(examples), tuple(sorted(dropped.items())), tuple(skipped)
    )
    if not examples:
        raise S1kitError(
            f"the dataset {p} is empty: no usable (question, thinking, attempt) row ({report.summary()})"
        )
    return examples, report


def _read_rows(f: Path) -> Iterable[dict[str, Any]]:
    if f.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as e:
            raise S1kitError("reading Parquet needs pyarrow: pip install 's1kit[curate]'") from e
        try:
            yield from pq.read_table(f).to_pylist()
        except Exception as e:  # pyarrow raises several types for a bad file
            raise S1kitError(f"{f} is not a readable Parquet file: {e}") from None
        return
    try:
        text = f.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise S1kitError(f"cannot read {f}: {e}") from None
    if f.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise S1kitError(f"{f} is not valid JSON: {e}") from None
        if not isinstance(data, list):
            raise S1kitError(f"{f} must hold a JSON list of rows")
        yield from data
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise S1kitError(f"{f}:{n} is not valid JSON: {e}") from None
        yield row


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return None


def _to_example(row: Any, where: str) -> tuple[Example | None, str]:
    if not isinstance(row, dict):
        raise S1kitError(f"{where}: a row must be a JSON object")
    if "code" in row and "thinking_trajectories" not in row:
        return _from_sky_t1(row, where)
    question = _text(row.get("question"))
    thinking = _text(row.get("deepseek_thinking_trajectory")) or _text(row.get("thinking_trajectories"))
    attempt = _text(row.get("deepseek_attempt")) or _text(row.get("attempt"))
    missing = [
        name
        for name, v in (("question", question), ("thinking_trajectories", thinking), ("attempt", attempt))
        if v is None
    ]
    if missing:
        raise S1kitError(
            f"{where}: missing or non-text field(s) {missing}: expected question, thinking_trajectories "
            "(str or list of str) and attempt (or deepseek_thinking_trajectory/deepseek_attempt)"
        )
    assert question is not None and thinking is not None and attempt is not None
    if not question.strip() or not thinking.strip() or not attempt.strip():
        return None, "rows with an empty field"
    return Example(
        question, thinking, attempt, source=str(row.get("source_type") or row.get("source") or "")
    ), ""


def _from_sky_t1(row: dict[str, Any], where: str) -> tuple[Example | None, str]:
    """Convert a Sky-T1 dump row; incorrect or unfinished traces are dropped (counted by reason)."""
    question, trace = _text(row.get("question")), _text(row.get("code"))
    if question is None or trace is None:
        raise S1kitError(f"{where}: a Sky-T1 row needs 'question' and 'code' (the trace)")
    score = row.get("score")
    if isinstance(score, list):
        score = bool(score) and bool(score[0])
    if score is False:
        return None, "traces graded incorrect"
    if END_THOUGHT not in trace:
        return None, "unfinished traces (no <|end_of_thought|>)"
    thought, _, rest = trace.partition(END_THOUGHT)
    thought = thought.replace(BEGIN_THOUGHT, "").strip()
    solution = rest.replace(BEGIN_SOLUTION, "").split(END_SOLUTION)[0].strip()
    if not thought or not solution:
        return None, "rows with an empty field"
    return Example(question, thought, solution, source="sky-t1"), ""
