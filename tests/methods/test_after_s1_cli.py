"""``s1kit eval --method`` for the methods after s1: options become params; bad input is one line."""

from __future__ import annotations

import pytest

from s1kit.cli import build_parser
from s1kit.cli.eval import config_from_args
from s1kit.errors import S1kitError
from s1kit.methods.registry import METHODS

BASE = ["eval", "--task", "gsm8k", "--out", "x", "--budgets", "64"]


def _params(*extra: str) -> dict:
    args = build_parser().parse_args([*BASE, *extra])
    return config_from_args(args).method_params


def test_registered_with_the_papers_defaults():
    assert {"deepconf", "nowait", "alphaone", "tree_search"} <= set(METHODS)
    assert _params("--method", "deepconf", "--temperature", "0.7") == {
        "mode": "online",
        "traces": 32,
        "warmup": 16,
        "window": 2048,
        "top_k": 20,
        "keep": 0.1,
        "consensus": 0.95,
        "chunk": 0,
    }
    assert _params("--method", "nowait")["words"][:3] == ["wait", "alternatively", "hmm"]
    assert _params("--method", "alphaone") == {"alpha": 1.4, "p0": 0.5, "schedule": "linear"}
    assert _params("--method", "tree_search", "--temperature", "0.7", "--scorer", "self_certainty") == {
        "beam_width": 4,
        "expansion": 4,
        "step_tokens": 128,
        "scorer": "self_certainty",
    }


def test_options_reach_the_params():
    p = _params("--method", "deepconf", "--temperature", "1", "--deepconf-mode", "offline", "--traces", "8")
    assert p["mode"] == "offline" and p["traces"] == 8 and "warmup" not in p
    assert _params("--method", "nowait", "--nowait-words", "Wait, hmm")["words"] == ["Wait", "hmm"]
    p = _params(
        "--method", "alphaone", "--alpha", "0.8", "--think-length", "300", "--wait-schedule", "constant"
    )
    assert p == {"alpha": 0.8, "p0": 0.5, "schedule": "constant", "think_length": 300}
    p = _params("--method", "early_exit", "--probe-text", "dynasor")
    assert p["probe_text"] == "dynasor"
    assert "probe_text" not in _params("--method", "early_exit")  # earlier runs keep their identity
    assert _params("--method", "step_conditional")["step_tokens"] == 100


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "deepconf"], "--temperature > 0"),
        (["--method", "deepconf", "--temperature", "1", "--warmup", "32"], "--warmup 32"),
        (["--method", "deepconf", "--temperature", "1", "--keep", "0"], "--keep is 0"),
        (["--method", "nowait", "--nowait-words", " , "], "--nowait-words is empty"),
        (["--method", "alphaone", "--alpha", "0"], "--alpha is 0"),
        (["--method", "alphaone", "--wait-p0", "2"], "--wait-p0 is 2"),
        (["--method", "tree_search", "--temperature", "1", "--scorer", "vibes"], "tree_search takes one of"),
        (["--method", "tree_search"], "--temperature > 0"),
        (["--method", "tree_search", "--temperature", "1", "--beam-width", "0"], "--beam-width is 0"),
    ],
)
def test_bad_input_is_one_line(extra, message):
    with pytest.raises(S1kitError, match=message.replace("+", r"\+")) as e:
        _params(*extra)
    assert "\n" not in str(e.value)


def test_tree_search_needs_a_cap():
    args = build_parser().parse_args(["eval", "--task", "gsm8k", "--out", "x", "--method", "tree_search"])
    with pytest.raises(S1kitError, match="without 'none'"):
        config_from_args(args)
