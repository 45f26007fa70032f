"""The shipped question pool (``shared/pool/``): each file's fields mapped to the common schema.

Every file has its own layout (see the pool's README, section 2); one small function per layout turns
a record into ``question, answer, solution, source`` plus metadata. Files named ``*DO_NOT_TRAIN*``
(traces on an evaluation set) are skipped; ``msc.json`` is the domain list, not questions.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from s1kit.curation.records import IngestResult, Malformed, Row, as_text
from s1kit.grading.extract import last_boxed

Mapper = Callable[[dict[str, Any]], dict[str, Any]]

THOUGHT_END = "<|end_of_thought|>"
SOLUTION_START, SOLUTION_END = "<|begin_of_solution|>", "<|end_of_solution|>"


def _math(r: dict[str, Any]) -> dict[str, Any]:
    meta = {k: r[k] for k in ("unique_id", "subject", "level") if k in r}
    return {
        "question": r["problem"],
        "answer": r.get("answer"),
        "solution": r.get("solution"),
        "metadata": meta,
    }


def _problem(r: dict[str, Any]) -> dict[str, Any]:
    q = r.get("problem") or r.get("question")
    sol = r.get("solution")
    answer = r.get("answer")
    if answer is None and isinstance(sol, str):
        answer = last_boxed(sol)
    meta = {k: r[k] for k in ("subject", "year", "difficulty", "url", "type", "data_topic") if k in r}
    return {"question": q, "answer": answer, "solution": sol, "metadata": meta}


def _aime_csv(r: dict[str, Any]) -> dict[str, Any]:
    return {"question": r["Question"], "answer": r["Answer"], "metadata": {"year": r["Year"], "id": r["ID"]}}


def _olympiadbench(r: dict[str, Any]) -> dict[str, Any]:
    q = r["question"] if not r.get("context") else f"{r['context']}\n{r['question']}"
    sol = r.get("solution") or []
    return {
        "question": q,
        "answer": r.get("final_answer"),
        "solution": "\n\n".join(sol) if isinstance(sol, list) else sol,
        "metadata": {"subfield": r.get("subfield")},
    }


def _omni(r: dict[str, Any]) -> dict[str, Any]:
    meta = {"domain": r.get("domain"), "difficulty": r.get("difficulty"), "competition": r.get("source")}
    return {
        "question": r["problem"],
        "answer": r.get("answer"),
        "solution": r.get("solution"),
        "metadata": meta,
    }


def _theoremqa(r: dict[str, Any]) -> dict[str, Any]:
    expl = r.get("explanation")
    meta = {"field": r.get("field"), "subfield": r.get("subfield"), "picture": r.get("Picture")}
    return {
        "question": r["Question"],
        "answer": r.get("Answer"),
        "solution": "" if expl in (None, "NONE") else expl,
        "metadata": meta,
    }


def _agieval(r: dict[str, Any]) -> dict[str, Any]:
    parts = [p for p in (r.get("passage"), r.get("question")) if p]
    if r.get("options"):
        parts.append("\n".join(r["options"]))
    other = r.get("other") if isinstance(r.get("other"), dict) else {}
    answer = r.get("label") or r.get("answer")
    cot = "multiple_choice" if r.get("label") else "math"
    return {
        "question": "\n".join(parts),
        "answer": answer,
        "solution": other.get("solution", ""),
        "cot_type": cot,
        "metadata": {"level": other.get("level")} if other.get("level") else {},
    }


def split_skythought(trace: str) -> tuple[str, str]:
    """Split a Sky-T1 trace into thinking and attempt; no end-of-thought marker: attempt is empty."""
    body = trace.replace("<|begin_of_thought|>", "", 1)
    if THOUGHT_END not in body:
        return body.strip(), ""
    thinking, _, rest = body.partition(THOUGHT_END)
    attempt = rest.replace(SOLUTION_START, "").replace(SOLUTION_END, "")
    return thinking.strip(), attempt.strip()


def _skythought(r: dict[str, Any]) -> dict[str, Any]:
    code = r.get("code") or [""]
    thinking, attempt = split_skythought(code[0] if isinstance(code, list) else str(code))
    return {
        "question": r["question"],
        "answer": r.get("gt"),
        "solution": "" if r.get("gt_cot") in (None, "None") else r["gt_cot"],
        "thinking": thinking,
        "attempt": attempt,
        "metadata": {"teacher": "Sky-T1-math-correct-5K"},
    }


def mapper_for(rel: str) -> Mapper | None:
    """The mapping for a pool file (path relative to the pool root); None to skip the file."""
    name = Path(rel).name
    if "DO_NOT_TRAIN" in name or name in ("msc.json", "manifest.json"):
        return None
    top = Path(rel).parts[0]
    table: dict[str, Mapper] = {
        "math": _math,
        "olympiadbench": _olympiadbench,
        "omni_math": _omni,
        "theoremqa": _theoremqa,
        "agieval": _agieval,
        "traces_skythought": _skythought,
    }
    if name.endswith(".csv"):
        return _aime_csv if top == "aime" else None
    return table.get(top, _problem)


def _load(path: Path) -> list[Any] | None:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return None


def pool_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".jsonl", ".json", ".csv") and p.is_file())


def is_pool_dir(path: Path) -> bool:
    """True for the shipped pool folder (it has ``manifest.json`` beside the data files)."""
    return path.is_dir() and (path / "manifest.json").is_file() and (path / "math").is_dir()


def _convert(fields: dict[str, Any], row_id: str, source: str) -> Row:
    q = fields.get("question")
    if not isinstance(q, str) or not q.strip():
        raise ValueError("empty or missing question")
    return Row(
        id=row_id,
        question=q.strip(),
        answer=as_text(fields.get("answer"), "answer"),
        solution=as_text(fields.get("solution"), "solution"),
        source=source,
        thinking=fields.get("thinking"),
        attempt=fields.get("attempt"),
        cot_type=fields.get("cot_type", "math"),
        metadata={k: v for k, v in fields.get("metadata", {}).items() if v is not None},
    )


def read_pool(root: str | Path) -> IngestResult:
    """Read every question file of the shipped pool, in sorted path order (deterministic ids)."""
    root = Path(root)
    out = IngestResult()
    for path in pool_files(root):
        rel = path.relative_to(root).as_posix()
        mapper = mapper_for(rel)
        if mapper is None:
            continue
        source = rel.rsplit(".", 1)[0]
        loaded = _load(path)
        records = enumerate(loaded, 1) if loaded is not None else _jsonl(path)
        for line, rec in records:
            try:
                if isinstance(rec, Malformed):
                    raise ValueError(rec.reason)
                out.rows.append(_convert(mapper(rec), f"{source}:{line}", source))
            except (ValueError, KeyError, TypeError) as e:
                out.malformed.append(Malformed(str(path), line, f"{type(e).__name__}: {e}"))
    return out


def _jsonl(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield i, json.loads(line)
                except json.JSONDecodeError as e:
                    yield i, Malformed(str(path), i, f"bad JSON ({e.msg})")
