"""Checks every verb runs on its arguments before loading anything: numbers in range, output paths usable.

Each failure is an :class:`~s1kit.errors.S1kitError` with one line naming the flag and what was expected
(the CLI prints it and exits 2), raised in a fraction of a second, never after a model load.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from s1kit.errors import S1kitError

MAX_TOKENS = 10**9  # a token count beyond any context: surely a typo


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_numbers(
    args: argparse.Namespace,
    *,
    positive: Iterable[str] = (),
    non_negative: Iterable[str] = (),
    positive_float: Iterable[str] = (),
) -> None:
    """Integers >= 1, integers >= 0 (both at most :data:`MAX_TOKENS`), finite floats > 0; unset is fine."""
    for names, low in ((positive, 1), (non_negative, 0)):
        for name in names:
            value = getattr(args, name, None)
            if value is None or isinstance(value, str):  # unset, or a sweep list parsed elsewhere
                continue
            if not isinstance(value, int) or not low <= value <= MAX_TOKENS:
                raise S1kitError(
                    f"{_flag(name)}={value} is invalid: expected an integer from {low} to {MAX_TOKENS}"
                )
    for name in positive_float:
        value = getattr(args, name, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise S1kitError(f"{_flag(name)}={value} is invalid: expected a number > 0")


def check_budget_args(args: argparse.Namespace) -> None:
    """The budget-forcing and sampling options of :mod:`s1kit.cli.common` (where the verb has them)."""
    check_numbers(
        args,
        positive=("max_answer_tokens",),
        non_negative=("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "top_k"),
    )
    t = getattr(args, "temperature", None)
    if t is not None and not (math.isfinite(t) and 0 <= t <= 2):
        raise S1kitError(f"--temperature={t} is invalid: expected a number from 0 to 2")
    p = getattr(args, "top_p", None)
    if p is not None and not (math.isfinite(p) and 0 < p <= 1):
        raise S1kitError(f"--top-p={p} is invalid: expected a number in (0, 1]")
    mx, mn = getattr(args, "max_thinking_tokens", None), getattr(args, "min_thinking_tokens", None)
    if isinstance(mx, int) and isinstance(mn, int) and mn > mx:
        raise S1kitError(f"--min-thinking-tokens={mn} is more than --max-thinking-tokens={mx}")


def _existing_parent(path: Path, flag: str) -> Path:
    """The nearest folder above ``path`` that exists; a file on the way is an error."""
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise S1kitError(f"{flag} {path} is under {parent}, which is a file, not a folder")
            return parent
    return Path.cwd()


def _writable(folder: Path, path: Path, flag: str) -> None:
    """Probe by creating (and removing) a folder: permissions, read-only file systems, /proc."""
    try:
        probe = tempfile.mkdtemp(prefix=".s1kit-write-test-", dir=folder)
    except OSError as e:
        raise S1kitError(f"{flag} {path} cannot be written ({folder}: {e.strerror or e})") from None
    shutil.rmtree(probe, ignore_errors=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise S1kitError(f"{flag} {path} cannot be written ({folder} is read-only)")


def check_out_dir(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` is (or can become) a writable folder. Nothing is created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise S1kitError(f"{flag} {p} is a file: expected a folder (new or existing)")
    _writable(_existing_parent(p, flag), p, flag)
    return p


def check_out_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` is (or can become) a writable file. Nothing is created."""
    p = Path(path)
    if p.is_dir():
        raise S1kitError(f"{flag} {p} is a folder: expected a file path")
    if p.exists() and not os.access(p, os.W_OK):
        raise S1kitError(f"{flag} {p} cannot be written (read-only)")
    _writable(_existing_parent(p.parent, flag), p, flag)
    return p
