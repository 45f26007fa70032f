"""The HTML report's data, without a browser: event marks, verdict flips, escaping, questions, errors."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from report_helpers import HOSTILE, synthetic_records, write_run

from s1kit.errors import S1kitError
from s1kit.evaluation.metrics import accuracy, control, summarize
from s1kit.report.html import build_data, event_spans, render_html, script_json, verdict_flips, write_html


def _ignore(position: int, text: str = "Wait") -> dict:
    return {"kind": "ignore", "position": position, "text": text}


@pytest.mark.parametrize(
    ("thinking", "tokens", "events", "expected"),
    [
        # the occurrence nearest the proportional offset wins (token 9 of 10 -> near the end)
        ("Wait a. Wait b. Wait c", 10, [_ignore(9)], [[16, 20, "ignore"]]),
        ("Wait a. Wait b. Wait c", 10, [_ignore(0)], [[0, 4, "ignore"]]),
        # events are searched in order, each after the previous one
        ("xx Wait yy Wait zz", 6, [_ignore(0), _ignore(0)], [[3, 7, "ignore"], [11, 15, "ignore"]]),
        # text not in the thinking: dropped; other kinds are not thinking spans
        ("no marks here", 3, [_ignore(1, "Hmm"), {"kind": "forced_end", "position": 3, "text": "X"}], []),
        ("", 0, [_ignore(0)], []),
    ],
)
def test_event_spans(thinking, tokens, events, expected):
    spans = event_spans(thinking, tokens, events)
    assert spans == expected
    for start, end, _ in spans:
        assert thinking[start:end] in {e["text"] for e in events}


def test_verdict_flips_only_problems_right_somewhere_and_wrong_elsewhere():
    recs = [
        {"problem_id": "a", "correct": True},
        {"problem_id": "a", "correct": False},
        {"problem_id": "b", "correct": True},
        {"problem_id": "b", "correct": True},
        {"problem_id": "c", "correct": False},
    ]
    assert verdict_flips(recs) == {"a"}


def test_script_json_has_no_markup_characters_and_round_trips():
    data = {"t": HOSTILE + " & \u2028 {{script}}", "n": [1, 2.5, None]}
    text = script_json(data)
    assert not set(text) & set("<>&\u2028")
    assert json.loads(text) == data


def test_render_html_is_one_pass_and_self_contained():
    data = {
        "runs": [],
        "series": [],
        "settings": [],
        "samples": [],
        "questions": {},
        "x": "{{script}} {{data}}",
    }
    page = render_html(data, title="t<i>")
    assert page.count("<script") == 2  # the data blob and the inlined script, nothing else
    assert "{{script}} {{data}}" in page  # data text is never taken for a placeholder
    assert "t&lt;i&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from a network


def test_build_data_wires_metrics_and_samples(synth_run):
    records = synthetic_records()
    data = build_data([synth_run])
    assert [r["name"] for r in data["runs"]] == ["synth-run"]
    assert len(data["samples"]) == len(records)
    (series,) = data["series"]  # one curve: budget forcing +1 Wait
    expected = summarize(records)
    assert series["control"] == expected["control"] and series["scaling"] == expected["scaling"]
    assert series["performance"] == expected["performance"] == pytest.approx(100 * 2 / 3)
    caps = [s["cap"] for s in data["settings"]]
    assert caps == [16, 64]
    for row in data["settings"]:
        mine = [r for r in records if r["setting"]["id"] == row["id"]]
        assert row["accuracy"] == accuracy(mine)["accuracy"] and row["control"] == control(mine)
    assert {s["pid"] for s in data["samples"] if s["flip"]} == {"p0"}
    assert sum(s["ok"] for s in data["samples"]) == sum(r["correct"] for r in records)
    assert all(s["forced"] for s in data["samples"])  # every synthetic sample had a "Wait"
    assert data["questions"] == {}  # the hand-made run's task file does not exist


def test_questions_come_from_the_task_file_and_only_while_it_is_unchanged(tiny_run, tmp_path):
    data = build_data([tiny_run])
    (qs,) = data["questions"].values()
    assert sorted(qs.values()) == sorted(["What is 2 + 2?", "What is 3 times 5?", "What is 10 minus 7?"])
    assert build_data([tiny_run], questions=False)["questions"] == {}
    assert "What is 2 + 2?" not in render_html(build_data([tiny_run], questions=False))
    # the task file changes after the run: its questions may no longer match, so none are shown
    import yaml

    path = Path(yaml.safe_load((tiny_run / "config.yaml").read_text())["identity"]["task_options"]["path"])
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + json.dumps({"question": "new", "answer": "2"}) + "\n", encoding="utf-8")
        assert build_data([tiny_run])["questions"] == {}
    finally:
        path.write_text(original, encoding="utf-8")


def _digest(text: str) -> str:  # compare GPQA texts by digest so that no failure message prints one
    return hashlib.sha256(text.encode()).hexdigest()


def test_gpqa_questions_only_from_local_task_data_at_report_time(tmp_path):
    from s1kit.evaluation.runner import EvalConfig, Setting
    from s1kit.forcing.budget import Budget
    from s1kit.tasks import get_task

    task = get_task("gpqa_diamond", seed=0).limited(2)
    identity = EvalConfig(task="gpqa_diamond").identity(task)
    setting = Setting("budget_forcing", Budget(max_thinking_tokens=8)).to_dict()
    recs = []
    for p in task.problems:
        rec = synthetic_records(1, (8,))[0]
        recs.append({**rec, "key": f"{p.id}|{setting['id']}|0", "problem_id": p.id, "setting": setting})
    run = write_run(tmp_path / "gpqa-run", recs, identity)
    assert not any(p.question[:40] in (run / "records.jsonl").read_text() for p in task.problems)
    qs = build_data([run])["questions"]["0"]
    assert {k: _digest(v) for k, v in qs.items()} == {p.id: _digest(p.question) for p in task.problems}
    page = render_html(build_data([run], questions=False))
    assert all(p.question[:60] not in page for p in task.problems)


def test_write_html_errors_name_what_was_expected(tmp_path, synth_run):
    with pytest.raises(S1kitError, match="not a run folder"):
        write_html([tmp_path], tmp_path / "r.html")
    with pytest.raises(S1kitError, match="no run folders"):
        write_html([], tmp_path / "r.html")
    empty = tmp_path / "empty-run"
    empty.mkdir()
    (empty / "records.jsonl").write_text("")
    with pytest.raises(S1kitError, match="no records"):
        write_html([empty], tmp_path / "r.html")
    twin = write_run(tmp_path / "x" / "synth-run", synthetic_records())
    with pytest.raises(S1kitError, match="same name"):
        write_html([synth_run, twin], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_cli_writes_the_html(tmp_path, capsys):
    from s1kit.cli import main

    run = write_run(tmp_path / "cli-run", synthetic_records())
    target = tmp_path / "out" / "report.html"
    assert main(["report", str(run), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "cli-run" in page
    assert f"wrote {target}" in capsys.readouterr().out
