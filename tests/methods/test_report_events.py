"""The HTML report shows what the methods after s1 did: forced text inline, other events as chips, and a
per-record method panel (deepconf traces, tree-search rounds)."""

from __future__ import annotations

from s1kit.report.html import event_spans, method_summary


def test_forced_text_of_every_kind_is_marked_inline():
    thinking = "a b c Wait d e Time is up. f"
    events = [
        {"kind": "inserted", "position": 3, "text": "Wait"},
        {"kind": "suppressed", "position": 4, "text": " Hmm"},  # not in the text: a chip, not a mark
        {"kind": "budget_message", "position": 6, "text": "Time is up."},
    ]
    assert event_spans(thinking, 8, events) == [[6, 10, "inserted"], [15, 26, "budget_message"]]


def test_method_panel_lists_traces_and_rounds():
    dc = {
        "method": "deepconf",
        "method_info": {
            "mode": "online",
            "n_stopped": 1,
            "n_kept": 1,
            "voted": "7",
            "threshold": 3.5,
            "chosen": 0,
            "compute_tokens": 50,
            "traces": [
                {"thinking_tokens": 30, "confidence": 4.0, "answer": "7", "stopped": False, "kept": True},
                {"thinking_tokens": 20, "confidence": 2.0, "answer": None, "stopped": True, "kept": False},
            ],
        },
    }
    s = method_summary(dc)
    assert "2 traces, 1 stopped" in s["note"] and "compute 50" in s["note"]
    assert s["rows"][0].endswith("kept (this record)") and s["rows"][1].endswith("stopped")
    ts = {
        "method": "tree_search",
        "method_info": {
            "scorer": "mean_logprob",
            "beam_width": 1,
            "expansion": 2,
            "branches": 2,
            "n_rounds": 1,
            "pruned": 1,
            "rounds": [[{"score": -0.1, "kept": True, "done": True}, {"score": -0.5, "kept": False}]],
        },
    }
    s = method_summary(ts)
    assert "1 pruned" in s["note"] and s["rows"] == ["round 1: -0.1✓ done, -0.5✗"]
    assert method_summary({"method": "budget_forcing"}) is None
