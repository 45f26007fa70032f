"""Decontaminate: drop pool questions that share a word 8-gram with an evaluation question (s1's rule).

The evaluation questions are every task s1kit ships (MATH-500, AIME 2024 and 2025, GSM8K, GPQA
Diamond; GPQA is read from its password-protected zip in memory and never written out) plus any extra
file the user names. Hits are reported by task and evaluation index, never by the evaluation text.

Known issue: the rule is strict. Boilerplate such as "relatively prime positive integers find m n"
is an 8-gram shared by many unrelated AIME-style questions; raise ``min_hits`` to demand more
than one shared 8-gram.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.curation.records import Dropped, Row, drop
from s1kit.errors import ConfigError, S1kitError

STAGE = "decontam"
_WORD = re.compile(r"\w+")
GPQA_PASSWORD = b"deserted-untie-orchid"
QUESTION_FIELDS = ("problem", "question", "Question")


@dataclass(frozen=True)
class DecontamConfig:
    """Options of the decontamination stage.

    Attributes:
        n: words per n-gram (the paper: 8).
        min_hits: shared n-grams needed to call a row contaminated (the paper: 1).
        extra: more files of evaluation questions (JSONL/JSON/CSV with a question field, or text).
        tasks: restrict to these shipped tasks (None: all of them).
    """

    n: int = 8
    min_hits: int = 1
    extra: tuple[str, ...] = ()
    tasks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError("n", self.n, "an integer >= 1")
        if self.min_hits < 1:
            raise ConfigError("min_hits", self.min_hits, "an integer >= 1")


@dataclass
class DecontamReport:
    """Hits per evaluation set (rows dropped because of it) and the size of each set."""

    hits: Counter[str] = field(default_factory=Counter)
    eval_sizes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "hits": dict(sorted(self.hits.items())),
            "eval_questions": dict(sorted(self.eval_sizes.items())),
        }


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def ngrams(text: str, n: int) -> set[str]:
    w = words(text)
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def shipped_tasks() -> dict[str, list[str]]:
    """The questions of every task s1kit ships, from :mod:`s1kit.tasks` (GPQA read in memory)."""
    from s1kit.tasks import TASKS, get_task

    return {name: [p.question for p in get_task(name).problems] for name in sorted(TASKS) if name != "custom"}


def _questions_from_records(records: Iterable[object]) -> list[str]:
    out = []
    for rec in records:
        if isinstance(rec, dict):
            q = next((rec[k] for k in QUESTION_FIELDS if isinstance(rec.get(k), str)), None)
            if q:
                out.append(q)
    return out


def read_questions(path: Path) -> list[str]:
    """Questions of one evaluation file: JSONL/JSON/CSV with a question field, a GPQA zip, or text."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".csv")]
            text = "".join(zf.read(n, pwd=GPQA_PASSWORD).decode("utf-8") for n in names)
        return _questions_from_records(csv.DictReader(io.StringIO(text)))
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            return _questions_from_records(json.loads(line) for line in f if line.strip())
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return _questions_from_records(data if isinstance(data, list) else [data])
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return _questions_from_records(csv.DictReader(f))
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def eval_sets(config: DecontamConfig) -> dict[str, list[str]]:
    """Every evaluation set to check against: ``{task: [question, ...]}``."""
    sets = {k: v for k, v in shipped_tasks().items() if config.tasks is None or k in config.tasks}
    for extra in config.extra:
        p = Path(extra)
        if not p.is_file():
            raise S1kitError(f"--decontam-extra {extra!r} not found: expected a file of evaluation questions")
        sets[f"extra:{p.name}"] = read_questions(p)
    return sets


def build_index(sets: dict[str, list[str]], n: int) -> dict[str, tuple[str, int]]:
    """n-gram -> (task, index of the first evaluation question that has it)."""
    index: dict[str, tuple[str, int]] = {}
    for task in sorted(sets):
        for i, q in enumerate(sets[task]):
            for g in ngrams(q, n):
                index.setdefault(g, (task, i))
    return index


def decontaminate(
    rows: Sequence[Row], config: DecontamConfig | None = None, *, sets: dict[str, list[str]] | None = None
) -> tuple[list[Row], list[Dropped], DecontamReport]:
    """Drop rows sharing at least ``min_hits`` word n-grams with an evaluation question.

    Example:
        >>> kept, dropped, report = decontaminate(rows)  # doctest: +SKIP
        >>> report.hits  # doctest: +SKIP
        Counter({'math500': 812, 'aime24': 3})
    """
    config = config or DecontamConfig()
    sets = eval_sets(config) if sets is None else sets
    index = build_index(sets, config.n)
    report = DecontamReport(eval_sizes={k: len(v) for k, v in sets.items()})
    kept: list[Row] = []
    dropped: list[Dropped] = []
    n = config.n
    for row in rows:
        w = words(row.question)
        hits = [index[g] for g in (" ".join(w[i : i + n]) for i in range(len(w) - n + 1)) if g in index]
        if len(hits) >= config.min_hits:
            task, idx = Counter(hits).most_common(1)[0][0]
            report.hits[task] += 1
            detail = f"{len(hits)} shared {n}-gram(s) with {task}[{idx}]"
            dropped.append(drop(row, STAGE, f"contaminated:{task}", detail))
        else:
            kept.append(row)
    return kept, dropped, report
