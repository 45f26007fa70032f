from __future__ import annotations

import pytest
from curation_paths import POOL

from s1kit.curation.decontam import DecontamConfig, decontaminate, ngrams, shipped_tasks
from s1kit.curation.dedup import DedupConfig, dedup, normalise
from s1kit.curation.ingest import ingest
from s1kit.curation.quality import RULES, QualityConfig, check, quality
from s1kit.curation.records import Row
from s1kit.errors import ConfigError, S1kitError

LONG_Q = (
    "A bag holds seven red marbles, five blue marbles and three green marbles. Two marbles are drawn "
    "at random without replacement. What is the probability that both marbles have the same colour? "
    "Give the answer as a common fraction in lowest terms."
)


def ids(rows):
    return [r.id for r in rows]


# ------------------------------------------------------------------------------------------ dedup


def test_dedup_finds_the_fixture_duplicates(traces_rows):
    kept, dropped = dedup(traces_rows)
    found = {d.id: (d.reason, d.detail) for d in dropped}
    assert set(found) == {"dup-exact", "dup-near"}
    assert found["dup-exact"] == ("exact_duplicate", "same normalised question as base-0")
    assert found["dup-near"][0] == "near_duplicate" and found["dup-near"][1].endswith("with base-7")
    assert len(kept) == len(traces_rows) - 2


def test_exact_duplicates_after_normalisation_keep_the_first():
    rows = [
        Row("a", LONG_Q),
        Row("b", "  " + LONG_Q.upper().replace(" ", "\n ")),
        Row("c", LONG_Q.replace("probability", "$probability$")),
    ]
    kept, dropped = dedup(rows, DedupConfig(near=False))
    assert ids(kept) == ["a"] and [d.reason for d in dropped] == ["exact_duplicate", "exact_duplicate"]


def test_near_duplicates_depend_on_the_threshold():
    near = LONG_Q + " Show all of your work here."  # true Jaccard of word 3-grams: 40/46 = 0.87
    other = "Find every real x with x^2 - 5x + 6 = 0 and report their sum, then their product, then both."
    rows = [Row("a", LONG_Q), Row("b", near), Row("c", other)]
    kept, dropped = dedup(rows)
    assert ids(kept) == ["a", "c"] and dropped[0].id == "b" and "with a" in dropped[0].detail
    kept, _ = dedup(rows, DedupConfig(threshold=0.95))
    assert ids(kept) == ["a", "b", "c"]


def test_dedup_config_is_validated():
    with pytest.raises(ConfigError, match="threshold"):
        DedupConfig(threshold=0.99)  # MinHashLSH cannot band that
    assert normalise("  A\\,B  $x$ ") == "a b x"


# --------------------------------------------------------------------------------------- decontam


def test_decontam_catches_the_fixture_rows(traces_rows):
    kept, dropped, report = decontaminate(traces_rows)
    assert {d.id: d.reason for d in dropped} == {
        "contam-aime24": "contaminated:aime24",
        "contam-math500": "contaminated:math500",
    }
    assert report.hits == {"aime24": 1, "math500": 1}
    assert set(report.eval_sizes) == {"aime24", "aime25", "gpqa_diamond", "gsm8k", "math500", "toy"}
    assert report.eval_sizes["math500"] == 500 and report.eval_sizes["gpqa_diamond"] == 198


def test_decontam_covers_every_shipped_task_including_gpqa_in_memory():
    sets = shipped_tasks()
    # one question of each set, embedded in a longer pool row; GPQA text stays in memory only
    rows = [Row(f"{task}-copy", "Consider this. " + qs[3] + " Explain.") for task, qs in sorted(sets.items())]
    rows.append(Row("clean", LONG_Q))
    kept, dropped, report = decontaminate(rows, sets=sets)
    assert ids(kept) == ["clean"]
    assert sorted(d.reason for d in dropped) == sorted(f"contaminated:{t}" for t in sets)
    assert all(d.detail.count("[") == 1 for d in dropped)  # task[index], never the evaluation text


def test_decontam_extra_file_and_min_hits(tmp_path):
    extra = tmp_path / "private_eval.jsonl"
    extra.write_text('{"question": "' + LONG_Q + '"}\n')
    rows = [Row("a", LONG_Q)]
    kept, dropped, report = decontaminate(rows, DecontamConfig(extra=(str(extra),), tasks=()))
    assert (
        dropped[0].reason == "contaminated:extra:private_eval.jsonl"
        and report.hits["extra:private_eval.jsonl"] == 1
    )
    # a single shared 8-gram passes when two are required
    one = "zebra " + " ".join(LONG_Q.split()[:8]) + " quokka"
    assert len(ngrams(one, 8) & ngrams(LONG_Q, 8)) == 1
    sets = {"t": [LONG_Q]}
    assert len(decontaminate([Row("b", one)], sets=sets)[1]) == 1
    assert len(decontaminate([Row("b", one)], DecontamConfig(min_hits=2), sets=sets)[1]) == 0
    with pytest.raises(S1kitError, match="not found"):
        decontaminate(rows, DecontamConfig(extra=(str(tmp_path / "nope.jsonl"),)))


# ---------------------------------------------------------------------------------------- quality


def test_quality_rules_fire_on_the_fixture_rows(traces_rows):
    kept, dropped = quality(traces_rows)
    assert {d.id: d.reason for d in dropped} == {
        "rule-api": "api_error",
        "rule-empty": "empty_trace",
        "rule-truncated": "truncated_trace",
        "rule-noanswer": "missing_answer",
        "rule-figure": "missing_figure",
        "rule-ascii": "broken_formatting",
        "rule-short": "extreme_length",
        "rule-loop": "broken_formatting",
    }
    assert all(r.id.startswith(("base-", "dup-", "contam-")) for r in kept)


GOOD_TRACE = "Expand and simplify. So the answer is 3."


@pytest.mark.parametrize(
    "row, rule",
    [
        (Row("x", LONG_Q, "1", thinking=GOOD_TRACE, attempt="\\boxed{1}"), None),
        (Row("x", LONG_Q, "1"), None),  # a bare question: trace rules do not apply
        (Row("x", LONG_Q, "1", thinking="Internal Server Error", attempt="\\boxed{1}"), "api_error"),
        (Row("x", LONG_Q, "1", thinking="   ", attempt="x"), "empty_trace"),
        (
            Row("x", LONG_Q, "1", thinking=GOOD_TRACE, attempt="ok", metadata={"finish_reason": "length"}),
            "truncated_trace",
        ),
        (Row("x", LONG_Q, "", solution="no box here"), "missing_answer"),
        (Row("x", LONG_Q + " See the figure below.", "1"), "missing_figure"),
        (Row("x", LONG_Q + " [asy]draw((0,0)--(1,1));[/asy] The figure below shows it.", "1"), None),
        (Row("x", LONG_Q, "1", metadata={"picture": "fig1.png"}), "missing_figure"),
        (Row("x", LONG_Q + "\ufffd", "1"), "broken_formatting"),
        (Row("x", LONG_Q + " " + "=" * 100, "1"), "broken_formatting"),
        (Row("x", "x" * 9_000, "1"), "extreme_length"),
        (Row("x", LONG_Q, "1", thinking="ok", attempt="\\boxed{1}"), "extreme_length"),
    ],
)
def test_quality_rule_table(row, rule):
    hit = check(row, QualityConfig())
    assert (hit[0] if hit else None) == rule


def test_disabled_rules_and_config_validation():
    row = Row("x", LONG_Q, "")
    assert check(row, QualityConfig(disabled=("missing_answer",))) is None
    with pytest.raises(ConfigError, match="disabled"):
        QualityConfig(disabled=("no_such_rule",))
    with pytest.raises(ConfigError):
        QualityConfig(min_question_chars=50, max_question_chars=10)
    assert set(RULES) >= {"api_error", "empty_trace", "truncated_trace", "missing_answer", "missing_figure"}


def test_pool_slice_rules():
    kept, dropped = quality(ingest([POOL]).rows)
    assert {d.id: d.reason for d in dropped} == {
        "aime/AIME_Dataset_1983_2024:2": "missing_figure",  # "AIME 1985 Problem 4.png" stands for the figure
        "math/math_train:6": "missing_answer",
        "theoremqa/theoremqa_test:2": "missing_figure",  # Picture field set
        "traces_skythought/sky_t1_math_correct_5k_14b__amc23:2": "truncated_trace",
    }
