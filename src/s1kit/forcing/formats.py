"""Reasoning formats: how a prompt is rendered and where thinking starts and ends.

A format is three strings; everything the forcing state machine needs is derived from them as token ids
for one tokenizer (:class:`FormatIds`), so a delimiter may be several tokens long.

Example:
    >>> fmt = get_format("r1")
    >>> fmt.think_end.strip()
    '</think>'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s1kit.errors import ConfigError, S1kitError
from s1kit.backends.tokenizer import Tokenizer


@dataclass(frozen=True)
class ReasoningFormat:
    """Where thinking starts and ends.

    Attributes:
        name: registry name, or "custom".
        think_start: text appended after the chat template's generation prompt to open thinking.
        think_end: end-of-thinking delimiter, forced when thinking ends (naturally or by the budget).
        stop_strings: text whose generation during thinking is an attempt to stop thinking. A string
            whose first token is a special token is detected on that token alone (special tokens do not
            occur in ordinary text); others are detected on their full token sequence.
        end_of_turn: strings (single special tokens) that end the answer, besides the tokenizer's EOS.
    """

    name: str
    think_start: str
    think_end: str
    stop_strings: tuple[str, ...] = ()
    end_of_turn: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in ("think_start", "think_end"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f).strip():
                raise ConfigError(f, getattr(self, f), "a non-empty delimiter string")
        stops = tuple(self.stop_strings) or (self.think_end.strip(),)
        object.__setattr__(self, "stop_strings", stops)
        object.__setattr__(self, "end_of_turn", tuple(self.end_of_turn))

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
        text = tokenizer.apply_chat_template(messages)
        # Some templates (R1, Qwen3) already open the thinking section in the generation prompt.
        if text.rstrip().endswith(self.think_start.strip()):
            return text.rstrip() + self.think_start[len(self.think_start.rstrip()) :]
        return text + self.think_start

    def ids(self, tokenizer: Tokenizer) -> FormatIds:
        return FormatIds.build(self, tokenizer)


@dataclass(frozen=True)
class FormatIds:
    """A format resolved to token ids for one tokenizer."""

    think_end: tuple[int, ...]
    stop_seqs: tuple[tuple[int, ...], ...]  # attempts to stop thinking (EOS included)
    answer_stops: frozenset[int]  # single tokens that end the answer
    vocab_size: int
    special_ids: frozenset[int] = field(default_factory=frozenset)

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
                raise S1kitError(f"end-of-turn string {s!r} must be one token, got {len(ids)}")
            turn.add(ids[0])
        seqs.extend((t,) for t in sorted(turn))
        for ids in (think_end, *seqs):
            bad = [i for i in ids if not 0 <= i < tok.vocab_size]
            if bad:
                raise S1kitError(f"delimiter ids {bad} are outside the tokenizer's vocabulary")
        return cls(
            think_end=think_end,
            stop_seqs=tuple(dict.fromkeys(seqs)),
            answer_stops=frozenset(turn),
            vocab_size=tok.vocab_size,
            special_ids=tok.special_ids,
        )


FORMATS: dict[str, ReasoningFormat] = {
    # s1 (Muennighoff et al. 2025): ChatML, thinking after "<|im_start|>think", answer after "<|im_start|>answer".
    "s1": ReasoningFormat(
        "s1",
        think_start="<|im_start|>think\n",
        think_end="<|im_start|>answer\n",
        stop_strings=("<|im_start|>", "<|im_end|>"),
        end_of_turn=("<|im_end|>",),
    ),
    # DeepSeek-R1 and Qwen3: thinking between <think> and </think>.
    "r1": ReasoningFormat(
        "r1", think_start="<think>\n", think_end="\n</think>\n\n", stop_strings=("</think>",)
    ),
}
FORMATS["qwen3"] = FORMATS["r1"]


def get_format(name: str | ReasoningFormat) -> ReasoningFormat:
    """Look a format up by name (``s1``, ``r1``, ``qwen3``), or pass a format through."""
    if isinstance(name, ReasoningFormat):
        return name
    try:
        return FORMATS[name]
    except KeyError:
        raise S1kitError(
            f"unknown reasoning format {name!r}: expected one of {sorted(FORMATS)} or a custom format"
        ) from None
