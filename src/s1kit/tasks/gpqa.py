"""GPQA Diamond: read in memory from the password-protected zip; options shuffled with a seed.

The GPQA authors ask that its questions never appear in plain text online (leakage into training
corpora). This module never writes, prints or logs a question: the zip is opened in memory only, and
a run records problem ids (the dataset's ``Record ID``), never the text.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile

from s1kit.errors import S1kitError
from s1kit.tasks import Problem, Task, data_path, sha256_of

ZIP_NAME = "gpqa_diamond.zip"
CSV_NAME = "gpqa_diamond.csv"
PASSWORD = b"deserted-untie-orchid"  # the GPQA authors' published password for their own dataset.zip
LETTERS = "ABCD"


def _rows() -> list[dict[str, str]]:
    raw = data_path(ZIP_NAME).read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        text = z.read(CSV_NAME, pwd=PASSWORD).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def shuffle_options(record_id: str, seed: int, correct: str, incorrect: list[str]) -> tuple[list[str], str]:
    """The four options in a seeded order and the gold letter; the order depends only on (seed, id)."""
    options = [correct, *incorrect]
    order = list(range(4))
    random.Random(f"{seed}:{record_id}").shuffle(order)
    shuffled = [options[i] for i in order]
    return shuffled, LETTERS[order.index(0)]


def load(name: str, version: str, seed: int = 0) -> Task:
    """GPQA Diamond (198 questions) with options shuffled by ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise S1kitError(f"gpqa seed={seed!r} is invalid: expected an integer")
    problems = []
    for row in _rows():
        rid = row["Record ID"].strip()
        incorrect = [row[f"Incorrect Answer {k}"].strip() for k in (1, 2, 3)]
        options, gold = shuffle_options(rid, seed, row["Correct Answer"].strip(), incorrect)
        body = "\n".join(f"{letter}) {text}" for letter, text in zip(LETTERS, options, strict=True))
        question = f"{row['Question'].strip()}\n\n{body}"
        meta = {"domain": row["High-level domain"].strip(), "subdomain": row["Subdomain"].strip()}
        problems.append(Problem(rid, question, gold, "gpqa", meta))
    return Task(name, version, "gpqa", tuple(problems), {"seed": seed, "sha256": sha256_of(ZIP_NAME)})
