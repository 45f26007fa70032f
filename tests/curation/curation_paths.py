"""Paths of the curation test fixtures: small slices of the shipped pool (never GPQA), known outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SHARED

FIXTURES = Path(__file__).parent / "fixtures"
TRACES = FIXTURES / "traces_small.jsonl"
POOL = FIXTURES / "pool"
MALFORMED = FIXTURES / "malformed.jsonl"
SHARED_POOL = SHARED / "pool"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
