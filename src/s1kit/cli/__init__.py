"""``s1kit`` command line: one verb per stage; the backend is an option, never a verb.

Each verb lives in its own module ``s1kit.cli.<verb>`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their verb runs. Logging is configured here only.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys

from s1kit.errors import S1kitError

COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("s1kit.cli.generate", "budget-forced reasoning on one or more prompts"),
    "eval": ("s1kit.cli.eval", "evaluate a model on a task across thinking budgets"),
    "report": ("s1kit.cli.report", "metrics, plots and an HTML report from run folders"),
    "traces": ("s1kit.cli.traces", "generate reasoning traces for a question pool with a teacher"),
    "curate": ("s1kit.cli.curate", "curate an s1K-style dataset from a pool"),
    "train": ("s1kit.cli.train", "supervised fine-tuning on s1K-style data"),
    "serve": ("s1kit.cli.serve", "an OpenAI-compatible server with per-request thinking budgets"),
    "toy": (
        "s1kit.cli.toy",
        "the s1 recipe in miniature: a toy task, a tiny model trained on a CPU, the sweeps",
    ),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="s1kit", description="s1: simple test-time scaling, as a toolkit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("transformers", "httpx", "urllib3", "datasets"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except S1kitError as e:
        print(f"s1kit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
