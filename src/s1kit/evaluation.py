"""The evaluation runner: a task × settings × samples sweep into a resumable run folder.

A run folder holds:

* ``config.yaml`` — the resolved configuration (``identity``: everything that decides the records, and
  its ``fingerprint``; ``resolved``: the reasoning format, engine and model actually used; ``versions``);
* ``records.jsonl`` — one JSON object per problem × setting × sample, appended and flushed (fsync) as
  each batch finishes;
* ``summary.json`` and PNG plots, recomputed from the records (:mod:`s1kit.metrics`, :mod:`s1kit.plots`).

Record schema (one line of ``records.jsonl``):

============== =================================================================================
key            ``"<problem_id>|<setting id>|<sample>"``, unique in the file
problem_id     the task's problem id (GPQA: its Record ID; the question text is never recorded)
setting        ``{"id", "method", "label", "budget": Budget.to_dict() or null, "params": {...}}``
method         the setting's method name (``"budget_forcing"``; other methods register in ``METHODS``)
sample         sample index, 0 .. samples-1
gold           the gold answer
extracted      the graded answer text, or null
correct        the verdict (bool)
grade_source   ``"answer"``, ``"thinking"`` (fallback: the answer part gave nothing) or ``"none"``
grade_timed_out  grading passed its per-item timeout (graded wrong)
thinking, answer       the generated text (answer includes a forced primer)
thinking_tokens, answer_tokens, prompt_tokens, forced_end, ignored_stops, finish_reason
events         forcing events (``ForcingEvent.to_dict()``), timings (``Timings.to_dict()``)
seed           the sampling seed of the batch this sample was generated in
meta           problem metadata (MATH500: subject, level)
============== =================================================================================

Resumption: work is cut into fixed batches (by setting, sample and problem order), each with a seed
derived from the run's seed, so a batch regenerated after a crash is the batch an uninterrupted run
would have generated; only missing records are written. A torn last line (a kill mid-write) is cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from s1kit.budget import Budget
from s1kit.completion import Completion
from s1kit.errors import ConfigError, S1kitError
from s1kit.sampling import SamplingParams
from s1kit.tasks import PROMPT_STYLES, Problem, Task, get_task

CONFIG, RECORDS, SUMMARY = "config.yaml", "records.jsonl", "summary.json"
EXECUTION_ONLY = frozenset(
    {"device", "n_threads", "n_gpu_layers"}
)  # engine options that do not change records
Progress = Callable[[int, int, int], None]  # (done, total, correct so far)


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
    method: str = "budget_forcing"  # a name in METHODS (other methods: s1kit.methods)
    method_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        d["budgets"] = list(self.budgets)
        d["num_ignore"] = list(self.num_ignore)
        d["ignore_strings"] = [list(s) for s in self.ignore_strings]
        d["task_info"] = task.describe()
        d["settings"] = [s.to_dict() for s in self.settings()]
        return json.loads(json.dumps(d))  # plain YAML/JSON types

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# ------------------------------------------------------------------ methods (a registry)

MethodFn = Callable[[Any, list[str], Setting, list[SamplingParams], EvalConfig], list[Completion]]


def _budget_forcing(gen: Any, prompts: list[str], s: Setting, sp: list[SamplingParams], c: EvalConfig):
    return gen.generate_batch(prompts, s.budget, sp, mode=c.mode, rendered=True)


METHODS: dict[str, MethodFn] = {"budget_forcing": _budget_forcing}
# Methods that change the question before it is rendered (length control in the prompt).
QUESTION_HOOKS: dict[str, Callable[[str, Setting], str]] = {}


def register_method(
    name: str, fn: MethodFn, *, question: Callable[[str, Setting], str] | None = None
) -> None:
    """Add a generation method: ``fn(generator, rendered_prompts, setting, samplings, config)``;
    ``question(text, setting)`` rewrites each question before rendering."""
    METHODS[name] = fn
    if question is not None:
        QUESTION_HOOKS[name] = question


# ------------------------------------------------------------------ the run folder


def fingerprint(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def check_run_dir(out: Path, identity: dict[str, Any]) -> None:
    """Refuse a folder written by another configuration (or holding foreign files)."""
    cfg = out / CONFIG
    if cfg.is_file():
        old = (yaml.safe_load(cfg.read_text()) or {}).get("identity") or {}
        if fingerprint(old) != fingerprint(identity):
            diff = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
            raise S1kitError(
                f"run folder {out} was written by another configuration (differs in {', '.join(diff)}): "
                "use a new --out folder"
            )
    elif out.exists() and any(out.iterdir()):
        raise S1kitError(
            f"run folder {out} is not empty and has no {CONFIG}: expected a new or s1kit run folder"
        )


def read_records(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Records of a run; a torn last line is skipped (and cut from the file with ``repair``).

    Lines are written whole with their newline, so a kill mid-write leaves a last line without one.
    Duplicate keys (never written by the runner) keep their first record.
    """
    if not path.is_file():
        return []
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    good_end = 0
    for n, line in enumerate(complete, start=1):
        try:
            rec = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            if n == len(complete) and not tail.strip():
                break  # a garbled last line: redo it
            raise S1kitError(f"{path} line {n} is not valid JSON: the run folder is corrupt") from None
        good_end += len(line) + 1
        if rec is not None and rec["key"] not in seen:
            seen.add(rec["key"])
            records.append(rec)
    if repair and good_end < len(data):
        with path.open("r+b") as f:
            f.truncate(good_end)
    return records


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("s1kit", "math-verify", "llama-cpp-python", "transformers", "torch", "sympy"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    if "s1kit" not in out:
        from s1kit import __version__

        out["s1kit"] = __version__
    return out


def _model_version(model: str) -> dict[str, Any]:
    """Which model file or folder was used: path, size and (files under 2 GiB) sha256."""
    from s1kit.models import file_sha256, resolve_model

    try:
        spec = resolve_model(model)
    except S1kitError:
        return {}  # a server URL or a generator built in code
    info: dict[str, Any] = {"kind": spec.kind, "path": str(spec.path)}
    if spec.path.is_file():
        info["bytes"] = spec.path.stat().st_size
        if info["bytes"] < 2 << 30:
            info["sha256"] = file_sha256(spec.path)
    elif (spec.path / "config.json").is_file():
        info["config_sha256"] = hashlib.sha256((spec.path / "config.json").read_bytes()).hexdigest()
    return info


def _write_config(out: Path, identity: dict[str, Any], gen: Any) -> None:
    engine = gen.engine
    resolved = {
        "format": gen.format.name,
        "engine": getattr(engine, "name", type(engine).__name__),
        "model_name": getattr(engine, "model_name", None),
        "model": _model_version(str(identity.get("model", ""))),
        "context_length": getattr(engine, "context_length", None),
    }
    doc = {
        "fingerprint": fingerprint(identity),
        "identity": identity,
        "resolved": resolved,
        "versions": _versions(),
    }
    tmp = out / (CONFIG + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    os.replace(tmp, out / CONFIG)


# ------------------------------------------------------------------ the sweep


@dataclass(frozen=True)
class Batch:
    setting: Setting
    sample: int
    index: int
    problems: tuple[Problem, ...]
    seed: int

    def keys(self) -> list[str]:
        return [record_key(p.id, self.setting.id, self.sample) for p in self.problems]


def record_key(problem_id: str, setting_id: str, sample: int) -> str:
    return f"{problem_id}|{setting_id}|{sample}"


def plan_batches(config: EvalConfig, task: Task) -> list[Batch]:
    """The fixed work list: per setting and sample, problems in task order cut into batches."""
    out = []
    probs = task.problems
    for s in config.settings():
        for k in range(config.samples):
            for i in range(0, len(probs), config.batch_size):
                h = hashlib.sha256(f"{config.seed}|{s.id}|{k}|{i}".encode()).digest()
                out.append(
                    Batch(
                        s, k, i // config.batch_size, probs[i : i + config.batch_size], int.from_bytes(h[:4])
                    )
                )
    return out


def make_record(p: Problem, b: Batch, c: Completion, verdict: Any) -> dict[str, Any]:
    d = c.to_dict()
    d.pop("prompt")  # never record the question text (GPQA must not appear in plain text)
    return {
        "key": record_key(p.id, b.setting.id, b.sample),
        "problem_id": p.id,
        "setting": b.setting.to_dict(),
        "method": b.setting.method,
        "sample": b.sample,
        "gold": p.gold,
        "extracted": verdict.extracted,
        "correct": verdict.correct,
        "grade_source": verdict.source,
        "grade_timed_out": verdict.timed_out,
        **d,
        "seed": b.seed,
        "meta": dict(p.meta),
    }


def run_eval(
    config: EvalConfig,
    out: str | os.PathLike[str],
    *,
    generator: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``out``; returns the summary.

    Args:
        config: what to evaluate.
        out: the run folder (created; a folder of another configuration is refused).
        generator: a ready :class:`~s1kit.generate.Generator` (else loaded from the config).
        progress: called with (done, total, correct) after each batch.
    """
    from s1kit.grading_pool import GradingPool

    task = get_task(config.task, **config.task_options).limited(config.limit)
    identity = config.identity(task)
    out = Path(out)
    check_run_dir(out, identity)
    out.mkdir(parents=True, exist_ok=True)
    records = read_records(out / RECORDS, repair=True)
    done = {r["key"] for r in records}
    batches = plan_batches(config, task)
    total = sum(len(b.problems) for b in batches)
    correct = sum(bool(r["correct"]) for r in records)
    if progress:
        progress(len(done), total, correct)
    todo = [b for b in batches if not set(b.keys()) <= done]
    if todo or not (out / CONFIG).is_file():
        with GradingPool(
            config.grading_workers, config.grading_timeout
        ) as pool:  # starts while the model loads
            if generator is None:
                generator = load_generator(config)
            _write_config(out, identity, generator)
            with (out / RECORDS).open("a", encoding="utf-8") as f:
                for b in todo:
                    new = _run_batch(generator, pool, task, config, b, done)
                    for rec in new:
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                    records += new
                    done.update(r["key"] for r in new)
                    correct += sum(bool(r["correct"]) for r in new)
                    if progress:
                        progress(len(done), total, correct)
    return write_summary(out, records)


def load_generator(config: EvalConfig) -> Any:
    """The Generator a config asks for (a custom format when think_start/think_end are set)."""
    from s1kit.formats import ReasoningFormat
    from s1kit.generate import Generator

    fmt: Any = config.format
    if config.think_start or config.think_end:
        if not (config.think_start and config.think_end):
            raise S1kitError("a custom format needs both think_start and think_end")
        fmt = ReasoningFormat.custom(config.think_start, config.think_end)
    return Generator.load(config.model, backend=config.backend, format=fmt, **config.engine_options)


def _run_batch(gen: Any, pool: Any, task: Task, config: EvalConfig, b: Batch, done: set[str]) -> list[dict]:
    method = METHODS.get(b.setting.method)
    if method is None:
        raise S1kitError(f"unknown method {b.setting.method!r}: expected one of {sorted(METHODS)}")
    hook = QUESTION_HOOKS.get(b.setting.method, lambda q, s: q)
    prompts = [gen.render(hook(task.prompt(p, config.prompt_style), b.setting)) for p in b.problems]
    sampling = SamplingParams(config.temperature, config.top_p, config.top_k, b.seed)
    completions = method(gen, prompts, b.setting, [sampling] * len(prompts), config)
    items = [(c.answer, p.gold, p.kind, c.thinking) for p, c in zip(b.problems, completions, strict=True)]
    verdicts = pool.grade_many(items)
    return [
        make_record(p, b, c, v)
        for p, c, v in zip(b.problems, completions, verdicts, strict=True)
        if record_key(p.id, b.setting.id, b.sample) not in done
    ]


def write_summary(out: Path, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Recompute ``summary.json`` and the plots of a run folder from its records."""
    from s1kit.metrics import summarize
    from s1kit.plots import write_plots

    summary = summarize(records)
    cfg = out / CONFIG
    if cfg.is_file():
        doc = yaml.safe_load(cfg.read_text()) or {}
        ident = doc.get("identity") or {}
        summary["run"] = {
            "task": ident.get("task"),
            "model": ident.get("model"),
            "resolved": doc.get("resolved"),
            "fingerprint": doc.get("fingerprint"),
        }
    summary["plots"] = [p.name for p in write_plots({out.name: list(records)}, out)]
    tmp = out / (SUMMARY + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    os.replace(tmp, out / SUMMARY)
    return summary
