"""The comparison: lines per method, Table 3 metrics, iso-compute grid — from fixed records."""

from __future__ import annotations

import pytest

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
        "correct": correct,
        "extracted": extracted or ("ok" if correct else f"bad{sample}"),
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
    assert labels == {"best_of_n maj @64", "best_of_n best-of-N mean_logprob @64",
                      "best_of_n weighted vote mean_logprob @64"}  # fmt: skip
    best = next(ln for ln in compare.method_lines(rs) if "best-of-N" in ln.label)
    assert [a for _, a, _ in best.points] == [50.0, pytest.approx(0.0)]  # picks sample 0 (score 0): wrong
