"""Model spec strings for curation (``hf:PATH``, ``llamacpp:PATH``, ``openai:URL``, ``default``) and the
small JSONL cache that every model-calling stage keeps in the output folder so that it can resume.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError

BACKEND_PREFIXES = ("hf", "llamacpp", "openai")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model spec: the backend name for ``Generator.load`` and the model argument."""

    spec: str
    backend: str
    model: str

    @property
    def slug(self) -> str:
        """A file-name-safe name for this model's cache file."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.spec).strip("_")[-80:] or "model"

    def load(self, format: str | None = None) -> Any:
        """Load a :class:`~s1kit.generate.Generator` for this spec."""
        from s1kit.generation.generator import Generator

        return Generator.load(self.model, backend=self.backend, format=format)


def parse_spec(text: str) -> ModelRef:
    """Parse one model spec.

    Example:
        >>> parse_spec("hf:/models/qwen-7b")
        ModelRef(spec='hf:/models/qwen-7b', backend='hf', model='/models/qwen-7b')
        >>> parse_spec("default").backend
        'auto'
    """
    text = text.strip()
    if not text:
        raise S1kitError("empty model spec: expected hf:PATH, llamacpp:PATH, openai:URL or default")
    prefix, sep, rest = text.partition(":")
    if sep and prefix in BACKEND_PREFIXES:
        if not rest:
            raise S1kitError(f"model spec {text!r} has no path or URL after '{prefix}:'")
        return ModelRef(text, prefix, rest)
    if text == "default" or Path(text).exists() or text.startswith(("http://", "https://")):
        return ModelRef(text, "auto", text)
    raise S1kitError(
        f"model spec {text!r} is invalid: expected hf:PATH, llamacpp:PATH, openai:URL, default or a path"
    )


def parse_specs(text: str | None) -> list[ModelRef]:
    """Parse a comma-separated list of specs (``--solvers hf:A,hf:B``)."""
    if not text:
        return []
    return [parse_spec(part) for part in text.split(",") if part.strip()]


class JsonlCache:
    """An append-only JSONL file of ``{"uid": ..., ...}`` records; a torn last line is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # an interrupted write
                    if isinstance(rec, dict) and "uid" in rec:
                        self.records[rec["uid"]] = rec
            # rewrite without a torn tail so later appends start on a fresh line
            self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for rec in self.records.values():
                f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        tmp.replace(self.path)

    def __contains__(self, uid: str) -> bool:
        return uid in self.records

    def get(self, uid: str) -> dict[str, Any] | None:
        return self.records.get(uid)

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            for rec in records:
                self.records[rec["uid"]] = rec
                f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
            f.flush()
