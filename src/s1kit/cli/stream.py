"""Streaming a completion to a terminal: thinking dimmed, forcing events marked, a line of figures."""

from __future__ import annotations

from typing import TextIO

from s1kit.forcing.state import Role
from s1kit.generation.completion import Completion

DIM, BOLD, YELLOW, CYAN, RESET = "\033[2m", "\033[1m", "\033[33m", "\033[36m", "\033[0m"


class TerminalStream:
    """Prints token deltas as they arrive; ANSI styling only when the output is a terminal."""

    def __init__(self, out: TextIO, *, color: bool | None = None) -> None:
        self.out = out
        self.color = out.isatty() if color is None else color
        self.role: Role | None = None

    def _style(self, code: str) -> str:
        return code if self.color else ""

    def on_token(self, index: int, role: Role, text: str) -> None:
        if role != self.role:
            self._enter(role)
        if role == "delim":
            return  # the delimiter is shown as a section header instead
        self.out.write(text)
        self.out.flush()

    def _enter(self, role: Role) -> None:
        w, s = self.out.write, self._style
        prev, self.role = self.role, role
        if prev is None:
            w(f"{s(BOLD)}[thinking]{s(RESET)}\n")
        if role == "think":
            w(s(DIM))
        elif role == "ignore":
            w(f"{s(RESET)}{s(YELLOW)}«ignored stop → appended» {s(RESET)}{s(YELLOW)}")
        elif role == "delim":
            w(s(RESET))
        elif role == "primer":
            w(
                f"{s(RESET)}\n{s(BOLD)}[answer]{s(RESET)} {s(CYAN)}«forced end of thinking» {s(RESET)}{s(CYAN)}"
            )
        elif role == "answer":
            if prev != "primer":
                w(f"{s(RESET)}\n{s(BOLD)}[answer]{s(RESET)}\n")
            else:
                w(s(RESET))

    def finish(self, c: Completion) -> None:
        s = self._style
        end = "forced" if c.forced_end else "natural"
        self.out.write(
            f"{s(RESET)}\n{s(BOLD)}---{s(RESET)} thinking tokens {c.thinking_tokens} | answer tokens {c.answer_tokens}"
            f" | {c.timings.tokens_per_s:.1f} tok/s | end of thinking: {end} | ignored stops {c.ignored_stops}"
            f" | finish: {c.finish_reason}\n"
        )
        self.out.flush()
