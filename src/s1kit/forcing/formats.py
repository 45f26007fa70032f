"""Reasoning formats: how a prompt is rendered and where thinking starts and ends.

A format is a few strings; everything the forcing state machine needs is derived from them as token ids
for one tokenizer (:class:`FormatIds`), so a delimiter may be several tokens long. The end of the answer
is the model's own end of turn (``tokenizer.eos_ids``: its configuration and its chat template), never a
format's guess, so every format works on every model family.

Built in (see docs/formats.md):

* ``s1``: ``<|im_start|>think`` ... ``<|im_start|>answer`` (the paper's ChatML layout);
* ``r1`` / ``qwen3``: ``<think>`` ... ``</think>`` (DeepSeek-R1 and its distills, Qwen3, QwQ);
* ``magistral``: ``[THINK]`` ... ``[/THINK]`` (Mistral's reasoning models);
* ``gpt-oss``: the harmony format, thinking in the ``analysis`` channel and the answer in ``final``;
* ``custom``: any start and end strings (:meth:`ReasoningFormat.custom`).

Example:
    >>> fmt = get_format("r1")
    >>> fmt.think_end.strip()
    '</think>'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s1kit.backends.tokenizer import Tokenizer
from s1kit.errors import ConfigError, S1kitError

# Template variables passed when rendering a prompt for thinking: Qwen3's templates close an empty
# thinking section in the generation prompt unless enable_thinking is true; other templates ignore it.
THINKING_OPTIONS: dict[str, Any] = {"enable_thinking": True}


@dataclass(frozen=True)
class ReasoningFormat:
    """Where thinking starts and ends.

    Attributes:
        name: registry name, or "custom".
        think_start: text appended after the chat template's generation prompt to open thinking (not
            appended again when the template already ends with it, as R1-distill's and Qwen3's do).
        think_end: end-of-thinking delimiter, forced when thinking ends (naturally or by the budget).
        stop_strings: text whose generation during thinking is an attempt to stop thinking. A string
            whose first token is a special token is detected on that token alone (special tokens do not
            occur in ordinary text); others are detected on their full token sequence.
        end_of_turn: extra strings (single tokens) that end the answer, besides the model's own end of
            turn and end of sequence (``tokenizer.eos_ids``).
        special_tokens: strings this format means as single special tokens of the vocabulary (s1's
            ``<|im_start|>``, harmony's markers). Elsewhere they are ordinary text: generation still
            works, training refuses (:meth:`missing_tokens`).
    """

    name: str
    think_start: str
    think_end: str
    stop_strings: tuple[str, ...] = ()
    end_of_turn: tuple[str, ...] = ()
    special_tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in ("think_start", "think_end"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f).strip():
                raise ConfigError(f, getattr(self, f), "a non-empty delimiter string")
        stops = tuple(self.stop_strings) or (self.think_end.strip(),)
        object.__setattr__(self, "stop_strings", stops)
        object.__setattr__(self, "end_of_turn", tuple(self.end_of_turn))
        object.__setattr__(self, "special_tokens", tuple(self.special_tokens))

    @classmethod
    def custom(
        cls, think_start: str, think_end: str, *, end_of_turn: tuple[str, ...] = ()
    ) -> ReasoningFormat:
        return cls("custom", think_start, think_end, end_of_turn=end_of_turn)

    def render_prompt(self, tokenizer: Tokenizer, question: str, *, system: str | None = None) -> str:
        """The chat-templated prompt for one user question, ending inside the thinking section."""
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": question}
        ]
        try:
            text = tokenizer.apply_chat_template(messages, **THINKING_OPTIONS)  # type: ignore[call-arg]
        except TypeError:  # a tokenizer without template options
            text = tokenizer.apply_chat_template(messages)
        return open_thinking(text, self.think_start)

    def ids(self, tokenizer: Tokenizer) -> FormatIds:
        return FormatIds.build(self, tokenizer)

    def missing_tokens(self, tokenizer: Tokenizer) -> list[str]:
        """The format's special tokens that are not one special token of this tokenizer."""
        missing = []
        for s in self.special_tokens:
            ids = tokenizer.encode(s)
            if len(ids) != 1 or ids[0] not in tokenizer.special_ids:
                missing.append(s)
        return missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "think_start": self.think_start,
            "think_end": self.think_end,
            "stop_strings": list(self.stop_strings),
        }


def open_thinking(prompt: str, think_start: str) -> str:
    """``prompt`` followed by ``think_start``, unless the template already opened thinking itself."""
    if prompt.rstrip().endswith(think_start.strip()):
        return prompt.rstrip() + think_start[len(think_start.rstrip()) :]
    return prompt + think_start


@dataclass(frozen=True)
class FormatIds:
    """A format resolved to token ids for one tokenizer."""

    think_end: tuple[int, ...]
    stop_seqs: tuple[tuple[int, ...], ...]  # attempts to stop thinking (end of turn included)
    answer_stops: frozenset[int]  # single tokens that end the answer
    vocab_size: int
    special_ids: frozenset[int] = field(default_factory=frozenset)
    # tokens forced text must never hold (forcing.state.forced_ids): the tokenizer's control tokens,
    # and every known format's delimiters and this format's stops where the vocabulary has them as
    # added tokens ("</think>" is an ordinary added token in some vocabularies)
    control_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def build(cls, fmt: ReasoningFormat, tok: Tokenizer) -> FormatIds:
        think_end = tuple(tok.encode(fmt.think_end))
        seqs: list[tuple[int, ...]] = []
        for s in fmt.stop_strings:
            ids = tuple(tok.encode(s))
            if not ids:
                raise S1kitError(f"stop string {s!r} encodes to no tokens with this tokenizer")
            seqs.append(ids[:1] if ids[0] in tok.special_ids else ids)
        turn: set[int] = set(tok.eos_ids)
        for s in fmt.end_of_turn:
            ids = tok.encode(s)
            if len(ids) != 1:
                raise S1kitError(
                    f"end-of-turn string {s!r} must be one token of this tokenizer, got {len(ids)}"
                )
            turn.add(ids[0])
        if not turn:
            raise S1kitError("the model names no end-of-sequence or end-of-turn token: the answer cannot end")
        seqs.extend((t,) for t in sorted(turn))
        for ids in (think_end, *seqs):
            bad = [i for i in ids if not 0 <= i < tok.vocab_size]
            if bad:
                raise S1kitError(f"delimiter ids {bad} are outside the tokenizer's vocabulary")
        own = set(think_end) | turn | {t for seq in seqs for t in seq}
        for known in FORMATS.values():
            for text in (known.think_start, known.think_end, *known.stop_strings):
                if text.strip():
                    own.update(tok.encode(text.strip()))
        control = frozenset(own & tok.special_ids) | frozenset(getattr(tok, "control_ids", tok.special_ids))
        return cls(
            think_end=think_end,
            stop_seqs=tuple(dict.fromkeys(seqs)),
            answer_stops=frozenset(turn),
            vocab_size=tok.vocab_size,
            special_ids=tok.special_ids,
            control_ids=control,
        )


_R1 = ReasoningFormat("r1", think_start="<think>\n", think_end="\n</think>\n\n", stop_strings=("</think>",))
FORMATS: dict[str, ReasoningFormat] = {
    # s1 (Muennighoff et al. 2025): ChatML, thinking after "<|im_start|>think", answer after
    # "<|im_start|>answer"; a new "<|im_start|>" or the end of turn during thinking is a stop attempt.
    "s1": ReasoningFormat(
        "s1",
        think_start="<|im_start|>think\n",
        think_end="<|im_start|>answer\n",
        stop_strings=("<|im_start|>", "<|im_end|>"),
        special_tokens=("<|im_start|>",),
    ),
    # DeepSeek-R1 (and distills), QwQ, Qwen3: thinking between <think> and </think>.
    "r1": _R1,
    "qwen3": ReasoningFormat("qwen3", _R1.think_start, _R1.think_end, stop_strings=_R1.stop_strings),
    # Magistral: thinking between [THINK] and [/THINK] (special tokens since Magistral Small 2509).
    "magistral": ReasoningFormat(
        "magistral", think_start="[THINK]", think_end="[/THINK]", stop_strings=("[/THINK]",)
    ),
    # gpt-oss (harmony): thinking is the analysis channel's message; the cap ends that message and
    # opens the final channel's. A new message or channel during thinking is a stop attempt.
    "gpt-oss": ReasoningFormat(
        "gpt-oss",
        think_start="<|channel|>analysis<|message|>",
        think_end="<|end|><|start|>assistant<|channel|>final<|message|>",
        stop_strings=("<|end|>", "<|start|>", "<|channel|>", "<|call|>"),
        special_tokens=("<|start|>", "<|channel|>", "<|message|>", "<|end|>"),
    ),
}


def get_format(name: str | ReasoningFormat) -> ReasoningFormat:
    """Look a format up by name (``s1``, ``r1``, ``qwen3``, ``magistral``, ``gpt-oss``), or pass one through."""
    if isinstance(name, ReasoningFormat):
        return name
    try:
        return FORMATS[name]
    except KeyError:
        raise S1kitError(
            f"unknown reasoning format {name!r}: expected one of {sorted(FORMATS)} or a custom format"
        ) from None


def format_from_record(value: Any) -> ReasoningFormat | None:
    """A format from a recorded name or ``{name, think_start, think_end}`` mapping; None if unusable."""
    if isinstance(value, str) and value in FORMATS:
        return FORMATS[value]
    if isinstance(value, dict):
        name, start, end = value.get("name"), value.get("think_start"), value.get("think_end")
        if isinstance(name, str) and name in FORMATS and name != "custom":
            return FORMATS[name]
        if isinstance(start, str) and isinstance(end, str) and start.strip() and end.strip():
            return ReasoningFormat.custom(start, end)
    return None
