"""A task from any JSONL file: one object per line with a question and an answer field.

Example:
    >>> task = get_task("custom", path="my.jsonl", question_field="prompt", answer_field="target")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.grading.judge import KINDS
from s1kit.tasks import PROMPT_STYLES, Problem, Task


def load(
    name: str,
    version: str,
    path: str | None = None,
    question_field: str = "question",
    answer_field: str = "answer",
    id_field: str | None = None,
    kind: str = "math",
) -> Task:
    """Read ``path`` (JSONL); errors name the line and the field.

    Answers may be strings or numbers. Ids come from ``id_field`` when given, else ``line-<n>``.
    """
    if not path:
        raise S1kitError(
            "the custom task needs a file: --task-file PATH (JSONL with question and answer fields)"
        )
    if kind not in KINDS:
        raise S1kitError(f"custom task kind={kind!r} is invalid: expected one of {list(KINDS)}")
    p = Path(path).expanduser()
    if not p.is_file():
        raise S1kitError(f"custom task file {str(p)!r} not found: expected a JSONL file")
    raw = p.read_bytes()
    problems: list[Problem] = []
    seen: set[str] = set()
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        problems.append(_problem(p, n, line, question_field, answer_field, id_field, kind, seen))
    if not problems:
        raise S1kitError(f"custom task file {str(p)!r} has no rows: expected one JSON object per line")
    options = {
        "path": str(p),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "question_field": question_field,
        "answer_field": answer_field,
        "id_field": id_field,
        "kind": kind,
    }
    return Task(name, version, kind, tuple(problems), options)  # type: ignore[arg-type]


def _problem(
    p: Path, n: int, line: str, qf: str, af: str, idf: str | None, kind: str, seen: set[str]
) -> Problem:
    where = f"{p.name} line {n}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise S1kitError(f"{where}: not valid JSON ({e.msg}): expected one JSON object per line") from None
    if not isinstance(row, dict):
        raise S1kitError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for f in (qf, af) + ((idf,) if idf else ()):
        if f not in row:
            raise S1kitError(f"{where}: missing field {f!r} (fields present: {sorted(row)[:10]})")
    question, answer = row[qf], row[af]
    if not isinstance(question, str) or not question.strip():
        raise S1kitError(f"{where}: field {qf!r} must be a non-empty string")
    if isinstance(answer, bool) or not isinstance(answer, str | int | float) or str(answer).strip() == "":
        raise S1kitError(f"{where}: field {af!r} must be a non-empty string or a number")
    pid = str(row[idf]) if idf else f"line-{n}"
    if pid in seen:
        raise S1kitError(f"{where}: duplicate id {pid!r} in field {idf!r}")
    seen.add(pid)
    return Problem(pid, question, str(answer).strip(), kind)  # type: ignore[arg-type]


__all__ = ["KINDS", "PROMPT_STYLES", "load"]
