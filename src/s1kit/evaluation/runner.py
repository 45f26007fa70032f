"""The evaluation runner: a task × settings × samples sweep into a resumable run folder (:mod:`.rundir`)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from s1kit.errors import S1kitError
from s1kit.evaluation.config import EvalConfig, Setting
from s1kit.evaluation.pipeline import pipeline_width, run_pipelined
from s1kit.evaluation.rundir import (
    CONFIG,
    RECORDS,
    SUMMARY,
    lock_run_dir,
    read_records,
    write_config,
    write_server_report,
)
from s1kit.generation.completion import Completion
from s1kit.generation.sampling import SamplingParams
from s1kit.tasks import Problem, Task, get_task

Progress = Callable[[int, int, int], None]  # (done, total, correct so far)


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
        "grade_error": verdict.error,  # grading itself failed (not a wrong answer); None when it worked
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
    in_flight: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``out``; returns the summary.

    Args:
        config: what to evaluate.
        out: the run folder (created; a folder of another configuration is refused).
        generator: a ready :class:`~s1kit.generate.Generator` (else loaded from the config).
        progress: called with (done, total, correct) after each batch.
        in_flight: batches decoding at once (default: enough to keep the engine's batch full, see
            :mod:`s1kit.evaluation.pipeline`); 1 runs them one after another. Records are the same.
    """
    task = get_task(config.task, **config.task_options).limited(config.limit)
    identity = config.identity(task)
    out = Path(out)
    with lock_run_dir(out, identity):  # one run writes a folder at a time
        return _resume(config, task, identity, out, generator, progress, in_flight)


def _resume(
    config: EvalConfig,
    task: Any,
    identity: dict[str, Any],
    out: Path,
    generator: Any,
    progress: Any,
    in_flight: int | None,
) -> dict[str, Any]:
    from s1kit.grading.pool import GradingPool

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
            write_config(out, identity, generator)
            session = time.strftime("%Y-%m-%dT%H:%M:%S")
            with (out / RECORDS).open("a", encoding="utf-8") as f:

                def write(new: list[dict]) -> None:
                    nonlocal records, correct
                    for rec in new:
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                    write_server_report(out, generator.engine, session)
                    records += new
                    done.update(r["key"] for r in new)
                    correct += sum(bool(r["correct"]) for r in new)
                    if progress:
                        progress(len(done), total, correct)

                run = partial(_run_batch, generator, pool, task, config, done=frozenset(done))
                width = pipeline_width(generator, config) if in_flight is None else max(1, in_flight)
                run_pipelined(todo, run, write, generator, width)
            # votes check answer equivalence in this run's own grading workers (no second start)
            return write_summary(out, records, equal=pool.equal_many)
    return write_summary(out, records)


def load_generator(config: EvalConfig) -> Any:
    """The Generator a config asks for (a custom format when think_start/think_end are set)."""
    from s1kit.forcing.formats import ReasoningFormat
    from s1kit.generation.generator import Generator

    fmt: Any = config.format
    if config.think_start or config.think_end:
        if not (config.think_start and config.think_end):
            raise S1kitError("a custom format needs both think_start and think_end")
        fmt = ReasoningFormat.custom(config.think_start, config.think_end)
    return Generator.load(config.model, backend=config.backend, format=fmt, **config.engine_options)


def _run_batch(
    gen: Any, pool: Any, task: Task, config: EvalConfig, b: Batch, *, done: frozenset[str]
) -> list[dict]:
    from s1kit.methods.registry import method_fn, question_hook

    method = method_fn(b.setting.method)
    hook = question_hook(b.setting.method) or (lambda q, s: q)
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


def write_summary(out: Path, records: Sequence[dict[str, Any]], *, equal: Any = None) -> dict[str, Any]:
    """Recompute ``summary.json`` and the plots of a run folder from its records (``equal``: the
    equivalence check votes use, e.g. a live pool's ``equal_many``; default: the shared grading pool)."""
    from s1kit.evaluation.metrics import summarize
    from s1kit.evaluation.plots import write_plots

    summary = summarize(records, equal=equal)
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
