"""Helpers for the report tests: hand-made run folders and opening a report in Chromium."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

CHROMIUM = os.environ.get("S1KIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
QUESTIONS = ["What is 2 + 2?", "What is 3 times 5?", "What is 10 minus 7?"]
HOSTILE = '</script><img src=x onerror="window.pwned=1"><b>bold</b>'


def synthetic_records(problems: int = 3, caps: tuple[int, ...] = (16, 64)) -> list[dict]:
    """Records with known verdicts: problem p0 flips (right at the small cap, wrong at the large one)."""
    from s1kit.evaluation.runner import Setting
    from s1kit.forcing.budget import Budget

    out = []
    for cap in caps:
        setting = Setting("budget_forcing", Budget(max_thinking_tokens=cap, num_ignore=1)).to_dict()
        for p in range(problems):
            correct = (p == 0 and cap == caps[0]) or p == 1
            thinking = f"Let me think about p{p}. {HOSTILE if p == 2 else ''} Wait, check again."
            events = [{"kind": "ignore", "position": 7, "text": "Wait", "token_ids": [1]}]
            if cap == caps[0]:
                events.append(
                    {"kind": "forced_end", "position": cap, "text": "Final Answer:", "token_ids": []}
                )
            out.append(
                {
                    "key": f"p{p}|{setting['id']}|0",
                    "problem_id": f"p{p}",
                    "setting": setting,
                    "method": "budget_forcing",
                    "sample": 0,
                    "gold": "7",
                    "extracted": "7" if correct else (HOSTILE if p == 2 else "3"),
                    "correct": correct,
                    "grade_source": "answer",
                    "grade_timed_out": False,
                    "thinking": thinking,
                    "answer": ("Final Answer: " if cap == caps[0] else "") + ("7" if correct else "3"),
                    "thinking_tokens": 12 if cap == caps[0] else 40 + p,
                    "answer_tokens": 3,
                    "prompt_tokens": 20,
                    "forced_end": cap == caps[0],
                    "ignored_stops": 1,
                    "finish_reason": "stop",
                    "events": events,
                    "timings": {
                        "prefill_s": 0.0,
                        "decode_s": 0.1,
                        "generated_tokens": 15,
                        "tokens_per_s": 150,
                    },
                    "seed": 0,
                    "meta": {},
                }
            )
    return out


def write_run(folder: Path, records: list[dict], identity: dict | None = None) -> Path:
    """A run folder as ``s1kit eval`` lays it out (``config.yaml`` and ``records.jsonl``)."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "identity": identity
        or {"task": "custom", "model": "hand-made", "task_options": {"path": "/nonexistent"}}
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(doc))
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def open_report(browser, path: Path):
    """A page with the report loaded; page errors are collected in ``page.errors``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    return page
