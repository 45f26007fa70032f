"""The comparison: lines per method, Table 3 metrics, iso-compute grid — from fixed records."""

from __future__ import annotations

import pytest

from s1kit.cli.report import format_table
from s1kit.evaluation.metrics import summarize
from s1kit.methods import compare, grid


def rec(method, cap, pid, sample, correct, think, extracted=None, params=None, **info):
    budget = {"max_thinking_tokens": cap, "min_thinking_tokens": 0} if cap is not None else None
    params = params or {}
    return {
        "key": f"{pid}|{method}{cap}{params}|{sample}",
        "problem_id": pid,
        "setting": {
            "id": f"{method}:{cap}:{params}",
            "method": method,
            "label": str(cap),
            "budget": budget,
            "params": params,
        },
        "method": method,
        "sample": sample,
        "gold": "1",
        "correct": correct,
        "extracted": extracted or ("1" if correct else f"{100 + sample}"),
        "thinking_tokens": think,
        "method_info": info,
    }


def test_sequential_lines_control_scaling_performance():
    rs = [rec("budget_forcing", 100, "a", 0, False, 100), rec("budget_forcing", 100, "b", 0, False, 100),
          rec("budget_forcing", 200, "a", 0, True, 200), rec("budget_forcing", 200, "b", 0, False, 200),
          rec("token_conditional", 100, "a", 0, True, 150, params={"forcing": False}),
          rec("token_conditional", 100, "b", 0, False, 50, params={"forcing": False})]  # fmt: skip
    lines = {ln.label: ln for ln in compare.method_lines(rs)}
    bf = lines["budget_forcing"]
    assert [(c, a) for c, a, _ in bf.points] == [(100.0, 0.0), (200.0, 50.0)] and bf.control == 1.0
    tc = lines["token_conditional"]
    assert tc.control == 0.5  # one of two stayed within 100
    table = compare.format_methods_table(list(lines.values()))
    bf_row = next(r for r in table.splitlines() if r.startswith("budget_forcing"))
    assert bf_row.split()[1:4] == ["100%", "500.0", "50.0%"]  # slope 50 points per 100 tokens


def test_rejection_control_counts_fits_and_compute_counts_every_try():
    rs = [rec("rejection_sampling", 100, "a", 0, True, 80, fitted=True, compute_tokens=300),
          rec("rejection_sampling", 100, "b", 0, False, 100, fitted=False, compute_tokens=500)]  # fmt: skip
    (line,) = compare.method_lines(rs)
    assert line.control == 0.5 and line.points[0][:2] == (400.0, 50.0)


def test_parallel_lines_and_iso_compute_grid(tmp_path):
    rs = []
    for cap, think in ((64, 60), (128, 120)):
        for pid in ("a", "b"):
            for s in range(4):
                ok = s < (2 if cap == 64 else 3) if pid == "a" else s == 0
                rs.append(rec("majority_vote", cap, pid, s, ok, think))
    lines = {ln.label: ln for ln in compare.method_lines(rs)}
    maj64 = lines["majority_vote maj @64"]
    assert [round(c) for c, _, _ in maj64.points] == [60, 120, 240]
    points = grid.grid_points(rs)
    iso = grid.iso_compute(points)
    assert list(iso) == [128, 256]  # 2x64 = 1x128 and 4x64 = 2x128
    assert [(p.k, p.budget) for p in iso[256]] == [(2, 128), (4, 64)]
    text = compare.write_comparison({"run": rs}, tmp_path)
    assert "majority_vote maj @128" in text and "iso-compute" in text
    assert {p.name for p in tmp_path.iterdir()} == {"methods.png", "methods_table.txt", "iso_compute.png"}


def test_best_of_n_lines_per_scorer():
    rs = [rec("best_of_n", 64, "a", s, s == 1, 50, scores={"mean_logprob": -s}) for s in range(2)]
    labels = {ln.label for ln in compare.method_lines(rs)}
    assert labels == {
        "best_of_n",
        "best_of_n maj @64",
        "best_of_n best-of-N mean_logprob @64",
        "best_of_n weighted vote mean_logprob @64",
    }  # fmt: skip  (the cap curve, then per k)
    best = next(ln for ln in compare.method_lines(rs) if "best-of-N" in ln.label)
    assert [a for _, a, _ in best.points] == [50.0, pytest.approx(0.0)]  # picks sample 0 (score 0): wrong


def test_one_scaling_per_curve_everywhere():
    """Issue 11 item 5: ``s1kit eval`` (summary.json, format_table) and ``s1kit report`` (the methods table)
    print the same per-curve Control / Scaling / Performance, each labelled with its curve."""
    rs = []
    for n_ignore, accs in ((0, (0, 1, 1)), (1, (1, 1, 0))):  # two curves of a budget-forcing sweep
        for cap, correct in zip((100, 200, 400), accs, strict=True):
            budget = {"num_ignore": n_ignore, "ignore_strings": ["Wait"]}
            r = rec("budget_forcing", cap, "a", 0, bool(correct), cap // 2)
            r["setting"]["budget"].update(budget)
            r["setting"]["id"] += f":{n_ignore}"
            rs.append(r)
    summary = summarize(rs)
    figures = summary["curves"]["budget_forcing"]
    assert list(figures) == ["budget_forcing", "budget_forcing +1 Wait"]
    # slopes per 1,000 tokens over (50, 100, 200) tokens: 0 -> 100 -> 100 and 100 -> 100 -> 0
    assert figures["budget_forcing"]["scaling"] == pytest.approx((2000 + 2000 / 3 + 0) / 3)
    assert figures["budget_forcing +1 Wait"]["scaling"] == pytest.approx((0 - 2000 / 3 - 1000) / 3)
    assert summary["scaling"] is None  # no single slope across two curves
    lines = {ln.label: ln for ln in compare.method_lines(rs)}
    table, printed = compare.format_methods_table(list(lines.values())), format_table(summary)
    for label, fig in figures.items():
        assert lines[label].scaling == fig["scaling"] and lines[label].control == fig["control"] == 1.0
        row = next(r for r in table.splitlines() if r[:52].rstrip() == label)
        assert f"{fig['scaling']:.1f}" in row
        assert f"curve {label}: Control 100%  Scaling {fig['scaling']:.1f}" in printed
