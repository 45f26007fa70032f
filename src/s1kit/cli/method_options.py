"""``s1kit eval --method NAME`` and the options each method needs, turned into a setting's params.

Only the options a method uses enter its params (and so its setting id and the run's identity).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError
from s1kit.methods import conditional, early_exit, parallel, rejection

METHOD_NAMES: tuple[str, ...] = (
    "budget_forcing",
    "majority_vote",
    "best_of_n",
    "grid",
    "token_conditional",
    "step_conditional",
    "class_conditional",
    "rejection_sampling",
    "early_exit",
)


def add_method_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("method (see docs/methods.md)")
    g.add_argument(
        "--method", choices=METHOD_NAMES, default="budget_forcing", help="test-time scaling method"
    )
    g.add_argument(
        "--scorer",
        default="mean_logprob",
        help=f"best_of_n: scorers, comma-separated, from {', '.join(parallel.SCORERS)}",
    )
    g.add_argument(
        "--reward-model", default=None, metavar="PATH", help="best_of_n: a sequence-classification model"
    )
    g.add_argument(
        "--probe-every",
        type=int,
        default=early_exit.PROBE_EVERY,
        metavar="K",
        help="early_exit: tokens between probes",
    )
    g.add_argument(
        "--probe-agree",
        type=int,
        default=early_exit.PROBE_AGREE,
        metavar="M",
        help="early_exit: agreeing probes to stop",
    )
    g.add_argument(
        "--probe-tokens",
        type=int,
        default=early_exit.PROBE_TOKENS,
        help="early_exit: answer tokens per probe",
    )
    g.add_argument(
        "--max-tries",
        type=int,
        default=rejection.DEFAULT_MAX_TRIES,
        help="rejection_sampling: tries per question",
    )
    g.add_argument(
        "--step-tokens", type=int, default=conditional.STEP_TOKENS, help="step_conditional: tokens per step"
    )
    g.add_argument(
        "--length-class",
        choices=tuple(conditional.CLASS_INSTRUCTIONS),
        default="brief",
        help="class_conditional",
    )
    g.add_argument(
        "--forcing", action="store_true", help="*_conditional: also enforce the budget (Table 3's '+ BF')"
    )


def _positive(args: argparse.Namespace, name: str) -> int:
    v = getattr(args, name)
    if v < 1:
        raise S1kitError(f"--{name.replace('_', '-')} is {v}: expected an integer >= 1")
    return v


def method_params(args: argparse.Namespace) -> dict[str, Any]:
    """The params of the chosen method from parsed arguments (validated, one-line errors)."""
    m = args.method
    if m in ("best_of_n",):
        scorers = [s.strip() for s in args.scorer.split(",") if s.strip()]
        bad = [s for s in scorers if s not in parallel.SCORERS]
        if not scorers or bad:
            raise S1kitError(f"--scorer {args.scorer!r}: expected names from {list(parallel.SCORERS)}")
        params: dict[str, Any] = {"scorers": scorers}
        if "reward_model" in scorers:
            if not args.reward_model or not Path(args.reward_model).exists():
                raise S1kitError(
                    f"--reward-model {args.reward_model!r}: expected a model folder for scorer reward_model"
                )
            params["reward_model"] = str(args.reward_model)
        return params
    if m == "early_exit":
        return {k: _positive(args, k) for k in ("probe_every", "probe_agree", "probe_tokens")}
    if m == "rejection_sampling":
        return {"max_tries": _positive(args, "max_tries")}
    if m == "step_conditional":
        return {"step_tokens": _positive(args, "step_tokens"), "forcing": bool(args.forcing)}
    if m == "token_conditional":
        return {"forcing": bool(args.forcing)}
    if m == "class_conditional":
        return {"length_class": args.length_class, "forcing": bool(args.forcing)}
    return {}


def check_method(args: argparse.Namespace) -> None:
    """Refuse combinations a method cannot honour, before any model loads."""
    m, caps = args.method, [b.strip().lower() for b in args.budgets.split(",")]
    needs_cap = ("token_conditional", "step_conditional", "rejection_sampling")
    if m in needs_cap and any(c in ("none", "inf", "unlimited") for c in caps):
        raise S1kitError(f"--method {m} states or checks a thinking budget: give --budgets without 'none'")
    if m in ("majority_vote", "best_of_n", "grid") and args.samples < 2:
        raise S1kitError(
            f"--method {m} combines several samples: give --samples N >= 2 and --temperature > 0"
        )
    if m == "rejection_sampling" and args.temperature == 0 and args.max_tries > 1:
        raise S1kitError("--method rejection_sampling resamples: give --temperature > 0")
