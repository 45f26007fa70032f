"""The toy reasoning task: a running sum mod 10 over K digits, where thinking is necessary.

A problem is K digits (K <= 9) in nine keyed slots ``A``..``I``, the unused ones padded with ``_``; the
answer is their sum mod 10. A worked trace writes one line per step: the slot's key, its digit and the
running sum (``C48``: key C, digit 4, sum 8). Every line finds its operand *by content*, not by
position: the key follows the key of the line above, the digit is the one after that key in the question
(an induction-head copy), and the sum adds it to the sum of the line above. The answer is the last line's
sum: with fewer than K steps of thinking a model can only guess (10%), so accuracy rises with the
thinking budget. Because no line reads the question at a fixed distance, text inserted between two
lines (budget forcing's "Wait") does not misalign the lines after it.

"Wait" takes a line of its own, exactly as budget forcing inserts it (the model ends a line with a
newline, tries to stop, and the attempt is replaced by the characters ``Wait``); the line after it
restates the line before it, and the steps go on from there. So after any number of "Wait" lines the computation resumes
where it stopped.

The training pool (the s1K schema, see :func:`pool_rows`) mixes the kinds of trace a teacher writes:

* ``full``: all K steps, then the answer;
* ``lazy``: stops after j < K steps and answers the running sum so far (a guess, usually wrong), so
  the trained model sometimes stops too early;
* ``resume``: stops after j < K steps, writes "Wait", restates step j, finishes the remaining steps and
  answers correctly: the correction budget forcing's "Wait" triggers at inference;
* ``check``: all K steps, then "Wait", the last step restated, and the same answer (what a model does
  when "Wait" comes after it has finished);

some resumed and checked traces have a second "Wait" after the last step (a second forced "Wait" comes
after a restated line), and a few broken rows (an API error stored as a trace, a trace cut before its
answer) for the quality filter. Everything is drawn from a seeded ``random.Random``: the same seed
gives the same bytes.

Example:
    >>> p = ToyProblem((3, 1, 4, 1, 5))
    >>> p.question, p.answer
    ('Sum mod 10: A3 B1 C4 D1 E5 F_ G_ H_ I_', '4')
    >>> worked_trace(p)
    'A33\\nB14\\nC48\\nD19\\nE54'
    >>> make_trace(p, "resume", 2)[0]
    'A33\\nB14\\nWait\\nB14\\nC48\\nD19\\nE54'
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from s1kit.errors import S1kitError

QUESTION_PREFIX = "Sum mod 10:"
MAX_K = 9  # question slots, keyed a..i: every question has the same length whatever K
KEYS = "ABCDEFGHI"  # capitals: no key is a letter of "Wait" (forced as plain characters)
PAD = "_"
WAIT = "Wait"
LINE_TOKENS = 4  # key, digit, sum, newline: the thinking tokens of one step with the toy tokenizer
ANSWER_TEMPLATE = "Final Answer: {}"
TraceKind = Literal["full", "lazy", "resume", "check", "api_error", "cut"]


@dataclass(frozen=True)
class ToyProblem:
    """K digits whose sum mod 10 is the answer."""

    digits: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.digits) <= MAX_K or any(not 0 <= d <= 9 for d in self.digits):
            raise S1kitError(f"a toy problem needs 1 to {MAX_K} digits 0-9, got {self.digits!r}")

    @property
    def k(self) -> int:
        return len(self.digits)

    @property
    def question(self) -> str:
        slots = [str(d) for d in self.digits] + [PAD] * (MAX_K - self.k)
        return f"{QUESTION_PREFIX} " + " ".join(key + x for key, x in zip(KEYS, slots, strict=True))

    @property
    def sums(self) -> list[int]:
        """The running sums mod 10, one per step."""
        out, s = [], 0
        for d in self.digits:
            s = (s + d) % 10
            out.append(s)
        return out

    @property
    def lines(self) -> list[str]:
        """One line per step: the key, the digit, the running sum."""
        return [f"{KEYS[i]}{d}{s}" for i, (d, s) in enumerate(zip(self.digits, self.sums, strict=True))]

    @property
    def answer(self) -> str:
        return str(self.sums[-1])


def parse_question(question: str) -> ToyProblem | None:
    """The problem a question states, or None when it is not a toy question."""
    if not question.startswith(QUESTION_PREFIX):
        return None
    slots = question[len(QUESTION_PREFIX) :].split()
    if len(slots) != MAX_K or any(len(x) != 2 or x[0] != key for x, key in zip(slots, KEYS, strict=False)):
        return None
    values = [x[1] for x in slots]
    if any(not v.isdigit() and v != PAD for v in values):
        return None
    digits = [v for v in values if v != PAD]
    if not digits or values[: len(digits)] != digits:
        return None
    return ToyProblem(tuple(int(x) for x in digits))


def worked_trace(p: ToyProblem) -> str:
    """The full trace: one line per step."""
    return "\n".join(p.lines)


def make_trace(p: ToyProblem, kind: TraceKind, stop_after: int, waits: int = 1) -> tuple[str, str]:
    """(thinking, attempt) of one kind.

    ``stop_after`` is j, the step a lazy or resumed trace stops at; ``waits`` is how many "Wait" lines a
    resumed or checked trace has (each followed by the step before it restated): a resumed trace's first
    one comes after step j, every other one after the last step.
    """
    lines = p.lines
    if kind in ("lazy", "resume") and not 1 <= stop_after <= p.k - 1:
        raise S1kitError(f"a {kind} trace stops after 1..{p.k - 1} steps, got {stop_after}")
    if kind in ("resume", "check") and waits < 1:
        raise S1kitError(f"a {kind} trace has at least one 'Wait', got waits={waits}")
    answer = ANSWER_TEMPLATE.format(p.answer)
    if kind == "full":
        return "\n".join(lines), answer
    if kind == "check":
        return "\n".join([*lines, *[WAIT, lines[-1]] * waits]), answer
    if kind == "lazy":
        return "\n".join(lines[:stop_after]), ANSWER_TEMPLATE.format(p.sums[stop_after - 1])
    if kind == "resume":
        j = stop_after
        again = [WAIT, lines[-1]] * (waits - 1)
        return "\n".join([*lines[:j], WAIT, lines[j - 1], *lines[j:], *again]), answer
    if kind == "api_error":
        return "Error code: 429 - rate limit exceeded, retry later", ""
    if kind == "cut":
        return "\n".join(lines[: max(1, stop_after)]), ""
    raise S1kitError(f"unknown trace kind {kind!r}")


def random_problem(rng: random.Random, k_min: int, k_max: int) -> ToyProblem:
    k = rng.randint(k_min, k_max)
    return ToyProblem(tuple(rng.randrange(10) for _ in range(k)))


def check_range(k_min: int, k_max: int) -> None:
    if not 1 <= k_min <= k_max <= MAX_K:
        raise S1kitError(
            f"toy difficulty k_min={k_min}, k_max={k_max}: expected 1 <= k_min <= k_max <= {MAX_K}"
        )


def eval_problems(seed: int, n: int, k_min: int, k_max: int) -> list[ToyProblem]:
    """``n`` evaluation problems, K spread evenly over [k_min, k_max] (cycled), digits drawn from ``seed``."""
    check_range(k_min, k_max)
    if n < 1:
        raise S1kitError(f"toy task n={n}: expected a positive number of problems")
    rng = random.Random(f"toy-eval-{seed}")
    ks = [k_min + i % (k_max - k_min + 1) for i in range(n)]
    return [ToyProblem(tuple(rng.randrange(10) for _ in range(k))) for k in ks]


@dataclass(frozen=True)
class PoolSpec:
    """What the training pool holds.

    Attributes:
        size: rows in the pool.
        k_min, k_max: difficulty range (steps per problem), uniform.
        lazy: share of traces that stop early and guess.
        resume: share of traces that stop early, write "Wait" and finish correctly.
        check: share of full traces followed by "Wait" and a second stop with the same answer.
        two_waits: share of resumed and checked traces with a second "Wait" after the last step.
        broken: share of rows an s1-style quality filter should drop (API errors, cut traces).
    """

    size: int = 3000
    k_min: int = 1
    k_max: int = MAX_K
    lazy: float = 0.35
    resume: float = 0.1
    check: float = 0.12
    two_waits: float = 0.4
    broken: float = 0.03

    def __post_init__(self) -> None:
        check_range(self.k_min, self.k_max)
        if self.size < 1:
            raise S1kitError(f"pool size={self.size}: expected a positive integer")
        shares = (self.lazy, self.resume, self.check, self.broken)
        if any(not 0 <= s <= 1 for s in (*shares, self.two_waits)) or sum(shares) > 1:
            raise S1kitError(
                f"trace shares lazy/resume/check/broken={shares}, two_waits={self.two_waits}: "
                "expected shares in [0, 1], the first four summing <= 1"
            )


def _kind(rng: random.Random, spec: PoolSpec, k: int) -> TraceKind:
    u = rng.random()
    if u < spec.broken:
        return "api_error" if rng.random() < 0.5 else "cut"
    u -= spec.broken
    if k > 1 and u < spec.lazy:
        return "lazy"
    u -= spec.lazy
    if k > 1 and u < spec.resume:
        return "resume"
    u -= spec.resume
    return "check" if u < spec.check else "full"


def pool_rows(seed: int, spec: PoolSpec | None = None) -> list[dict[str, Any]]:
    """The training pool in the s1K schema, plus ``answer`` (the gold) and ``msc`` (the domain: K)."""
    spec = spec or PoolSpec()
    rng = random.Random(f"toy-pool-{seed}")
    rows = []
    for i in range(spec.size):
        p = random_problem(rng, spec.k_min, spec.k_max)
        kind = _kind(rng, spec, p.k)
        j = rng.randint(1, p.k - 1) if p.k > 1 else 1
        waits = 2 if rng.random() < spec.two_waits else 1
        thinking, attempt = make_trace(p, kind, j, waits)
        rows.append(
            {
                "id": f"toy-{seed}-{i}",
                "question": p.question,
                "answer": p.answer,
                "solution": worked_trace(p) + "\n" + ANSWER_TEMPLATE.format(p.answer),
                "cot_type": "math",
                "source_type": "s1kit/toy",
                "msc": f"K{p.k:02d}",
                "metadata": {
                    "k": p.k,
                    "trace": kind,
                    "stop_after": j if kind in ("lazy", "resume") else None,
                    "waits": waits if kind in ("resume", "check") else 0,
                },
                "thinking_trajectories": [thinking],
                "attempt": attempt,
            }
        )
    return rows


def solver_rows(rows: Iterable[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    """Rows that teach a trivial solver to answer at once (no worked steps) a question plus ``suffix``."""
    return [
        {
            "question": r["question"] + suffix,
            "thinking_trajectories": ["."],
            "attempt": ANSWER_TEMPLATE.format(r["answer"]),
        }
        for r in rows
    ]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


__all__ = [
    "ANSWER_TEMPLATE",
    "KEYS",
    "LINE_TOKENS",
    "MAX_K",
    "PAD",
    "QUESTION_PREFIX",
    "WAIT",
    "PoolSpec",
    "ToyProblem",
    "eval_problems",
    "make_trace",
    "parse_question",
    "pool_rows",
    "solver_rows",
    "worked_trace",
    "write_jsonl",
]
