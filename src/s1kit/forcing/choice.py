"""One rule for the default reasoning format, whatever the load path (GGUF, model folder, server).

The rule reads only what the model ships, never its name:

1. the format recorded by ``s1kit train`` beside the tokenizer (``s1kit_train.yaml``);
2. else the format the chat template declares: a generation prompt that opens ``<think>`` itself
   (R1-distill, Qwen3) is ``r1``; harmony channels (``<|channel|>`` with ``analysis``) are ``gpt-oss``;
   ``[THINK]`` is ``magistral``; a template that writes or accepts ``<think>``/``</think>`` is ``r1``
   (``qwen3`` when it takes ``enable_thinking``); s1's ``<|im_start|>think`` is ``s1``;
3. else the vocabulary: a single-token ``</think>`` (``r1``), ``[/THINK]`` (``magistral``),
   ``<|channel|>`` (``gpt-oss``);
4. else the fallback, ``r1`` as plain text. A chat model that was not trained to reason treats
   ``<think>`` after its own assistant header as text and keeps writing its answer as prose, which the
   budget can then extend or cut; s1's layout would instead open a turn for an unknown role
   ``think``, which such a model (the embedded SmolLM2 among them) closes at once. Models trained on
   s1's layout whose template does not say so (the paper's s1-32B) need ``--format s1``.

A model without a chat template (a base model) gets the same rule on a plain prompt, with a warning.

Example:
    >>> choose_format(tok).format.name, choose_format(tok).reason  # doctest: +SKIP
    ('r1', 'the chat template opens <think> in its generation prompt')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1kit.backends.chat_template import generation_prompt
from s1kit.backends.models import trained_format
from s1kit.errors import S1kitError
from s1kit.forcing.formats import FORMATS, THINKING_OPTIONS, ReasoningFormat, format_from_record, get_format

log = logging.getLogger("s1kit")

FALLBACK = "r1"


@dataclass(frozen=True)
class FormatChoice:
    """A format and why it was chosen (``s1kit generate -v`` prints the reason)."""

    format: ReasoningFormat
    reason: str


def choose_format(tokenizer: Any, requested: str | ReasoningFormat | None = None) -> FormatChoice:
    """The format to use with ``tokenizer``: ``requested`` if given, else the rule in this module's doc."""
    if requested is not None:
        fmt = get_format(requested)
        choice = FormatChoice(fmt, f"given explicitly ({fmt.name})")
    else:
        choice = _recorded(tokenizer) or _declared(tokenizer) or _fallback(tokenizer)
    _warn(tokenizer, choice.format)
    return choice


def _recorded(tok: Any) -> FormatChoice | None:
    source = getattr(tok, "source", None)
    if source is None:
        return None
    folder = Path(source) if Path(source).is_dir() else Path(source).parent
    fmt = format_from_record(trained_format(folder))
    return FormatChoice(fmt, f"recorded by s1kit train in {folder / 's1kit_train.yaml'}") if fmt else None


def _declared(tok: Any) -> FormatChoice | None:
    template = getattr(tok, "chat_template", None)
    if template:
        try:
            opening = generation_prompt(lambda m, **kw: tok.render(m, **kw, **THINKING_OPTIONS))
        except S1kitError:
            opening = ""
        if opening.rstrip().endswith("<think>"):
            return FormatChoice(
                _thinking_name(template), "the chat template opens <think> in its generation prompt"
            )
        if "<|channel|>" in template and "analysis" in template:
            return FormatChoice(
                FORMATS["gpt-oss"], "the chat template writes harmony channels (analysis, final)"
            )
        if "[THINK]" in template:
            return FormatChoice(FORMATS["magistral"], "the chat template writes [THINK] ... [/THINK]")
        if "<think>" in template or "</think>" in template:
            return FormatChoice(
                _thinking_name(template), "the chat template writes or accepts <think> ... </think>"
            )
        if "<|im_start|>think" in template:
            return FormatChoice(FORMATS["s1"], "the chat template writes s1's <|im_start|>think")
    for text, name in (("</think>", "r1"), ("[/THINK]", "magistral"), ("<|channel|>", "gpt-oss")):
        if len(tok.encode(text)) == 1:
            return FormatChoice(FORMATS[name], f"the vocabulary has {text} as one token")
    return None


def _thinking_name(template: str) -> ReasoningFormat:
    return FORMATS["qwen3" if "enable_thinking" in template else "r1"]


def _fallback(tok: Any) -> FormatChoice:
    if not getattr(tok, "chat_template", None):
        return FormatChoice(
            FORMATS[FALLBACK],
            f"the model has no chat template (a base model): plain prompt, fallback {FALLBACK}",
        )
    return FormatChoice(
        FORMATS[FALLBACK],
        f"the chat template declares no reasoning format: fallback {FALLBACK} (<think> as text)",
    )


def _warn(tok: Any, fmt: ReasoningFormat) -> None:
    if not getattr(tok, "chat_template", None):
        log.warning(
            "the model has no chat template: using a plain prompt (question, blank line, %r); "
            "base models rarely follow it (pass --chat-template FILE for a chat layout)",
            fmt.think_start,
        )
    missing = fmt.missing_tokens(tok)
    if missing:
        log.warning(
            "format %s: %s %s not a token of this model; written as plain text",
            fmt.name,
            ", ".join(missing),
            "is" if len(missing) == 1 else "are",
        )


def describe(tokenizer: Any, fmt: ReasoningFormat, reason: str | None = None) -> dict[str, Any]:
    """The format and the delimiters in use, for ``--json`` output and run folders."""
    dec = tokenizer.decode
    out: dict[str, Any] = fmt.to_dict()
    out["end_of_turn"] = [dec([i]) for i in sorted(fmt.ids(tokenizer).answer_stops)]
    if reason is not None:
        out["reason"] = reason
    return out
