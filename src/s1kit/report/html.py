"""A self-contained HTML report of evaluation runs: scaling plot, tables and every trace.

``write_html(run_dirs, path)`` reads the ``records.jsonl`` (and ``config.yaml``) of run folders
written by :mod:`s1kit.evaluation.runner` and writes ONE HTML file with its script, styles and data inlined:
it opens from disk with no network. Metrics come from :mod:`s1kit.evaluation.metrics` (one summary per run and
curve, the curves being :func:`s1kit.plots.curve_key`, the same lines as ``scaling.png``).

Sample texts go into one JSON blob; the page builds the DOM of a sample only when it is shown and
renders only the rows of the sample list that are on screen, so 10,000 samples stay fast.

Question texts are never in the records (GPQA must not be stored in plain text). The report loads
them at build time from the task data on this machine (``get_task`` with the run's task options);
a custom task whose file is gone or changed since the run (sha256) shows no question. Pass
``questions=False`` to leave every question out, e.g. for a report you will share.

Forcing events carry token positions, but records keep no token ids, so the inline marks are placed
by text: an ignore event is the occurrence of its text (e.g. "Wait") in the thinking nearest to the
character offset ``position / thinking_tokens * len(thinking)``, searching after the previous event;
a forced end is marked at the end of the thinking and its answer primer at the start of the answer.

Example:
    >>> write_html(["runs/smol-math"], "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError
from s1kit.evaluation.metrics import summarize
from s1kit.evaluation.plots import curve_key

EVENT_KINDS = (
    "ignore",
    "forced_end",
    "answer_limit",
    "early_exit",
    "budget_message",
    "inserted",
    "replaced_end",
    "stopped",
    "suppressed",
)
INLINE_KINDS = ("ignore", "budget_message", "inserted")  # forced text that appears in the thinking


def event_spans(thinking: str, thinking_tokens: int, events: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Character spans ``[start, end, kind]`` of forced text inside ``thinking`` (approximate): ignore
    strings, the budget message and a method's inserted text.

    Each event's text is searched for in ``thinking`` after the previous event; among its
    occurrences the one nearest to the proportional offset of its token position wins. Events whose
    text is not found are dropped (the list of events is still shown beside the trace).

    >>> event_spans("abc Wait def Wait", 4, [{"kind": "ignore", "position": 3, "text": "Wait"}])
    [[13, 17, 'ignore']]
    """
    spans: list[list[Any]] = []
    floor = 0
    n = len(thinking)
    for e in events:
        text = str(e.get("text") or "")
        if e.get("kind") not in INLINE_KINDS or not text:
            continue
        target = n * min(1.0, int(e.get("position") or 0) / max(1, thinking_tokens))
        best, i = -1, thinking.find(text, floor)
        while i != -1:
            if best == -1 or abs(i - target) < abs(best - target):
                best = i
            i = thinking.find(text, i + 1)
        if best >= 0:
            spans.append([best, best + len(text), e["kind"]])
            floor = best + len(text)
    return spans


def verdict_flips(records: Sequence[dict[str, Any]]) -> set[str]:
    """Problem ids answered right at one setting and wrong at another (one run's records)."""
    seen: dict[str, set[bool]] = defaultdict(set)
    for r in records:
        seen[r["problem_id"]].add(bool(r["correct"]))
    return {pid for pid, verdicts in seen.items() if len(verdicts) == 2}


def _load_run(path: Path) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    import yaml

    from s1kit.evaluation.runner import CONFIG, RECORDS, read_records

    if not (path / RECORDS).is_file():
        raise S1kitError(f"{path} is not a run folder: expected {RECORDS} written by 's1kit eval'")
    records = read_records(path / RECORDS)
    if not records:
        raise S1kitError(f"{path / RECORDS} holds no records yet")
    doc = yaml.safe_load((path / CONFIG).read_text()) if (path / CONFIG).is_file() else None
    return path.resolve().name or str(path), records, doc or {}


def load_questions(identity: dict[str, Any]) -> dict[str, str]:
    """{problem id: question} from this machine's task data, or {} when it cannot be loaded as run."""
    from s1kit.tasks import get_task

    name = identity.get("task")
    if not name:
        return {}
    try:
        task = get_task(name, **(identity.get("task_options") or {}))
    except (S1kitError, OSError, ValueError, KeyError):
        return {}
    recorded = ((identity.get("task_info") or {}).get("options") or {}).get("sha256")
    if recorded and task.options.get("sha256") != recorded:
        return {}  # the task data changed since the run: its questions may not match the records
    return {p.id: p.question for p in task.problems}


def _sample(r: dict[str, Any], run: int, series: int, setting: int, flips: set[str]) -> dict[str, Any]:
    events = [
        {"kind": e.get("kind"), "position": e.get("position"), "text": e.get("text")}
        for e in r.get("events") or []
        if e.get("kind") in EVENT_KINDS
    ]
    thinking = str(r.get("thinking") or "")
    kinds = {e["kind"] for e in events}
    return {
        "run": run,
        "series": series,
        "setting": setting,
        "pid": str(r["problem_id"]),
        "k": r.get("sample", 0),
        "ok": bool(r["correct"]),
        "gold": None if r.get("gold") is None else str(r["gold"]),
        "ext": None if r.get("extracted") is None else str(r["extracted"]),
        "src": r.get("grade_source"),
        "tt": int(r.get("thinking_tokens") or 0),
        "at": int(r.get("answer_tokens") or 0),
        "fin": r.get("finish_reason"),
        "forced": "forced_end" in kinds or "ignore" in kinds,
        "fe": bool(r.get("forced_end")),
        "ig": int(r.get("ignored_stops") or 0),
        "flip": r["problem_id"] in flips,
        "th": thinking,
        "ans": str(r.get("answer") or ""),
        "ev": events,
        "sp": event_spans(thinking, int(r.get("thinking_tokens") or 0), events),
        "mi": method_summary(r),
    }


def method_summary(r: dict[str, Any]) -> dict[str, Any] | None:
    """What a method did for one record, for the trace view: a one-line note and, for methods with
    several traces or branches, one row each (deepconf traces, tree-search candidates)."""
    info = r.get("method_info") or {}
    if not info:
        return None
    m, rows = r.get("method"), []
    if m == "deepconf":
        note = (
            f"deepconf {info.get('mode')}: {len(info.get('traces') or [])} traces, {info.get('n_stopped')} "
            f"stopped, {info.get('n_kept')} voting, voted {info.get('voted')!r}, threshold {info.get('threshold')}"
        )
        for j, t in enumerate(info.get("traces") or []):
            state = "stopped" if t.get("stopped") else ("kept" if t.get("kept") else "filtered out")
            chosen = " (this record)" if j == info.get("chosen") else ""
            rows.append(
                f"trace {j}: {t.get('thinking_tokens')} tokens, confidence {t.get('confidence')}, "
                f"answer {t.get('answer')!r}, {state}{chosen}"
            )
    elif m == "tree_search":
        note = (
            f"tree search ({info.get('scorer')}, width {info.get('beam_width')}, expansion "
            f"{info.get('expansion')}): {info.get('branches')} branches in {info.get('n_rounds')} rounds, "
            f"{info.get('pruned')} pruned"
        )
        for k, rnd in enumerate(info.get("rounds") or []):
            cells = [
                f"{x.get('score')}{'✓' if x.get('kept') else '✗'}{' done' if x.get('done') else ''}"
                for x in rnd
            ]
            rows.append(f"round {k + 1}: " + ", ".join(cells))
    elif m == "nowait":
        note = f"nowait: {info.get('suppressed')} steps wanted a masked word (mass {info.get('suppressed_mass')})"
    elif m == "alphaone":
        note = (
            f"alphaone: moment {info.get('alpha_moment')} tokens, {info.get('inserted_waits')} Waits inserted, "
            f"ended at {info.get('replaced_at')}"
        )
    elif m == "early_exit":
        note = f"early exit: {info.get('n_probes')} probes, exited {info.get('exited')}"
    else:
        note = ", ".join(f"{k}={v}" for k, v in info.items() if isinstance(v, int | float | str | bool))[:300]
    if "compute_tokens" in info:
        note += f"; compute {info['compute_tokens']} thinking tokens"
    return {"note": note, "rows": rows[:64]}


def build_data(run_dirs: Sequence[str | os.PathLike[str]], *, questions: bool = True) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the module docstring)."""
    loaded = [_load_run(Path(p)) for p in run_dirs]
    names = [name for name, _, _ in loaded]
    if len(set(names)) != len(names):
        raise S1kitError("two run folders have the same name: give folders with distinct names")
    data: dict[str, Any] = {"runs": [], "series": [], "settings": [], "samples": [], "questions": {}}
    for ri, (name, records, doc) in enumerate(loaded):
        ident = doc.get("identity") or {}
        task = ident.get("task") or "?"
        qs = load_questions(ident) if questions else {}
        data["runs"].append(
            {
                "name": name,
                "task": task,
                "model": ident.get("model"),
                "resolved": doc.get("resolved"),
                "questions": bool(qs),
            }
        )
        flips = verdict_flips(records)
        by_series: dict[str, list[dict[str, Any]]] = {}
        for r in records:
            by_series.setdefault(curve_key(r["setting"]), []).append(r)
        for key, rs in by_series.items():
            summary = summarize(rs)
            si = len(data["series"])
            data["series"].append(
                {
                    "run": ri,
                    "name": key,
                    "label": f"{name}: {key}" if len(loaded) > 1 else key,
                    "control": summary["control"],
                    "scaling": summary["scaling"],
                    "performance": summary["performance"],
                    "scaling_unit": summary["scaling_unit"],
                    "n": summary["records"],
                }
            )
            index = {}
            for s in summary["settings"]:
                index[s["id"]] = len(data["settings"])
                data["settings"].append(_setting_row(s, ri, si))
            for r in rs:
                data["samples"].append(_sample(r, ri, si, index[r["setting"]["id"]], flips))
        if qs:
            used = {str(r["problem_id"]) for r in records}
            data["questions"][str(ri)] = {pid: q for pid, q in qs.items() if pid in used}
    return data


def _setting_row(s: dict[str, Any], run: int, series: int) -> dict[str, Any]:
    budget = s["setting"].get("budget") or {}
    return {
        "run": run,
        "series": series,
        "id": s["id"],
        "label": s["setting"].get("label") or s["id"],
        "cap": budget.get("max_thinking_tokens"),
        "n": s["n"],
        "correct": s["correct"],
        "accuracy": s["accuracy"],
        "ci95": s["ci95"],
        "mean_tokens": s["mean_thinking_tokens"],
        "control": s["control"],
    }


def _asset(name: str) -> str:
    return resources.files("s1kit").joinpath("report", name).read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` characters.

    >>> script_json({"t": "</script>"})
    '{"t":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_html(data: dict[str, Any], *, title: str = "s1kit report") -> str:
    """The page: the template with the script and the data inlined."""
    script = _asset("report.js")
    if "</script" in script.lower():
        raise RuntimeError("report.js must not contain a closing script tag")
    parts = {"title": html.escape(title), "data": script_json(data), "script": script}
    # one pass, so that text inside the data can never be taken for a placeholder
    return re.sub(r"\{\{(title|data|script)\}\}", lambda m: parts[m.group(1)], _asset("template.html"))


def write_html(
    run_dirs: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str], *, questions: bool = True
) -> Path:
    """Write one self-contained HTML report of ``run_dirs`` to ``path``.

    Args:
        run_dirs: run folders written by ``s1kit eval`` (distinct folder names).
        path: the HTML file to write (its folder is created).
        questions: include question texts loaded from this machine's task data.

    Returns:
        The path written.

    Raises:
        S1kitError: a folder is not a run folder, or holds no records.
    """
    if not run_dirs:
        raise S1kitError("no run folders given: expected at least one folder written by 's1kit eval'")
    data = build_data(run_dirs, questions=questions)
    names = ", ".join(r["name"] for r in data["runs"])
    target = Path(path)
    if target.is_dir():
        raise S1kitError(f"--html {target} is a folder: expected the path of an .html file")
    page = render_html(data, title=f"s1kit report: {names}")
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)  # never leave a partial file behind
        raise S1kitError(f"cannot write {target}: {e.strerror or e}") from None
    return target
