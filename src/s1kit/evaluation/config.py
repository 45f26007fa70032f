"""What to evaluate: a sweep's :class:`Setting` points and the :class:`EvalConfig` (validated when built:
unknown keys, unknown methods and bad values are refused with the valid choices named).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from s1kit.errors import ConfigError
from s1kit.forcing.budget import Budget
from s1kit.generation.sampling import SamplingParams
from s1kit.tasks import PROMPT_STYLES, Task

EXECUTION_ONLY = frozenset(
    {"device", "n_threads", "n_gpu_layers", "max_batch", "tensor_parallel_size", "gpu_memory_utilization"}
)  # engine options that do not change records


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: a method and its parameters (budget forcing: a Budget)."""

    method: str
    budget: Budget | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        if self.method == "budget_forcing" and self.budget is not None:
            b = self.budget
            return (
                f"bf:max={b.max_thinking_tokens}:min={b.min_thinking_tokens}:ignore={b.num_ignore}:"
                + "|".join(b.ignore_strings)
                + (f":message={b.budget_message}" if b.budget_message else "")
            )
        cap = {"budget": self.budget.to_dict()} if self.budget is not None else {}
        return f"{self.method}:" + json.dumps({**self.params, **cap}, sort_keys=True)

    @property
    def label(self) -> str:
        if self.budget is None:
            return self.method
        cap = self.budget.max_thinking_tokens
        extra = (
            f" x{self.budget.num_ignore} {'/'.join(self.budget.ignore_strings)}"
            if self.budget.num_ignore
            else ""
        )
        return f"{'no cap' if cap is None else cap}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "label": self.label,
            "budget": self.budget.to_dict() if self.budget else None,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate. Every field except ``grading_workers`` and execution-only engine options
    (device, threads) decides the records.

    Attributes:
        task: task name (see :func:`s1kit.tasks.get_task`); ``task_options`` are passed to it.
        model, backend, format: as for :meth:`s1kit.generate.Generator.load` (``format=None``: auto);
            ``think_start`` and ``think_end`` together give a custom format; ``engine_options`` go to
            the engine (``n_ctx``, ``device``).
        prompt_style: ``s1`` (bare question) or ``boxed`` (ask for a boxed answer).
        budgets: maximum thinking tokens to sweep (``None``: no cap).
        num_ignore: ignored stops to sweep; ignore_strings: the string lists to sweep.
        samples, temperature, top_p, seed: samples per problem and how they are drawn.
        limit: evaluate only the first ``limit`` problems.
        batch_size: prompts per generation batch (part of the seed derivation).
    """

    task: str
    model: str = "default"
    backend: str = "auto"
    format: str | None = None
    think_start: str | None = None
    think_end: str | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)
    prompt_style: Literal["s1", "boxed"] = "boxed"
    task_options: dict[str, Any] = field(default_factory=dict)
    budgets: tuple[int | None, ...] = (None,)
    num_ignore: tuple[int, ...] = (0,)
    ignore_strings: tuple[tuple[str, ...], ...] = (("Wait",),)
    min_thinking_tokens: int = 0
    answer_primer: str = "Final Answer:"
    max_answer_tokens: int = 512
    budget_message: str = ""  # forced before the delimiter at the cap (see Budget)
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    limit: int | None = None
    mode: Literal["loop", "rounds"] = "loop"
    batch_size: int = 8
    grading_timeout: float = 5.0
    grading_workers: int = 2
    method: str = "budget_forcing"  # a name in s1kit.methods.registry.METHODS
    method_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from s1kit.methods.registry import METHODS

        if self.method not in METHODS:
            raise ConfigError("method", self.method, f"one of {sorted(METHODS)}")
        for name in ("budgets", "num_ignore", "ignore_strings"):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in getattr(self, name))
            object.__setattr__(self, name, value)
            if not value:
                raise ConfigError(name, [], "a non-empty list")
        if self.prompt_style not in PROMPT_STYLES:
            raise ConfigError("prompt_style", self.prompt_style, f"one of {list(PROMPT_STYLES)}")
        if self.mode not in ("loop", "rounds"):
            raise ConfigError("mode", self.mode, "'loop' or 'rounds'")
        for name in ("samples", "batch_size", "grading_workers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(name, v, "an integer >= 1")
        if self.samples > 1 and self.temperature == 0:
            raise ConfigError("samples", self.samples, "1 under greedy decoding (set temperature > 0)")
        SamplingParams(self.temperature, self.top_p, self.top_k, self.seed)  # validates
        self.settings()  # validates every budget

    def settings(self) -> list[Setting]:
        """The sweep: budgets × num_ignore × ignore strings, all with the config's method."""
        return [
            Setting(
                self.method,
                Budget(
                    max_thinking_tokens=cap,
                    min_thinking_tokens=self.min_thinking_tokens,
                    num_ignore=n,
                    ignore_strings=strings,
                    answer_primer=self.answer_primer,
                    max_answer_tokens=self.max_answer_tokens,
                    budget_message=self.budget_message,
                ),
                dict(self.method_params),
            )
            for strings in self.ignore_strings
            for n in self.num_ignore
            for cap in self.budgets
        ]

    def identity(self, task: Task) -> dict[str, Any]:
        """Everything that decides the records (a run folder holds one identity)."""
        d = asdict(self)
        d.pop("grading_workers")
        d["engine_options"] = {k: v for k, v in self.engine_options.items() if k not in EXECUTION_ONLY}
        if d["method"] == "budget_forcing" and not d["method_params"]:
            del d["method"], d["method_params"]  # runs written before methods existed keep their identity
        if not d["budget_message"]:
            del d["budget_message"]  # likewise for runs written before the budget message
        d["budgets"] = list(self.budgets)
        d["num_ignore"] = list(self.num_ignore)
        d["ignore_strings"] = [list(s) for s in self.ignore_strings]
        d["task_info"] = task.describe()
        d["settings"] = [s.to_dict() for s in self.settings()]
        return json.loads(json.dumps(d))  # plain YAML/JSON types

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalConfig:
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                "config",
                ", ".join(unknown),
                f"known keys only ({', '.join(sorted(cls.__dataclass_fields__))})",
            )
        return cls(**d)
