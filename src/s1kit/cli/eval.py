"""``s1kit eval``: a task across thinking budgets, into a resumable run folder.

    s1kit eval --task math500 --model default --budgets 128,256,512 --num-ignore 0,1,2 --limit 50 --out runs/x

Re-running the same command resumes: finished samples are kept, missing ones are generated.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from s1kit.cli.checks import MAX_TOKENS, check_budget_args, check_numbers, check_out_dir
from s1kit.cli.common import add_budget_arguments, add_model_arguments, add_sampling_arguments, engine_kwargs
from s1kit.errors import S1kitError
from s1kit.grading.judge import KINDS
from s1kit.tasks import PROMPT_STYLES, TASKS


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task")
    g.add_argument("--task", required=True, help=f"one of {', '.join(sorted(TASKS))}")
    g.add_argument("--limit", type=int, default=None, help="evaluate only the first N problems")
    g.add_argument(
        "--prompt-style",
        choices=PROMPT_STYLES,
        default="boxed",
        help="s1: the bare question (models trained to box); boxed: ask to reason and box the answer",
    )
    g.add_argument("--task-file", default=None, help="custom task: a JSONL file")
    g.add_argument("--question-field", default="question", help="custom task: the question field")
    g.add_argument("--answer-field", default="answer", help="custom task: the answer field")
    g.add_argument("--id-field", default=None, help="custom task: an id field (default: line numbers)")
    g.add_argument("--kind", choices=KINDS, default="math", help="custom task: grading kind")
    g.add_argument("--gpqa-seed", type=int, default=0, help="gpqa_diamond: seed of the option shuffle")
    s = p.add_argument_group("sweep")
    s.add_argument(
        "--budgets", default="none", help="max thinking tokens to sweep, e.g. 128,256,512 (none: no cap)"
    )
    s.add_argument("--num-ignore", default="0", help="ignored stops to sweep, e.g. 0,1,2")
    s.add_argument(
        "--ignore-sweep",
        default=None,
        help="ignore-string lists to sweep, ';' between lists, ',' inside one (default: --ignore-strings)",
    )
    s.add_argument("--samples", type=int, default=1, help="samples per problem (needs --temperature > 0)")
    p.add_argument("--out", required=True, help="the run folder (created; re-run the same command to resume)")
    p.add_argument(
        "--mode", choices=("loop", "rounds"), default="loop", help="force in the loop or by rounds"
    )
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generation batch")
    p.add_argument("--grading-timeout", type=float, default=5.0, help="seconds per graded answer")
    p.add_argument("--grading-workers", type=int, default=2, help="grading processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--threads", type=int, default=None, help="llamacpp backend: CPU threads (default: all cores)"
    )
    add_model_arguments(p)
    add_budget_arguments(p, sweep=True)
    add_sampling_arguments(p)
    from s1kit.cli.method_options import add_method_arguments

    add_method_arguments(p)


def int_list(text: str, flag: str, *, allow_none: bool = False) -> list[int | None]:
    """Parse "128,256,512" (and "none" where allowed); a one-line error names the flag."""
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise S1kitError(f"{flag} is empty: expected comma-separated integers such as 128,256,512")
    if not all(items):
        raise S1kitError(f"{flag}: {text!r} has an empty item (expected e.g. 128,256,512)")
    out: list[int | None] = []
    for t in items:
        if allow_none and t.lower() in ("none", "inf", "unlimited"):
            out.append(None)
            continue
        try:
            v = int(t)
        except ValueError:
            raise S1kitError(f"{flag}: {t!r} is not an integer (expected e.g. 128,256,512)") from None
        if v < 0:
            raise S1kitError(f"{flag}: {v} is negative: expected integers >= 0")
        if v > MAX_TOKENS:
            raise S1kitError(f"{flag}: {v} is over {MAX_TOKENS}: expected a token count (or none)")
        out.append(v)
    if len(set(out)) != len(out):
        raise S1kitError(f"{flag}: {text!r} repeats a value")
    return out


def config_from_args(args: argparse.Namespace) -> Any:
    check_numbers(
        args,
        positive=("threads", "batch_size", "samples", "grading_workers", "limit", "n_ctx"),
        positive_float=("grading_timeout",),
    )
    check_budget_args(args)
    from s1kit.cli.method_options import check_method, method_params
    from s1kit.evaluation.runner import EvalConfig

    method = getattr(args, "method", "budget_forcing")
    if method != "budget_forcing":
        check_method(args)

    task_options: dict[str, Any] = {}
    if args.task == "custom":
        task_options = {
            "path": args.task_file,
            "question_field": args.question_field,
            "answer_field": args.answer_field,
            "id_field": args.id_field,
            "kind": args.kind,
        }
    elif args.task == "gpqa_diamond":
        task_options = {"seed": args.gpqa_seed}
    elif args.task_file:
        raise S1kitError("--task-file is only for --task custom")
    sweep = args.ignore_sweep if args.ignore_sweep is not None else args.ignore_strings
    ignore_sets = [tuple(x for x in part.split(",") if x) for part in sweep.split(";") if part.strip()]
    if args.format == "custom" and not (args.think_start and args.think_end):
        raise S1kitError("--format custom needs both --think-start and --think-end")
    return EvalConfig(
        task=args.task,
        model=args.model,
        backend=args.backend,
        format=None if args.format == "custom" else args.format,
        think_start=args.think_start,
        think_end=args.think_end,
        engine_options={**engine_kwargs(args), **({"n_threads": args.threads} if args.threads else {})},
        prompt_style=args.prompt_style,
        task_options=task_options,
        budgets=tuple(int_list(args.budgets, "--budgets", allow_none=True)),
        num_ignore=tuple(int_list(args.num_ignore, "--num-ignore")),  # type: ignore[arg-type]
        ignore_strings=tuple(ignore_sets),
        min_thinking_tokens=args.min_thinking_tokens,
        answer_primer=args.answer_primer,
        max_answer_tokens=args.max_answer_tokens,
        budget_message=args.budget_message,
        samples=args.samples,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        seed=0 if args.seed is None else args.seed,
        limit=args.limit,
        mode=args.mode,
        batch_size=args.batch_size,
        grading_timeout=args.grading_timeout,
        grading_workers=args.grading_workers,
        method=method,
        method_params=method_params(args) if method != "budget_forcing" else {},
    )


class _Bar:
    """A tqdm bar (ETA, running accuracy) on stderr; created on the first update."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr is not None
        self.bar: Any = None

    def __call__(self, done: int, total: int, correct: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="sample", dynamic_ncols=True, file=sys.stderr)
        if done:
            self.bar.set_postfix_str(f"acc {100 * correct / done:.1f}%", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from s1kit.cli.report import format_table
    from s1kit.evaluation.runner import run_eval

    config = config_from_args(args)
    check_out_dir(args.out)
    bar = _Bar(not args.no_progress)
    try:
        summary = run_eval(config, args.out, progress=bar)
    finally:
        bar.close()
    print(format_table(summary))
    print(f"run folder: {args.out}")
    return 0
