"""The HTML report at scale: 10,000 synthetic samples against a 100-sample baseline, in headless Chromium.

For each size it writes a run folder of synthetic records (4 thinking caps, thinking text about four
characters per token with "Wait"s and forced ends, as budget forcing leaves them), then measures:

* ``build_s``: ``write_html`` (metrics included) and ``size_bytes``: the file written;
* ``open_s``: ``page.goto`` of the file until the page is interactive (plot, tables, first rows drawn),
  the median of ``--repeats`` fresh pages;
* ``filter_ms``: one filter change (verdict = correct, then one setting) until the next frame is
  painted, median over the repeats; ``filter_js_ms``: the same without waiting for the paint;
* ``rows``: the sample rows in the DOM after opening (lazy rendering keeps this constant).

Prints one JSON line with both sizes and the ratios large / baseline.

    PYTHONPATH=src .venv/bin/python benchmarks/report_html.py [--samples 10000] [--baseline 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from s1kit.evaluation.runner import Setting
from s1kit.forcing.budget import Budget
from s1kit.report.html import write_html

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
CAPS = (256, 512, 1024, 2048)
WORDS = [
    "so",
    "the",
    "sum",
    "is",
    "then",
    "we",
    "get",
    "check",
    "x",
    "equals",
    "two",
    "three",
    "five",
    "seven",
    "because",
    "hence",
]

FILTER_JS = """async ([id, value]) => {
  const t0 = performance.now();
  const s = document.getElementById(id); s.value = value; s.dispatchEvent(new Event('change'));
  const js = performance.now() - t0;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [js, performance.now() - t0];
}"""


def synthetic_run(folder: Path, n: int, seed: int = 0) -> Path:
    """A run folder of ``n`` records: n/4 problems at each of 4 caps, one sample each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    with (folder / "records.jsonl").open("w", encoding="utf-8") as f:
        for cap in CAPS:
            setting = Setting("budget_forcing", Budget(max_thinking_tokens=cap, num_ignore=1)).to_dict()
            for p in range(n // len(CAPS)):
                tokens = rng.randint(cap // 4, cap)
                forced = tokens == cap or rng.random() < 0.5
                wait_at = rng.randint(1, tokens - 1)
                before = " ".join(rng.choices(WORDS, k=wait_at * 3 // 4))
                after = " ".join(rng.choices(WORDS, k=(tokens - wait_at) * 3 // 4))
                events = [{"kind": "ignore", "position": wait_at, "text": "Wait", "token_ids": [14]}]
                if forced:
                    events.append(
                        {"kind": "forced_end", "position": tokens, "text": "Final Answer:", "token_ids": []}
                    )
                correct = rng.random() < 0.3 + 0.1 * CAPS.index(cap)
                rec = {
                    "key": f"q{p}|{setting['id']}|0", "problem_id": f"q{p}", "setting": setting,
                    "method": "budget_forcing", "sample": 0, "gold": "42", "extracted": "42" if correct else "41",
                    "correct": correct, "grade_source": "answer", "grade_timed_out": False,
                    "thinking": f"{before}Wait, {after}", "answer": ("Final Answer: " if forced else "") + "42",
                    "thinking_tokens": tokens, "answer_tokens": 4, "prompt_tokens": 60, "forced_end": forced,
                    "ignored_stops": 1, "finish_reason": "stop", "events": events,
                    "timings": {"prefill_s": 0.01, "decode_s": 1.0, "generated_tokens": tokens, "tokens_per_s": tokens},
                    "seed": 0, "meta": {},
                }  # fmt: skip
                f.write(json.dumps(rec) + "\n")
    (folder / "config.yaml").write_text(yaml.safe_dump({"identity": {"task": "synthetic", "model": "none"}}))
    return folder


def measure(browser, html: Path, repeats: int) -> dict[str, float]:
    opens, filters, filters_js, rows = [], [], [], 0
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        opens.append(time.perf_counter() - t0)
        rows = page.locator(".row").count()
        js1, paint1 = page.evaluate(FILTER_JS, ["f-verdict", "ok"])
        js2, paint2 = page.evaluate(FILTER_JS, ["f-setting", "2"])
        filters += [paint1, paint2]
        filters_js += [js1, js2]
        page.close()
    return {
        "open_s": round(statistics.median(opens), 3),
        "filter_ms": round(statistics.median(filters), 1),
        "filter_js_ms": round(statistics.median(filters_js), 2),
        "rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out: dict[str, object] = {"bench": "report_html"}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, n in (("baseline", args.baseline), ("large", args.samples)):
            run = synthetic_run(Path(tmp) / f"run-{n}", n)
            t0 = time.perf_counter()
            html = write_html([run], Path(tmp) / f"report-{n}.html")
            res = {
                "samples": n,
                "build_s": round(time.perf_counter() - t0, 3),
                "size_bytes": html.stat().st_size,
            }
            out[name] = {**res, **measure(browser, html, args.repeats)}
        browser.close()
    base, large = out["baseline"], out["large"]
    out["ratios"] = {
        k: round(large[k] / base[k], 2) if base[k] else None
        for k in ("size_bytes", "build_s", "open_s", "filter_ms", "filter_js_ms")
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
