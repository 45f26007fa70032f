"""Curation: from a question pool to an s1K-style dataset (quality, difficulty, diversity).

Each stage is a function from rows to (kept rows, dropped rows); :func:`run_pipeline` chains them and
writes the output folder. See ``docs/curation.md``.

Example:
    >>> from s1kit.curation import ingest, dedup, quality
    >>> rows = ingest(["pool.jsonl"]).rows          # doctest: +SKIP
    >>> rows, dropped = dedup(rows)                  # doctest: +SKIP
    >>> rows, dropped = quality(rows)                # doctest: +SKIP
"""

from __future__ import annotations

from s1kit.curation.decontam import DecontamConfig, decontaminate
from s1kit.curation.dedup import DedupConfig, dedup
from s1kit.curation.difficulty import DifficultyConfig, difficulty
from s1kit.curation.diversity import classify, msc_codes
from s1kit.curation.ingest import IngestResult, Malformed, ingest, parse_mapping, read_file
from s1kit.curation.pipeline import STAGES, CurateOptions, run_pipeline
from s1kit.curation.quality import RULES, QualityConfig, quality
from s1kit.curation.records import Dropped, Row
from s1kit.curation.sampler import Pick, sample_diverse
from s1kit.curation.specs import ModelRef, parse_spec, parse_specs
from s1kit.curation.traces import TracesConfig, generate_traces

__all__ = [
    "RULES",
    "STAGES",
    "CurateOptions",
    "DecontamConfig",
    "DedupConfig",
    "DifficultyConfig",
    "Dropped",
    "IngestResult",
    "Malformed",
    "ModelRef",
    "Pick",
    "QualityConfig",
    "Row",
    "TracesConfig",
    "classify",
    "decontaminate",
    "dedup",
    "difficulty",
    "generate_traces",
    "ingest",
    "msc_codes",
    "parse_mapping",
    "parse_spec",
    "parse_specs",
    "quality",
    "read_file",
    "run_pipeline",
    "sample_diverse",
]
