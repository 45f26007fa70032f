"""s1kit.vote: extraction, clustering by key and by the grader's equivalence, ties, weights, no gold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import s1kit
from s1kit.grading.judge import equivalent
from s1kit.grading.vote import answer_of, cluster, cluster_many, tally, vote

SRC = Path(__file__).resolve().parents[2] / "src"


def in_process(pairs, kind):
    """The grader's own equivalence, run here (the test's answers are trusted, and fixed)."""
    return [equivalent(a, b, kind) for a, b in pairs]


def never(pairs, kind):
    raise AssertionError(f"no equivalence check was needed, but {list(pairs)} were asked")


def test_public_name_and_extraction():
    assert s1kit.vote is vote
    assert answer_of(r"so the area is $\boxed{\frac{1}{2}}$.") == r"\frac{1}{2}"
    assert answer_of("Answer: 12") == "12"
    assert answer_of(r"\frac{1}{2}") == r"\frac{1}{2}"  # already an answer: taken as written
    assert answer_of("a long derivation\nwith no final answer") is None  # abstains
    assert answer_of(None) is None
    assert answer_of("The answer is (C)", "gpqa") == "C" and answer_of("b", "gpqa", extract=False) == "B"


def test_keys_merge_without_any_equivalence_check():
    # normalised text, canonical numbers, AIME integers, GPQA letters: no worker is needed
    assert cluster([r"\boxed{7}", "Answer: 2", r"\boxed{7.0}", r"\boxed{07}", "2.0"], equal=never) == [
        0,
        1,
        0,
        0,
        1,
    ]
    assert cluster([r"\boxed{\dfrac{1}{3}}", r"\boxed{\frac{1}{3}}", r"$\tfrac{1}{3}$"], equal=never) == [
        0,
        0,
        0,
    ]
    assert cluster(["\\boxed{025}", "25", "\\boxed{7}", "$25$"], "aime", equal=never) == [0, 0, 1, 0]
    assert (
        vote(["\\boxed{025}", "25", "\\boxed{7}"], "aime", equal=never) == "025"
    )  # as its first voter wrote it
    assert (
        vote(["B", "Answer: (C)", "The answer is C", "no letter here\n\nat all"], "gpqa", equal=never) == "C"
    )
    assert cluster(["\\boxed{5}"], equal=never) == [0]  # one cluster: nothing to compare


def test_equivalent_clusters_merge_and_the_largest_wins():
    outs = [r"\boxed{3}", r"\boxed{\frac{1}{2}}", r"\boxed{0.5}", "Answer: 1/2", r"\boxed{3}"]
    assert cluster(outs, equal=in_process) == [0, 1, 1, 1, 0]
    assert vote(outs, equal=in_process) == r"\frac{1}{2}"  # 3 votes for one half, 2 for 3
    asked = []
    cluster(outs, equal=lambda pairs, kind: asked.extend(pairs) or in_process(pairs, kind))
    assert ("0.5", "3") not in asked  # two different numbers are different answers: never checked
    assert ("0.5", r"\frac{1}{2}") in asked  # (later answer, earlier one in the place of the gold)


def test_ties_go_to_the_cluster_whose_first_voter_comes_first():
    assert vote([r"\boxed{4}", r"\boxed{9}", r"\boxed{9}", r"\boxed{4}"], equal=never) == "4"
    assert vote([r"\boxed{9}", r"\boxed{4}", r"\boxed{4}", r"\boxed{9}"], equal=never) == "9"
    assert tally([1, 0, 0, 1]) == [1, 0]  # both tied, in order of first appearance
    assert vote(["no answer\n\nhere", None], equal=never) is None and tally([None]) == []


def test_weighted_vote_sums_cluster_weights():
    outs = [r"\boxed{1}", r"\boxed{2}", r"\boxed{2.0}"]
    assert vote(outs, weights=[0.9, 0.3, 0.3], equal=never) == "1"
    assert vote(outs, weights=[0.5, 0.3, 0.3], equal=never) == "2"
    with pytest.raises(s1kit.S1kitError, match="one weight per answer"):
        vote(outs, weights=[1.0])


def test_checks_are_batched_across_problems():
    calls = []

    def counting(pairs, kind):
        calls.append(len(pairs))
        return in_process(pairs, kind)

    labels = cluster_many([[r"\frac{1}{2}", "0.5"], ["x+1", "1+x", "2"]], equal=counting)
    assert labels == [[0, 0], [0, 0, 1]]
    # round 1: both problems' second answers in one batch; round 2: "2" against the first answer of the
    # one cluster so far ("x+1"), not against every earlier answer
    assert calls == [2, 1]


SCRIPT = r"""
import sys, time
import s1kit
t0 = time.monotonic()
won = s1kit.vote([r"\boxed{\frac{1}{2}}", "Answer: 0.5", r"\boxed{9^{9^{9^{9^{9^{9}}}}}}"], timeout=2.0)
print(repr(won), round(time.monotonic() - t0, 1), "math_verify" in sys.modules)
"""


def test_vote_in_the_grading_workers_with_a_hostile_answer(tmp_path):
    # A plain script without a __main__ guard: the default comparer is the grading workers, never the
    # caller's process (math-verify is not even imported there); a pair that overruns its timeout is
    # "not equal" and the vote still returns: one half (two votes) wins over the tower of powers.
    script = tmp_path / "vote_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    won, seconds, imported = out.stdout.split()
    assert won == repr(r"\frac{1}{2}") and imported == "False"
    assert float(seconds) < 60
