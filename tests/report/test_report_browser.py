"""The HTML report end to end in headless Chromium (Playwright): a real run plus a hand-made one."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from report_helpers import ARTIFACTS, HOSTILE, open_report, synthetic_records, write_run

from s1kit.evaluation.runner import read_records
from s1kit.report.html import build_data, write_html


@pytest.fixture(scope="module")
def report(tiny_run, synth_run, tmp_path_factory):
    path = write_html([tiny_run, synth_run], tmp_path_factory.mktemp("html") / "report.html")
    records = [("tiny-run", r) for r in read_records(tiny_run / "records.jsonl")]
    records += [("synth-run", r) for r in read_records(synth_run / "records.jsonl")]
    return path, records, build_data([tiny_run, synth_run])


@pytest.fixture
def page(browser, report):
    page = open_report(browser, report[0])
    yield page
    assert page.errors == []
    page.close()


def _count(page) -> int:
    return page.evaluate("window.s1kitReport.filtered().length")


def test_plot_renders_hover_and_click_filters(page, report):
    _, records, data = report
    settings = {(run, r["setting"]["id"]) for run, r in records}
    points = page.locator("#plot .pt")
    assert points.count() == len(settings) == len(data["settings"])
    assert page.locator("#plot polyline").count() == len(data["series"]) == 3
    assert _count(page) == len(records)
    for i in (0, len(settings) - 1):
        row = data["settings"][i]
        run = data["runs"][row["run"]]["name"]
        expected = [r for name, r in records if name == run and r["setting"]["id"] == row["id"]]
        points.nth(i).hover()
        tip = page.locator("#tip")
        assert tip.is_visible()
        assert f"setting: {row['label']}" in tip.inner_text() and "Control:" in tip.inner_text()
        points.nth(i).click()
        assert _count(page) == len(expected)
        assert page.locator("#count").inner_text().startswith(f"{len(expected)} of {len(records)}")
        shown = page.evaluate("window.s1kitReport.filtered().map(i => window.s1kitReport.sample(i).setting)")
        assert set(shown) == {i}
        assert page.locator("#plot .pt.sel").get_attribute("data-setting") == str(i)
    page.click("#f-clear")
    assert _count(page) == len(records)


def test_filters(page, report):
    _, records, _ = report
    verdicts = defaultdict(set)
    for run, r in records:
        verdicts[run, r["problem_id"]].add(r["correct"])
    page.select_option("#f-verdict", "ok")
    assert _count(page) == sum(r["correct"] for _, r in records) > 0
    page.select_option("#f-verdict", "bad")
    assert _count(page) == sum(not r["correct"] for _, r in records) > 0
    page.select_option("#f-verdict", "")
    page.check("#f-flip")
    flips = sum(len(verdicts[run, r["problem_id"]]) == 2 for run, r in records)
    assert _count(page) == flips == 2  # p0 of the hand-made run, at both of its caps
    page.uncheck("#f-flip")
    has = lambda r, kind: any(e["kind"] == kind for e in r["events"])  # noqa: E731
    page.select_option("#f-forced", "wait")
    assert _count(page) == sum(has(r, "ignore") for _, r in records) > 0
    page.select_option("#f-forced", "end")
    assert _count(page) == sum(has(r, "forced_end") for _, r in records) > 0
    page.select_option("#f-forced", "none")
    assert _count(page) == sum(not (has(r, "ignore") or has(r, "forced_end")) for _, r in records)
    page.select_option("#f-forced", "")
    page.select_option("#f-run", "0")
    assert _count(page) == sum(run == "tiny-run" for run, _ in records)
    page.select_option("#f-run", "")
    page.select_option("#f-task", "custom")
    assert _count(page) == len(records)
    page.fill("#f-pid", "p2")
    assert _count(page) == sum(r["problem_id"] == "p2" for _, r in records) == 2
    assert page.locator(".row").count() == 2


def _index(data, run: str, r: dict) -> int:
    """The page's index of a record's sample (the page holds ``build_data``'s samples)."""
    for i, s in enumerate(data["samples"]):
        setting = data["settings"][s["setting"]]
        if (data["runs"][s["run"]]["name"], s["pid"], setting["id"], s["k"]) == (
            run,
            r["problem_id"],
            r["setting"]["id"],
            r["sample"],
        ):
            return i
    raise AssertionError(f"record {r['key']} of {run} is not in the report")


def test_forced_events_are_marked_inline(page, report):
    _, records, data = report
    tiny = [r for run, r in records if run == "tiny-run"]
    waits = [r for r in tiny if any(e["kind"] == "ignore" for e in r["events"])]
    assert waits, "the tiny model never tried to stop"
    assert any(r["forced_end"] for r in tiny)
    for r in tiny:
        i = _index(data, "tiny-run", r)
        page.evaluate(f"window.s1kitReport.show({i})")
        card = page.locator("#detail .card")
        ignores = [e for e in r["events"] if e["kind"] == "ignore"]
        marks = card.locator("mark.ev-ignore")
        assert marks.count() == len(ignores)
        assert [marks.nth(k).inner_text() for k in range(marks.count())] == [e["text"] for e in ignores]
        ends = [e for e in r["events"] if e["kind"] == "forced_end"]
        assert card.locator(".ev-end").count() == len(ends)
        if ends:
            assert card.locator("mark.ev-primer").inner_text() == ends[0]["text"]
        assert card.locator(".ev-cut").count() == sum(e["kind"] == "answer_limit" for e in r["events"])
        # the marks only wrap text: the trace reads exactly as recorded
        thinking = card.locator(".thinking").evaluate(
            "b => Array.from(b.childNodes).filter(n => !n.classList || !n.classList.contains('ev-end')).map(n => n.textContent).join('')"
        )
        assert thinking == r["thinking"]
        assert card.locator(".question").inner_text().startswith("What is")
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate(f"window.s1kitReport.show({_index(data, 'tiny-run', waits[0])})")
    page.locator("#plot .pt").first.hover()
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_side_by_side_and_untrusted_text(page, report):
    _, records, data = report
    p2 = next(r for run, r in records if run == "synth-run" and r["problem_id"] == "p2")
    i = _index(data, "synth-run", p2)
    page.evaluate(f"window.s1kitReport.show({i})")
    options = page.locator("#compare option")
    assert options.count() == 2  # the placeholder and p2 at the other cap
    page.select_option("#compare", index=1)
    cards = page.locator("#detail.two .card")
    assert cards.count() == 2
    caps = {cards.nth(k).locator("h3").inner_text().split(" @ ")[1].split(" ")[0] for k in range(2)}
    assert caps == {"16", "64"}
    assert "question not included" in cards.nth(0).inner_text()
    # model text is shown as text, never run as markup
    assert page.evaluate("window.pwned") is None
    assert HOSTILE in cards.nth(0).locator(".thinking").inner_text()
    assert cards.nth(0).locator(".thinking img, .thinking b").count() == 0


def test_rows_are_rendered_lazily(browser, tmp_path):
    records = synthetic_records(problems=1000)  # 2 caps x 1,000 problems = 2,000 rows
    path = write_html([write_run(tmp_path / "big-run", records)], tmp_path / "big.html")
    page = open_report(browser, path)
    assert _count(page) == len(records)
    assert 0 < page.locator(".row").count() < 60
    page.locator("#list").evaluate(
        "l => { l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll')); }"
    )
    last = page.locator(".row").last.get_attribute("data-index")
    assert int(last) == page.evaluate("window.s1kitReport.filtered().slice(-1)[0]")
    assert json.loads(page.evaluate("JSON.stringify(window.s1kitReport.sample(0).ev)"))[0]["text"] == "Wait"
    assert page.errors == []
