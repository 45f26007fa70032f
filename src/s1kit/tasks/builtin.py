"""Loaders for the shipped math tasks: AIME 2024/2025, MATH500 and GSM8K (files in ``data/``).

Provenance and licenses of every file are in ``data/PROVENANCE.md``.
"""

from __future__ import annotations

import json
from typing import Any

from s1kit.tasks import Problem, Task, data_path, sha256_of

FILES = {
    "aime24": "aime24.jsonl",
    "aime25": "aime25.jsonl",
    "math500": "math500.jsonl",
    "gsm8k": "gsm8k.jsonl",
}


def _rows(filename: str) -> list[dict[str, Any]]:
    text = data_path(filename).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _aime(rows: list[dict[str, Any]]) -> list[Problem]:
    # matharena files: official wording, integer answers; ids like "2024-I-1".
    return [Problem(str(r["id"]), r["problem"], str(int(r["answer"])), "aime") for r in rows]


def _math500(rows: list[dict[str, Any]]) -> list[Problem]:
    return [
        Problem(
            r["unique_id"], r["problem"], r["answer"], "math", {"subject": r["subject"], "level": r["level"]}
        )
        for r in rows
    ]


def _gsm8k(rows: list[dict[str, Any]]) -> list[Problem]:
    # The gold is what follows "####" in the worked solution, without thousands separators.
    return [
        Problem(
            f"gsm8k-{i}", r["question"], r["answer"].rsplit("####", 1)[1].strip().replace(",", ""), "math"
        )
        for i, r in enumerate(rows)
    ]


def load(name: str, version: str) -> Task:
    """Load one of the shipped math tasks by name."""
    filename = FILES[name]
    rows = _rows(filename)
    build = {"aime24": _aime, "aime25": _aime, "math500": _math500, "gsm8k": _gsm8k}[name]
    problems = tuple(build(rows))
    kind = problems[0].kind
    return Task(name, version, kind, problems, {"file": filename, "sha256": sha256_of(filename)})
