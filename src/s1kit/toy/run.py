"""``s1kit toy run``: the s1 recipe in miniature, as the normal stages run one after another.

data (``s1kit toy data``) -> a trivial solver (``s1kit train``) -> ``s1kit curate`` -> the toy model
(``s1kit train --recipe toy-cpu``) -> its token- and step-marker variants (``s1kit train --markers``)
-> one ``s1kit eval`` sweep per method -> ``s1kit report --html`` -> ``summary.json``.

Every stage but the first and the last is the ordinary verb with ordinary flags: :func:`plan` returns
them as argument lists, ``DIR/commands.sh`` lists them, and each can be rerun alone. A stage whose
output exists is skipped, so rerunning ``s1kit toy run`` on the same folder resumes. ``DIR/timings.json``
records each stage's wall time and CPU time (this process and its children).
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError
from s1kit.toy.problems import LINE_TOKENS, PoolSpec, pool_rows, solver_rows, write_jsonl

SOLVER_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."  # curation's
ANSWER_TOKENS = 20  # "Final Answer: d" is 15 characters, then the end of turn
MARKER_TOKENS_TEMPLATE = "{remaining} {unit} left\n"  # no special token: the model writes these itself


@dataclass(frozen=True)
class ToyOptions:
    """What ``s1kit toy run`` does (defaults: the measured recipe of docs/toy.md).

    Attributes:
        out: the folder everything goes to.
        seed: seeds the pool, the initial weights, training order, curation and sampling.
        pool: rows generated for curation; size: rows curation selects for training.
        caps: thinking-token caps of the sweeps; ignores: ignored stops ("Wait") of budget forcing.
        limit: evaluate only the first N problems of the toy task (None: all 210).
        samples: samples per problem for majority vote.
        train_steps, solver_steps, marker_steps: optimizer steps of the three kinds of training run
            (None: the recipe's).
        temperature: sampling temperature of every sweep (the model's own distribution at 1.0).
    """

    out: Path
    seed: int = 0
    pool: int = 8000
    size: int = 4000
    caps: tuple[int, ...] = tuple(LINE_TOKENS * n for n in (1, 2, 3, 4, 6, 9))  # 1..9 steps
    ignores: tuple[int, ...] = (0, 1, 2, 4)
    limit: int | None = None
    samples: int = 8
    train_steps: int | None = None
    solver_steps: int = 60
    marker_steps: int = 100
    temperature: float = 1.0
    methods: tuple[str, ...] = (
        "budget_forcing",
        "token_conditional",
        "step_conditional",
        "rejection_sampling",
        "majority_vote",
    )

    def path(self, *parts: str) -> Path:
        return Path(self.out, *parts)


@dataclass(frozen=True)
class Stage:
    """One step: an ``s1kit`` command line (``argv``) or a Python function, done when ``done`` exists."""

    name: str
    done: Path
    argv: tuple[str, ...] = ()
    fn: Callable[[], Any] | None = None

    def command(self) -> str:
        if self.argv:
            return "s1kit " + shlex.join(self.argv)
        return f"# {self.name}: python stage (s1kit toy {self.name})"


def write_data(opts: ToyOptions) -> None:
    """The generated pool, the solver's rows, the evaluation questions (for decontamination), the init model."""
    from s1kit.tasks import get_task
    from s1kit.toy.model import write_init_model

    rows = pool_rows(opts.seed, PoolSpec(size=opts.pool))
    write_jsonl(opts.path("data", "pool.jsonl"), rows)
    clean = [r for r in rows if r["attempt"] and r["metadata"]["trace"] != "api_error"]
    write_jsonl(opts.path("data", "solver.jsonl"), solver_rows(clean, SOLVER_SUFFIX))
    task = get_task("toy")
    write_jsonl(opts.path("data", "eval_questions.jsonl"), [{"question": p.question} for p in task.problems])
    write_init_model(opts.path("init"), seed=opts.seed)


def _csv(xs: tuple[int, ...]) -> str:
    return ",".join(str(x) for x in xs)


def eval_argv(opts: ToyOptions, method: str) -> tuple[str, ...]:
    """The ``s1kit eval`` command of one method's sweep."""
    model = {"token_conditional": "model-tokens", "step_conditional": "model-steps"}.get(method, "model")
    argv = [
        "eval", "--task", "toy", "--model", str(opts.path(model)), "--backend", "hf",
        "--prompt-style", "s1", "--temperature", str(opts.temperature), "--seed", str(opts.seed),
        "--max-answer-tokens", str(ANSWER_TOKENS), "--batch-size", "64", "--grading-workers", "1", "--no-progress",
        "--out", str(opts.path("runs", method)),
    ]  # fmt: skip
    if opts.limit:
        argv += ["--limit", str(opts.limit)]
    caps = _csv(opts.caps)
    if method == "budget_forcing":
        return (*argv, "--budgets", caps + ",none", "--num-ignore", _csv(opts.ignores))
    if method == "majority_vote":
        return (*argv, "--method", method, "--budgets", "none", "--samples", str(opts.samples))
    if method == "step_conditional":
        return (*argv, "--method", method, "--budgets", caps, "--step-tokens", str(LINE_TOKENS))
    if method in ("token_conditional", "rejection_sampling"):
        return (*argv, "--method", method, "--budgets", caps)
    raise S1kitError(f"s1kit toy has no sweep for method {method!r}")


def _train_argv(
    opts: ToyOptions, data: str, output: str, model: str = "init", **flags: Any
) -> tuple[str, ...]:
    argv = ["train", "--recipe", "toy-cpu", "--model", str(opts.path(model)), "--data", str(opts.path(data))]
    argv += ["--output", str(opts.path(output)), "--seed", str(opts.seed)]
    for k, v in flags.items():
        if v is not None:
            argv += ["--" + k.replace("_", "-"), str(v)]
    return tuple(argv)


def plan(opts: ToyOptions) -> list[Stage]:
    """Every stage in order."""
    from s1kit.toy.summary import write_summary

    selected = "curated/selected.jsonl"
    runs = [str(opts.path("runs", m)) for m in opts.methods]
    weights = "model.safetensors"
    stages = [
        Stage("data", opts.path("init", weights), fn=lambda: write_data(opts)),
        Stage("solver", opts.path("solver", weights), _train_argv(opts, "data/solver.jsonl", "solver", max_steps=opts.solver_steps)),
        Stage("curate", opts.path("curated", "report.json"), (
            "curate", "--input", str(opts.path("data", "pool.jsonl")), "--out", str(opts.path("curated")),
            "--size", str(opts.size), "--seed", str(opts.seed), "--solvers", f"hf:{opts.path('solver')}",
            "--tokenizer", str(opts.path("init")), "--solver-max-thinking-tokens", "4",
            "--solver-max-answer-tokens", str(ANSWER_TOKENS), "--batch-size", "64", "--disable-rule", "extreme_length",
            "--decontam-extra", str(opts.path("data", "eval_questions.jsonl")),
        )),
        Stage("train", opts.path("model", weights), _train_argv(opts, selected, "model", max_steps=opts.train_steps)),
    ]  # fmt: skip
    if "token_conditional" in opts.methods:
        stages.append(
            Stage(
                "train-tokens",
                opts.path("model-tokens", weights),
                _train_argv(
                    opts, selected, "model-tokens", "model", max_steps=opts.marker_steps, learning_rate=5e-4,
                    markers="tokens", marker_every=4, marker_template=MARKER_TOKENS_TEMPLATE,
                ),
            )
        )  # fmt: skip
    if "step_conditional" in opts.methods:
        stages.append(
            Stage(
                "train-steps",
                opts.path("model-steps", weights),
                _train_argv(
                    opts, selected, "model-steps", "model", max_steps=opts.marker_steps, learning_rate=5e-4,
                    markers="steps", marker_every=LINE_TOKENS,
                ),
            )
        )  # fmt: skip
    for m in opts.methods:
        stages.append(Stage(f"eval-{m}", opts.path("runs", m, "summary.json"), eval_argv(opts, m)))
    stages.append(
        Stage("report", opts.path("report.html"), ("report", *runs, "--out", str(opts.path("report")), "--html", str(opts.path("report.html"))))
    )  # fmt: skip
    stages.append(
        Stage("summary", opts.path("summary.json"), fn=lambda: write_summary(opts.out, opts.methods))
    )
    return stages


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(opts: ToyOptions, *, say: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run (or resume) every stage into ``opts.out``; returns the timings written to ``timings.json``."""
    from s1kit.cli import main as s1kit_main

    opts.out.mkdir(parents=True, exist_ok=True)
    stages = plan(opts)
    (opts.out / "commands.sh").write_text(
        "#!/bin/sh\n# The stages of `s1kit toy run`, each rerunnable alone.\nset -e\n"
        + "\n".join(s.command() for s in stages)
        + "\n"
    )
    timings_path = opts.out / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    timings["options"] = json.loads(json.dumps(asdict(opts), default=str))
    total_wall, total_cpu = time.perf_counter(), _cpu_seconds()
    for s in stages:
        if s.done.exists() and s.name != "summary":
            say(f"[toy] {s.name}: done already ({s.done})")
            continue
        say(f"[toy] {s.name}: {s.command()}")
        wall, cpu = time.perf_counter(), _cpu_seconds()
        if s.fn is not None:
            s.fn()
        else:
            rc = s1kit_main(list(s.argv))
            if rc:
                raise S1kitError(f"stage {s.name} failed (exit {rc}): {s.command()}")
        timings.setdefault("stages", {})[s.name] = {
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(_cpu_seconds() - cpu, 2),
        }
        say(f"[toy] {s.name}: {timings['stages'][s.name]['wall_s']:.1f} s")
        timings_path.write_text(json.dumps(timings, indent=2) + "\n")
    timings["this_run"] = {
        "wall_s": round(time.perf_counter() - total_wall, 2),
        "cpu_s": round(_cpu_seconds() - total_cpu, 2),
        "cores": os.cpu_count(),
    }
    timings_path.write_text(json.dumps(timings, indent=2) + "\n")
    return timings


__all__ = ["ToyOptions", "Stage", "eval_argv", "plan", "run", "write_data"]
