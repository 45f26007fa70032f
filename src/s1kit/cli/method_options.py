"""``s1kit eval --method NAME`` and the options each method needs, turned into a setting's params.

Only the options a method uses enter its params (and so its setting id and the run's identity).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError
from s1kit.methods import (
    alphaone,
    conditional,
    deepconf,
    early_exit,
    nowait,
    parallel,
    rejection,
    tree_search,
)

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
    "deepconf",
    "nowait",
    "alphaone",
    "tree_search",
)


def add_method_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("method (see docs/methods.md)")
    g.add_argument(
        "--method", choices=METHOD_NAMES, default="budget_forcing", help="test-time scaling method"
    )
    g.add_argument(
        "--scorer",
        default="mean_logprob",
        help=f"best_of_n: scorers, comma-separated, from {', '.join(parallel.SCORERS)}; tree_search: one",
    )
    g.add_argument(
        "--reward-model",
        default=None,
        metavar="PATH",
        help="best_of_n, tree_search: a sequence-classification model",
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
        "--probe-text",
        default=None,
        metavar="TEXT",
        help="early_exit: text fed inside the thinking to probe ('dynasor': Dynasor's probe); "
        "default: the delimiter and answer primer",
    )
    _add_after_s1_options(g)
    g.add_argument(
        "--max-tries",
        type=int,
        default=rejection.DEFAULT_MAX_TRIES,
        help="rejection_sampling: tries per question",
    )
    g.add_argument(
        "--step-tokens",
        type=int,
        default=None,
        help=f"step_conditional: tokens per step ({conditional.STEP_TOKENS}); tree_search: most tokens "
        f"in a step ({tree_search.STEP_TOKENS})",
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


def _add_after_s1_options(g: argparse._ArgumentGroup) -> None:
    """Options of the methods that followed s1 (deepconf, nowait, alphaone, tree_search)."""
    g.add_argument("--deepconf-mode", choices=deepconf.MODES, default="online", help="deepconf")
    g.add_argument("--traces", type=int, default=deepconf.TRACES, help="deepconf: traces per question")
    g.add_argument("--warmup", type=int, default=deepconf.WARMUP, help="deepconf online: warm-up traces")
    g.add_argument("--conf-window", type=int, default=deepconf.WINDOW, help="deepconf: tokens per group")
    g.add_argument("--conf-top-k", type=int, default=deepconf.TOP_K, help="deepconf: top-k log-probs")
    g.add_argument(
        "--keep",
        type=float,
        default=deepconf.KEEP,
        help="deepconf: fraction of traces kept (0.1: low, 0.9: high)",
    )
    g.add_argument(
        "--consensus",
        type=float,
        default=deepconf.CONSENSUS,
        help="deepconf online: stop drawing traces once the voted answer holds this share of the vote (0: off)",
    )
    g.add_argument(
        "--trace-chunk",
        type=int,
        default=0,
        help="deepconf online: traces drawn between consensus checks (default: the engine's batch)",
    )
    g.add_argument(
        "--nowait-words",
        default=",".join(nowait.WORDS),
        metavar="W1,W2",
        help="nowait: reflection words masked while thinking",
    )
    g.add_argument("--alpha", type=float, default=alphaone.ALPHA, help="alphaone: the α moment's scale")
    g.add_argument(
        "--think-length",
        type=int,
        default=None,
        metavar="N",
        help="alphaone: the model's average thinking length (default: the budget cap)",
    )
    g.add_argument("--wait-p0", type=float, default=alphaone.P0, help="alphaone: first 'Wait' probability")
    g.add_argument("--wait-schedule", choices=alphaone.SCHEDULES, default="linear", help="alphaone")
    g.add_argument("--beam-width", type=int, default=tree_search.BEAM_WIDTH, help="tree_search: paths kept")
    g.add_argument(
        "--expansion", type=int, default=tree_search.EXPANSION, help="tree_search: steps sampled per path"
    )


def _fraction(args: argparse.Namespace, name: str) -> float:
    v = getattr(args, name)
    if not 0 < v <= 1:
        raise S1kitError(f"--{name.replace('_', '-')} is {v}: expected a number in (0, 1]")
    return v


def _after_s1_params(args: argparse.Namespace) -> dict[str, Any] | None:
    m = args.method
    if m == "deepconf":
        p = {
            "mode": args.deepconf_mode,
            "traces": _positive(args, "traces"),
            "window": _positive(args, "conf_window"),
            "top_k": _positive(args, "conf_top_k"),
            "keep": _fraction(args, "keep"),
        }
        if args.deepconf_mode == "online":
            p["warmup"] = _positive(args, "warmup")
            if p["warmup"] >= p["traces"]:
                raise S1kitError(f"--warmup {p['warmup']}: expected fewer than --traces ({p['traces']})")
            if not 0 <= args.consensus <= 1:
                raise S1kitError(f"--consensus is {args.consensus}: expected a share in [0, 1] (0: off)")
            if args.trace_chunk < 0:
                raise S1kitError(f"--trace-chunk is {args.trace_chunk}: expected an integer >= 0")
            p["consensus"], p["chunk"] = args.consensus, args.trace_chunk
        return p
    if m == "nowait":
        words = [w.strip() for w in args.nowait_words.split(",") if w.strip()]
        if not words:
            raise S1kitError("--nowait-words is empty: expected comma-separated words such as wait,hmm")
        return {"words": words}
    if m == "alphaone":
        if args.alpha <= 0:
            raise S1kitError(f"--alpha is {args.alpha}: expected a number > 0")
        if not 0 <= args.wait_p0 <= 1:
            raise S1kitError(f"--wait-p0 is {args.wait_p0}: expected a probability in [0, 1]")
        p = {"alpha": args.alpha, "p0": args.wait_p0, "schedule": args.wait_schedule}
        if args.think_length is not None:
            p["think_length"] = _positive(args, "think_length")
        return p
    if m == "tree_search":
        scorer = args.scorer.strip()
        if scorer not in tree_search.SCORERS:
            raise S1kitError(f"--scorer {scorer!r}: tree_search takes one of {list(tree_search.SCORERS)}")
        p = {
            "beam_width": _positive(args, "beam_width"),
            "expansion": _positive(args, "expansion"),
            "step_tokens": args.step_tokens if args.step_tokens is not None else tree_search.STEP_TOKENS,
            "scorer": scorer,
        }
        if p["step_tokens"] < 1:
            raise S1kitError(f"--step-tokens is {p['step_tokens']}: expected an integer >= 1")
        if scorer == "reward_model":
            if not args.reward_model or not Path(args.reward_model).exists():
                raise S1kitError(f"--reward-model {args.reward_model!r}: expected a model folder")
            p["reward_model"] = str(args.reward_model)
        return p
    return None


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
    after = _after_s1_params(args)
    if after is not None:
        return after
    if m == "early_exit":
        p = {k: _positive(args, k) for k in ("probe_every", "probe_agree", "probe_tokens")}
        if args.probe_text:  # only when given, so earlier runs keep their identity
            p["probe_text"] = args.probe_text
        return p
    if m == "rejection_sampling":
        return {"max_tries": _positive(args, "max_tries")}
    if m == "step_conditional":
        if args.step_tokens is None:
            args.step_tokens = conditional.STEP_TOKENS
        return {"step_tokens": _positive(args, "step_tokens"), "forcing": bool(args.forcing)}
    if m == "token_conditional":
        return {"forcing": bool(args.forcing)}
    if m == "class_conditional":
        return {"length_class": args.length_class, "forcing": bool(args.forcing)}
    return {}


def check_method(args: argparse.Namespace) -> None:
    """Refuse combinations a method cannot honour, before any model loads."""
    m, caps = args.method, [b.strip().lower() for b in args.budgets.split(",")]
    needs_cap = ("token_conditional", "step_conditional", "rejection_sampling", "tree_search")
    if m in needs_cap and any(c in ("none", "inf", "unlimited") for c in caps):
        raise S1kitError(f"--method {m} states or checks a thinking budget: give --budgets without 'none'")
    if m in ("majority_vote", "best_of_n", "grid") and args.samples < 2:
        raise S1kitError(
            f"--method {m} combines several samples: give --samples N >= 2 and --temperature > 0"
        )
    if m == "deepconf" and args.temperature == 0:
        raise S1kitError("--method deepconf draws many traces per question: give --temperature > 0")
    if m == "tree_search" and args.temperature == 0 and args.expansion > 1:
        raise S1kitError("--method tree_search samples several steps per path: give --temperature > 0")
    if m == "rejection_sampling" and args.temperature == 0 and args.max_tries > 1:
        raise S1kitError("--method rejection_sampling resamples: give --temperature > 0")
