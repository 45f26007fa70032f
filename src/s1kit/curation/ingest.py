"""Ingest: JSONL, JSON, CSV, Parquet or a ``datasets`` folder into :class:`Row` objects.

A field mapping (``question=problem,answer=solution``) says which input field fills each common
field; without one, the usual names are tried (``question``/``problem``, ``answer``/``final_answer``,
``thinking_trajectories``/``thinking`` ...). Malformed rows (bad JSON, a missing or wrongly typed
field) are set aside with their line number and the reason; a mapping that matches nothing, an
empty input or an unreadable file is a :class:`~s1kit.errors.S1kitError`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from s1kit.curation.pool import is_pool_dir, read_pool
from s1kit.curation.records import IngestResult, Malformed, Row, as_text
from s1kit.errors import MissingExtraError, S1kitError

COMMON_FIELDS = (
    "id",
    "question",
    "answer",
    "solution",
    "source",
    "thinking",
    "attempt",
    "cot_type",
    "domain",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "question": ("question", "problem", "Question", "prompt"),
    "answer": ("answer", "final_answer", "Answer", "gt"),
    "solution": ("solution", "explanation"),
    "source": ("source_type", "source"),
    "thinking": ("thinking_trajectories", "thinking", "reasoning"),
    "attempt": ("attempt",),
    "cot_type": ("cot_type",),
    "domain": ("domain_code", "msc"),
    "id": ("id",),
}


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``question=problem,answer=solution`` into ``{"question": "problem", ...}``."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise S1kitError(
                f"--map entry {part!r} is invalid: expected FIELD=INPUT_FIELD, e.g. question=problem"
            )
        if key not in COMMON_FIELDS:
            raise S1kitError(f"--map field {key!r} is unknown: expected one of {', '.join(COMMON_FIELDS)}")
        out[key] = value
    return out


def _pick(record: Mapping[str, Any], key: str, mapping: Mapping[str, str]) -> tuple[str | None, Any]:
    names = (mapping[key],) if key in mapping else ALIASES[key]
    for name in names:
        if name in record and record[name] is not None:
            return name, record[name]
    return None, None


def to_row(record: Any, mapping: Mapping[str, str], *, row_id: str, source: str) -> Row:
    """Build a :class:`Row` from one input record; ``ValueError`` says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"row is a {type(record).__name__}, expected a JSON object")
    name, question = _pick(record, "question", mapping)
    if name is None:
        raise ValueError(f"missing field {mapping.get('question', 'question')!r}")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(
            f"field {name!r} is {'empty' if isinstance(question, str) else type(question).__name__}"
        )
    values: dict[str, Any] = {}
    for key in ("answer", "solution", "source", "attempt", "cot_type", "domain", "id"):
        fname, value = _pick(record, key, mapping)
        if fname is not None:
            values[key] = as_text(value, fname)
    tname, thinking = _pick(record, "thinking", mapping)
    if isinstance(thinking, list):  # s1K keeps a list of trajectories; the first is the trace
        thinking = thinking[0] if thinking else ""
    if thinking is not None and not isinstance(thinking, str):
        raise ValueError(f"field {tname!r} has type {type(thinking).__name__}, expected text")
    meta = record.get("metadata")
    if isinstance(meta, str):
        meta = {"raw": meta}
    elif meta is not None and not isinstance(meta, dict):
        raise ValueError(f"field 'metadata' has type {type(meta).__name__}, expected an object")
    return Row(
        id=values.pop("id", None) or row_id,
        question=question.strip(),
        answer=values.get("answer", ""),
        solution=values.get("solution", ""),
        source=values.get("source") or source,
        thinking=thinking,
        attempt=values.get("attempt"),
        cot_type=values.get("cot_type") or "math",
        metadata=dict(meta or {}),
        domain=values.get("domain"),
    )


def _records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield ``(line, record, error)`` for each row of a file or ``datasets`` folder."""
    suffix = path.suffix.lower()
    if path.is_dir():
        try:
            import datasets
        except ImportError:
            raise MissingExtraError("reading a datasets folder", "train", "datasets") from None
        try:
            ds = datasets.load_from_disk(str(path))
        except Exception as e:  # noqa: BLE001 - any failure here is a bad folder
            raise S1kitError(f"{path} is not a datasets folder saved with save_to_disk ({e})") from None
        if isinstance(ds, datasets.DatasetDict):
            if "train" not in ds:
                raise S1kitError(f"{path} holds splits {sorted(ds)}: expected one with a 'train' split")
            ds = ds["train"]
        for i, rec in enumerate(ds, 1):
            yield i, rec, None
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield i, json.loads(line), None
                except json.JSONDecodeError as e:
                    yield i, None, f"bad JSON ({e.msg} at column {e.colno})"
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise S1kitError(f"{path} is not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(data, list):
            raise S1kitError(f"{path} holds a JSON {type(data).__name__}: expected an array of objects")
        for i, rec in enumerate(data, 1):
            yield i, rec, None
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            for i, rec in enumerate(csv.DictReader(f), 1):
                yield i, rec, None
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingExtraError("reading Parquet", "curate", "pyarrow") from None
        for i, rec in enumerate(pq.read_table(path).to_pylist(), 1):
            yield i, rec, None
    else:
        raise S1kitError(
            f"{path}: unknown input format {suffix!r}: expected .jsonl, .json, .csv, .parquet or a folder"
        )


def read_file(
    path: str | Path, mapping: Mapping[str, str] | None = None, *, source: str | None = None
) -> IngestResult:
    """Read one file (or ``datasets`` folder) into rows; malformed rows are set aside, not raised.

    Example:
        >>> res = read_file("pool.jsonl", {"question": "problem"})  # doctest: +SKIP
        >>> len(res.rows), [(m.line, m.reason) for m in res.malformed]  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise S1kitError(
            f"input {str(path)!r} not found: expected a .jsonl, .json, .csv, .parquet file or a folder"
        )
    mapping = dict(mapping or {})
    src = source or path.stem
    out = IngestResult()
    seen_fields: set[str] = set()
    for line, rec, error in _records(path):
        if error is None and isinstance(rec, dict):
            seen_fields.update(rec)
        try:
            if error is not None:
                raise ValueError(error)
            out.rows.append(to_row(rec, mapping, row_id=f"{src}:{line}", source=src))
        except ValueError as e:
            out.malformed.append(Malformed(str(path), line, str(e)))
    missing = sorted(v for v in mapping.values() if v not in seen_fields)
    if missing and seen_fields:
        raise S1kitError(
            f"--map names field(s) {missing} that no row of {path} has: fields present are {sorted(seen_fields)[:20]}"
        )
    if seen_fields and not out.rows:
        raise S1kitError(
            f"no row of {path} has a question field: expected one of {list(ALIASES['question'])} "
            f"or --map question=FIELD (fields present: {sorted(seen_fields)[:20]})"
        )
    return out


def ingest(paths: list[str | Path], mapping: Mapping[str, str] | None = None) -> IngestResult:
    """Read every input; a folder that is the shipped question pool is read with its own field map."""
    out = IngestResult()
    for p in paths:
        out.extend(read_pool(p) if is_pool_dir(Path(p)) else read_file(p, mapping))
    if not out.rows:
        raise S1kitError(f"the input {', '.join(map(str, paths))} holds no usable rows")
    return out
