"""Budget forcing as one state machine over token ids (paper section 3.1).

The machine sees every token a sequence produces and decides what is fed next. It is used two ways:

* **in the decoding loop** (:meth:`ForcingState.choose`): at each step it either hands out a forced token
  or asks for a sampled one, which it may replace. An attempt to stop thinking is *sampled* like any
  token and only then replaced by the ignore string, so the distribution over every other token is the
  model's own (masking the delimiter before sampling would renormalise its mass onto the other tokens).
* **round by round** over an engine that can only "generate until a stop": :meth:`free_tokens` and
  :meth:`stop_sequences` say what to ask for, :meth:`feed_round` replays the tokens that came back, and
  :meth:`drain_forced` gives the text to append before the next round. Budgets count across rounds.

Both ways run the same transitions, so under greedy decoding they produce the same tokens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from s1kit.backends.tokenizer import Tokenizer
from s1kit.errors import ConfigError
from s1kit.forcing.budget import Budget
from s1kit.forcing.formats import FormatIds

Role = Literal["think", "ignore", "delim", "primer", "answer"]
Phase = Literal["thinking", "answer", "done"]
EventKind = Literal[
    "ignore",
    "forced_end",
    "early_exit",
    "answer_limit",
    "budget_message",  # the budget's message forced before the delimiter at the cap
    "inserted",  # a method's text fed inside the thinking (alphaone's "Wait")
    "replaced_end",  # a method replaced the model's last tokens by the end of thinking (alphaone)
    "stopped",  # a method abandoned the sequence (deepconf online, a tree-search branch)
    "suppressed",  # the model's top choice was a masked token (nowait)
    "step_end",  # a method paused the sequence at the end of a step (tree search)
]


@dataclass(frozen=True)
class ForcingEvent:
    """Something the budget did: an ignore string appended, a forced end, an answer cut off.

    ``position`` counts thinking tokens before the event (answer tokens for ``answer_limit``).
    """

    kind: EventKind
    position: int
    text: str
    token_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "position": self.position,
            "text": self.text,
            "token_ids": list(self.token_ids),
        }


@dataclass(frozen=True)
class ForcingPlan:
    """A budget and a format resolved to token ids for one tokenizer; shared by every sequence."""

    budget: Budget
    ids: FormatIds
    ignore_ids: tuple[tuple[int, ...], ...]
    primer_ids: tuple[int, ...]
    message_ids: tuple[int, ...] = ()

    @classmethod
    def build(cls, budget: Budget, ids: FormatIds, tokenizer: Tokenizer) -> ForcingPlan:
        enc = partial(forced_ids, tokenizer, control=ids.control_ids)
        ignore = tuple(enc(s, field="ignore_strings") for s in budget.ignore_strings)
        message = enc(budget.budget_message, field="budget_message") if budget.budget_message else ()
        return cls(budget, ids, ignore, enc(budget.answer_primer, field="answer_primer"), message)


def forced_ids(
    tokenizer: Tokenizer, text: str, *, control: frozenset[int], field: str = "forced text"
) -> tuple[int, ...]:
    """Forced text ("Wait", the answer primer, a budget message) as the model writes it.

    Tokenised as the model's own text, so an added token in it (a vocabulary that holds "Wait" as one
    token) is that token, as in training. Text that would hold a control token ("<|im_end|>" as a primer,
    "</think>" as an ignore string) is tokenised as plain text instead, so it never ends a turn or the
    thinking; a tokenizer that still gives one then is refused.
    """
    ids = tuple(tokenizer.encode(text))
    if control.isdisjoint(ids):
        return ids
    plain = getattr(tokenizer, "encode_text", None)
    ids = tuple(plain(text)) if plain is not None else ids
    if not control.isdisjoint(ids):
        raise ConfigError(field, text, "text without control or delimiter tokens")
    return ids


TokenListener = Callable[[int, Role], None]


class ForcingState:
    """Per-sequence budget forcing state. Not thread-safe; one per sequence."""

    def __init__(
        self, plan: ForcingPlan, listener: TokenListener | None = None, *, phase: Phase = "thinking"
    ) -> None:
        """``phase="answer"`` starts after the thinking (a plain completion with no thinking section)."""
        if phase not in ("thinking", "answer"):
            raise ValueError(f"a state starts in phase 'thinking' or 'answer', not {phase!r}")
        self.plan = plan
        self.budget = plan.budget
        self.phase: Phase = phase
        self.tokens: list[int] = []  # every token fed after the prompt, in order
        self.roles: list[Role] = []
        self.thinking_tokens = 0  # model tokens + ignore strings inside the thinking section
        self.answer_tokens = 0  # model tokens after the delimiter (and primer)
        self.ignored_stops = 0
        self.forced_end = False
        self.finish_reason: Literal["stop", "length"] | None = None
        self.events: list[ForcingEvent] = []
        self._queue: deque[tuple[int, Role]] = deque()
        self._message_sent = not plan.message_ids
        self._retract = 0  # tokens to roll back before the next fed token (a method's replacement)
        self._listener = listener
        self._max_stop = max(len(s) for s in plan.ids.stop_seqs)

    # -- queries -------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.phase == "done"

    def free_tokens(self) -> int | None:
        """How many tokens the model may generate before the budget forces something (None: no cap)."""
        self._check_limits()
        if self.phase == "thinking":
            cap = self._message_at()
            return None if cap is None else max(0, cap - self.thinking_tokens)
        if self.phase == "answer":
            return self.budget.max_answer_tokens - self.answer_tokens
        return 0

    def stop_sequences(self) -> tuple[tuple[int, ...], ...]:
        if self.phase == "thinking":
            return self.plan.ids.stop_seqs
        return tuple((t,) for t in sorted(self.plan.ids.answer_stops))

    def has_forced(self) -> bool:
        self._check_limits()
        return bool(self._queue)

    # -- transitions ---------------------------------------------------------------------------
    def choose(self, sample: Callable[[], int]) -> tuple[int | None, int]:
        """Decide the next token to feed.

        Returns ``(token, rollback)``: roll back ``rollback`` already-fed tokens, then feed ``token``
        (``None`` when the sequence is finished). ``sample`` is called only when no token is forced.
        """
        self._check_limits()
        if self.done:
            return None, 0
        if self._queue:
            retract, self._retract = self._retract, 0
            return self._pop(), retract
        return self.feed_sampled(sample())

    def feed_sampled(self, token: int) -> tuple[int | None, int]:
        """Accept a token the model produced; may replace it (see :meth:`choose`)."""
        if self.phase == "thinking":
            k = self._stop_match(token)
            if k:
                rollback = k - 1
                self._rollback(rollback)
                self._on_stop_attempt()
                self._check_limits()
                return (self._pop() if self._queue else None), rollback
        elif self.phase == "answer" and token in self.plan.ids.answer_stops:
            self._finish("stop")
            return None, 0
        self._append(token, "think" if self.phase == "thinking" else "answer")
        return token, 0

    def feed_round(self, tokens: Sequence[int], *, stopped: bool) -> None:
        """Replay one round from a generate-until-stop engine.

        ``tokens`` are the generated tokens; ``stopped`` says the engine stopped on one of
        :meth:`stop_sequences` and removed it, so the canonical stop sequence is replayed here.
        """
        for t in tokens:
            if self.done or self._queue:
                break  # a stop inside the round (engines that keep the stop) ends the round
            self.feed_sampled(t)
        if stopped and not self.done and not self._queue:
            for t in self.stop_sequences()[0]:
                if self.done or self._queue:
                    break
                self.feed_sampled(t)

    def drain_forced(self) -> list[int]:
        """Pop every forced token queued now (appended to the context before the next round)."""
        out: list[int] = []
        while self.has_forced():
            out.append(self._pop())
        return out

    def insert(self, ids: Sequence[int], *, kind: EventKind | None = None, text: str = "") -> bool:
        """Queue tokens to be fed next inside the thinking (a method's marker such as "3 steps left").

        They count against the thinking budget like an ignore string and are cut where it runs out.
        With ``kind`` the insertion is also recorded as an event (``text`` is its display text).
        Returns False when thinking has already ended.
        """
        if self.phase != "thinking":
            return False
        if kind is not None:
            self.events.append(ForcingEvent(kind, self.thinking_tokens, text, tuple(ids)))
        self._queue.extend((t, "ignore") for t in ids)
        return True

    def replace_with_end(self, k: int, kind: EventKind = "replaced_end", *, text: str = "") -> bool:
        """Take back the model's last ``k`` thinking tokens and end thinking in their place.

        The decoding loop rolls the engine back by ``k`` with the next forced token (the rollback that
        :meth:`choose` returns). Loop mode only. Returns False when thinking has already ended or the
        last ``k`` tokens are not all the model's own.
        """
        if self.phase != "thinking" or k < 0 or k > len(self.roles) or self._queue:
            return False
        if any(r != "think" for r in self.roles[len(self.roles) - k :]):
            return False
        self._rollback(k)
        self._retract += k
        self._queue.clear()
        self.forced_end = True
        self._force_end(with_primer=True)
        ids = self.plan.ids.think_end + self.plan.primer_ids
        self.events.append(ForcingEvent(kind, self.thinking_tokens, text, ids))
        return True

    def record(self, kind: EventKind, text: str = "", ids: Sequence[int] = ()) -> None:
        """Note what a method saw or did at this point (a suppressed token); changes nothing else."""
        self.events.append(ForcingEvent(kind, self.thinking_tokens, text, tuple(ids)))

    def stop(self, kind: EventKind = "stopped") -> bool:
        """Abandon the sequence now (a method stops a trace); it finishes with reason ``length``."""
        if self.done:
            return False
        self.events.append(ForcingEvent(kind, self.thinking_tokens, ""))
        self._finish("length")
        return True

    def end_thinking(self, kind: EventKind = "early_exit", *, with_primer: bool = True) -> bool:
        """End thinking now (a method decided it has thought enough), forcing the delimiter.

        Returns False when thinking had already ended. Counts as a forced end.
        """
        if self.phase != "thinking":
            return False
        self._queue.clear()
        self.forced_end = True
        text = self._force_end(with_primer=with_primer)
        ids = self.plan.ids.think_end + (self.plan.primer_ids if with_primer else ())
        self.events.append(ForcingEvent(kind, self.thinking_tokens, text, ids))
        return True

    def end_by_length(self) -> None:
        """The engine ran out of context: nothing more can be generated."""
        if not self.done:
            self._finish("length")

    # -- internals -----------------------------------------------------------------------------
    def _check_limits(self) -> None:
        b = self.budget
        if self.phase == "thinking" and not self._message_sent and self.thinking_tokens >= self._message_at():
            self._send_message()
        if self.phase == "thinking" and b.max_thinking_tokens is not None:
            if self.thinking_tokens >= b.max_thinking_tokens and not self._queue_is_end():
                self._queue.clear()  # an ignore string is cut where the budget runs out
                self.forced_end = True
                text = self._force_end(with_primer=True)
                self.events.append(
                    ForcingEvent(
                        "forced_end",
                        self.thinking_tokens,
                        text,
                        self.plan.ids.think_end + self.plan.primer_ids,
                    )
                )
        elif self.phase == "answer" and not self._queue and self.answer_tokens >= b.max_answer_tokens:
            self.events.append(ForcingEvent("answer_limit", self.answer_tokens, ""))
            self._finish("length")

    def _message_at(self) -> int | None:
        """Thinking tokens at which free generation stops: the cap, less the budget message if unsent."""
        cap = self.budget.max_thinking_tokens
        if cap is None or self._message_sent:
            return cap
        return max(0, cap - len(self.plan.message_ids))

    def _send_message(self) -> None:
        """Force the budget message so that it ends at the cap (cut there if it is longer)."""
        self._message_sent = True
        self._queue.clear()  # an ignore string in flight is cut, as at the cap
        ids = self.plan.message_ids
        self.events.append(
            ForcingEvent("budget_message", self.thinking_tokens, self.budget.budget_message, ids)
        )
        self._queue.extend((t, "ignore") for t in ids)

    def _queue_is_end(self) -> bool:
        return bool(self._queue) and self._queue[0][1] in ("delim", "primer")

    def _stop_match(self, token: int) -> int:
        """Length of the stop sequence that ``token`` completes, or 0."""
        for seq in self.plan.ids.stop_seqs:
            n = len(seq)
            if seq[-1] != token or n - 1 > len(self.tokens):
                continue
            if n == 1 or (
                tuple(self.tokens[len(self.tokens) - n + 1 :]) == seq[:-1]
                and all(r == "think" for r in self.roles[len(self.roles) - n + 1 :])
            ):
                return n
        return 0

    def _on_stop_attempt(self) -> None:
        b = self.budget
        if self.ignored_stops < b.num_ignore or self.thinking_tokens < b.min_thinking_tokens:
            text = b.ignore_string(self.ignored_stops)
            ids = self.plan.ignore_ids[self.ignored_stops % len(self.plan.ignore_ids)]
            self.events.append(ForcingEvent("ignore", self.thinking_tokens, text, ids))
            self.ignored_stops += 1
            self._queue.extend((t, "ignore") for t in ids)
        else:
            self._force_end(with_primer=False)

    def _force_end(self, *, with_primer: bool) -> str:
        self._queue.extend((t, "delim") for t in self.plan.ids.think_end)
        text = ""
        if with_primer and self.plan.primer_ids:
            self._queue.extend((t, "primer") for t in self.plan.primer_ids)
            text = self.budget.answer_primer
        self.phase = "answer"
        return text

    def _pop(self) -> int:
        token, role = self._queue.popleft()
        self._append(token, role)
        return token

    def _append(self, token: int, role: Role) -> None:
        self.tokens.append(token)
        self.roles.append(role)
        if role in ("think", "ignore"):
            self.thinking_tokens += 1
        elif role == "answer":
            self.answer_tokens += 1
        if self._listener is not None:
            self._listener(token, role)

    def _rollback(self, k: int) -> None:
        for _ in range(k):
            self.tokens.pop()
            if self.roles.pop() in ("think", "ignore"):
                self.thinking_tokens -= 1

    def _finish(self, reason: Literal["stop", "length"]) -> None:
        self._queue.clear()
        self.phase = "done"
        self.finish_reason = reason

    # -- results -------------------------------------------------------------------------------
    def span(self, *roles: Role) -> list[int]:
        return [t for t, r in zip(self.tokens, self.roles, strict=True) if r in roles]
