"""Turn (question, thinking, attempt) rows into input ids and labels for supervised fine-tuning.

A row is laid out as the model will see it at inference time, in one reasoning format::

    chat template(question) + think_start | thinking + think_end + attempt + end_of_turn
    ------------- not trained ------------ | ------------------- trained ------------------

Each piece is tokenised on its own and the ids are concatenated, so the loss mask is exact by
construction: labels are the ids of the trained pieces and -100 everywhere else. Nothing searches
the rendered string for a template marker (the reference code did, and a marker that tokenises
differently in context silently trains on the prompt). The end-of-thinking delimiter is trained,
because a model that never learned to emit it cannot stop thinking on its own, and budget forcing
needs that attempt to suppress it.

Example:
    >>> from transformers import AutoTokenizer  # doctest: +SKIP
    >>> tok = HFTokenizer(AutoTokenizer.from_pretrained("tests/fixtures/smollm2-tokenizer"))  # doctest: +SKIP
    >>> ex = format_example(tok, Example("1+1?", "1+1=2.", "2"), TrainConfig(block_size=512))  # doctest: +SKIP
    >>> ex.trained_tokens == sum(label != -100 for label in ex.labels)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.backends.tokenizer import Tokenizer
from s1kit.errors import S1kitError
from s1kit.forcing.formats import ReasoningFormat
from s1kit.training.config import TrainConfig
from s1kit.training.data import Example

IGNORE = -100


@dataclass(frozen=True)
class FormattedExample:
    """One training sequence.

    Attributes:
        input_ids: the token ids, at most ``block_size`` long.
        labels: ``input_ids`` where the loss applies, -100 elsewhere.
        prompt_tokens: tokens before the first trained token.
        full_length: length before any truncation.
        truncated: True if ``full_length`` exceeded the block size and the tail was cut.
    """

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    prompt_tokens: int
    full_length: int
    truncated: bool

    @property
    def trained_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


@dataclass(frozen=True)
class FormatReport:
    """What happened to the rows: how many were kept, which were too long, what was done to them."""

    rows: int
    kept: int
    block_size: int
    overlong: tuple[tuple[int, int], ...]  # (row index, full length) of every row over the block size
    action: str  # "skip" or "truncate"
    longest: int
    trained_tokens: int

    def summary(self) -> str:
        if not self.overlong:
            return (
                f"{self.kept} rows, all within block size {self.block_size} (longest {self.longest} tokens)"
            )
        verb = "skipped" if self.action == "skip" else "truncated to the block size"
        return (
            f"{len(self.overlong)} of {self.rows} rows are longer than block size {self.block_size} "
            f"(longest {self.longest} tokens) and were {verb}; rows: "
            + ", ".join(str(i) for i, _ in self.overlong[:20])
            + (" ..." if len(self.overlong) > 20 else "")
        )


def end_of_turn(fmt: ReasoningFormat, tok: Tokenizer) -> str:
    """The text that closes the assistant turn: the model's own, as its chat template writes it after
    a final answer (``<|im_end|>``, ``<|eot_id|>``, ``<end_of_turn>``, ``</s>``, ``<|return|>``), else its EOS."""
    if fmt.end_of_turn:
        return fmt.end_of_turn[0]
    token = getattr(tok, "answer_end_id", None)
    if token is None:
        raise S1kitError("the tokenizer names no end-of-turn or EOS token: cannot mark the end of the answer")
    return tok.decode([token])


_SPECIAL_LOOKING = re.compile(r"<\|[^|<>\s]{1,40}\|>|\[/?[A-Z_]{2,20}\]")


def validate_training_format(fmt: ReasoningFormat, tok: Tokenizer, cfg: TrainConfig) -> None:
    """Check the format, the chat template and the markers against the tokenizer before any work.

    Raises:
        S1kitError: one line naming what is missing (a format token not in the vocabulary, no end of
            turn, a template that refuses a question, a marker token that is not one token).
    """
    missing = fmt.missing_tokens(tok)
    if missing:
        raise S1kitError(
            f"format {fmt.name} needs {', '.join(missing)} as special tokens, and this model's vocabulary "
            "has none of that name: pass --format r1 (plain-text <think> delimiters) or --format custom "
            "with --think-start/--think-end"
        )
    eot = end_of_turn(fmt, tok)
    ids = tok.encode(eot)
    if len(ids) != 1 or not 0 <= ids[0] < tok.vocab_size:
        raise S1kitError(f"the end of turn {eot!r} is not one token of this tokenizer")
    fmt.render_prompt(tok, "Is the chat template usable?", system=cfg.system)  # a template error, once
    if cfg.markers != "none":
        for marker in _SPECIAL_LOOKING.findall(cfg.marker_template):
            if len(tok.encode(marker)) != 1:
                raise S1kitError(
                    f"marker_template uses {marker!r}, which is not one token of this model: "
                    "set --marker-template to text this model has (e.g. '[{remaining} {unit} left]\\n')"
                )


def with_markers(thinking_ids: Sequence[int], tok: Tokenizer, cfg: TrainConfig) -> tuple[list[int], int]:
    """Thinking ids with remaining-budget markers, and the budget stated in the prompt.

    The trace is cut into steps of ``marker_every`` tokens. Before each step a marker states what
    is left: ``steps`` counts steps (``<|im_start|>3 steps left``), ``tokens`` counts thinking tokens
    (``<|im_start|>250 tokens left``), as in the paper's step- and token-conditional models; a last
    marker says 0 is left. The budget in the prompt is the trace's own length, so the model learns to
    count down to the end of thinking exactly. Markers are trained: the model must produce them.
    """
    every, n = cfg.marker_every, len(thinking_ids)
    steps = max(1, math.ceil(n / every))
    unit = "steps" if cfg.markers == "steps" else "tokens"
    out: list[int] = []
    for i in range(steps):
        remaining = steps - i if cfg.markers == "steps" else n - i * every
        out += tok.encode(cfg.marker_template.format(remaining=remaining, unit=unit))
        out += thinking_ids[i * every : (i + 1) * every]
    out += tok.encode(cfg.marker_template.format(remaining=0, unit=unit))
    return out, steps if cfg.markers == "steps" else n


def format_example(tok: Tokenizer, example: Example, cfg: TrainConfig) -> FormattedExample:
    """Render and tokenise one row; truncates to the block size (the caller decides whether to keep it).

    Raises:
        S1kitError: if the prompt alone fills the block, so no trained token would remain.
    """
    fmt = cfg.reasoning_format()
    thinking = example.thinking.strip()
    sep = "" if fmt.think_end[:1].isspace() else "\n"
    thinking_ids = tok.encode(thinking + sep)
    question = example.question
    if cfg.markers != "none":
        thinking_ids, budget = with_markers(tok.encode(thinking), tok, cfg)
        unit = "steps" if cfg.markers == "steps" else "tokens"
        question += cfg.budget_instruction.format(budget=budget, unit=unit)
        if sep:
            thinking_ids += tok.encode(sep)
    prompt_ids = tok.encode(fmt.render_prompt(tok, question, system=cfg.system))
    trained = (
        thinking_ids
        + tok.encode(fmt.think_end)
        + tok.encode(example.attempt.strip())
        + tok.encode(end_of_turn(fmt, tok))
    )
    full = len(prompt_ids) + len(trained)
    if len(prompt_ids) >= cfg.block_size:
        raise S1kitError(
            f"block_size={cfg.block_size} is below the prompt length ({len(prompt_ids)} tokens): "
            "no thinking or answer token would be trained; raise --block-size"
        )
    ids = (prompt_ids + trained)[: cfg.block_size]
    labels = ([IGNORE] * len(prompt_ids) + trained)[: cfg.block_size]
    return FormattedExample(tuple(ids), tuple(labels), len(prompt_ids), full, full > cfg.block_size)


def format_dataset(
    tok: Tokenizer, examples: Sequence[Example], cfg: TrainConfig
) -> tuple[list[FormattedExample], FormatReport]:
    """Format every row and apply the overlong policy; the report lists every row over the block size.

    Raises:
        S1kitError: on an empty dataset, a prompt longer than the block size, or when nothing is left.
    """
    if not examples:
        raise S1kitError("the dataset is empty: expected at least one (question, thinking, attempt) row")
    validate_training_format(cfg.reasoning_format(), tok, cfg)
    kept: list[FormattedExample] = []
    overlong: list[tuple[int, int]] = []
    longest = 0
    for i, ex in enumerate(examples):
        try:
            f = format_example(tok, ex, cfg)
        except S1kitError as e:
            raise S1kitError(f"row {i}: {e}") from None
        longest = max(longest, f.full_length)
        if f.truncated:
            overlong.append((i, f.full_length))
            if cfg.overlong == "skip":
                continue
        kept.append(f)
    report = FormatReport(
        rows=len(examples),
        kept=len(kept),
        block_size=cfg.block_size,
        overlong=tuple(overlong),
        action=cfg.overlong,
        longest=longest,
        trained_tokens=sum(f.trained_tokens for f in kept),
    )
    if not kept:
        raise S1kitError(
            f"all {len(examples)} rows are longer than block_size={cfg.block_size} (longest {longest} tokens): "
            "raise --block-size or pass --overlong truncate"
        )
    return kept, report
