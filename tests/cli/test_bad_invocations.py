"""Every bad invocation is one line on stderr and exit 2, decided before any model loads, leaving no file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s1kit.cli import main

# Where a refused run must not have written anything (no folder, no file, no .tmp).
NEW = "{tmp}/never"


def fixtures(tmp: Path) -> None:
    (tmp / "binary.bin").write_bytes(bytes(range(256)) * 12)
    (tmp / "fake.parquet").write_text("not parquet at all")
    (tmp / "pool.jsonl").write_text(json.dumps({"question": "What is 1+1?", "answer": "2"}) + "\n")
    (tmp / "bad.jsonl").write_text('{"prompt": "ok"}\n{not json\n')
    (tmp / "noprompt.jsonl").write_text('{"question": "hi"}\n')
    (tmp / "afile").write_text("x")
    (tmp / "emptydir").mkdir()
    for name in ("runbin", "runcfg", "runmiss", "runempty"):
        (tmp / name).mkdir()
    (tmp / "runbin" / "records.jsonl").write_bytes(b"\xff\xfe\x00\x81binary\n\x9c\x00\n")
    (tmp / "runcfg" / "config.yaml").write_text("identity: [unclosed\n  - : :\n")
    (tmp / "runcfg" / "records.jsonl").write_text(json.dumps({"key": "p|s|0"}) + "\n")
    (tmp / "runmiss" / "records.jsonl").write_text(json.dumps({"key": "p|s|0", "correct": True}) + "\n")
    (tmp / "runempty" / "records.jsonl").write_text("")


E = "eval --task math500 --limit 1 --out {tmp}/never"
CASES = [
    # generate
    "generate --input {tmp}/binary.bin",
    "generate --input {tmp}/missing.jsonl",
    "generate --input {tmp}/bad.jsonl",
    "generate --input {tmp}/noprompt.jsonl",
    "generate hi --batch-size 0",
    "generate hi --max-thinking-tokens -1",
    "generate hi --min-thinking-tokens 10 --max-thinking-tokens 5",
    "generate hi --max-answer-tokens 0",
    "generate hi --num-ignore -2",
    "generate hi --temperature -1",
    "generate hi --temperature nan",
    "generate hi --top-p 0",
    "generate hi --top-p 1.5",
    "generate hi --top-k -1",
    "generate hi --n-ctx 0",
    "generate hi --format nonsense",
    "generate hi --format custom --think-start <t>",
    "generate hi --max-thinking-tokens ten",
    # eval: the run folder
    "eval --task math500 --limit 1 --out {tmp}/afile",
    "eval --task math500 --limit 1 --out {tmp}/afile/sub",
    "eval --task math500 --limit 1 --out /proc/s1kit-never",
    # eval: numbers and lists
    E + " --threads 0",
    E + " --threads -2",
    E + " --budgets 16,,32",
    E + " --budgets 99999999999999999999",
    E + " --budgets abc",
    E + " --budgets -5",
    E + " --budgets ,",
    E + " --budgets 16,16",
    E + " --num-ignore -1",
    E + " --num-ignore x",
    E + " --samples 0",
    E + " --batch-size 0",
    E + " --grading-workers 0",
    E + " --grading-timeout 0",
    E + " --limit 0",
    E + " --temperature 5",
    E + " --min-thinking-tokens -1",
    "eval --task nonexistent --out {tmp}/never",
    "eval --task math500 --task-file {tmp}/pool.jsonl --out {tmp}/never",
    "eval --out {tmp}/never",
    # curate
    "curate --input {tmp}/pool.jsonl --out {tmp}/afile --stages ingest",
    "curate --input {tmp}/pool.jsonl --out /proc/s1kit-never --stages ingest",
    "curate --input {tmp}/fake.parquet --out {tmp}/never --stages ingest",
    "curate --input {tmp}/missing.jsonl --out {tmp}/never",
    "curate --input {tmp}/emptydir --out {tmp}/never",
    "curate --input {tmp}/pool.jsonl --out {tmp}/never --size -1",
    "curate --input {tmp}/pool.jsonl --out {tmp}/never --size 0",
    "curate --input {tmp}/pool.jsonl --out {tmp}/never --near-dup-threshold 0",
    "curate --input {tmp}/pool.jsonl --out {tmp}/never --stages bogus",
    "curate --input {tmp}/pool.jsonl --out {tmp}/never",  # difficulty needs --solvers: said plainly
    "curate --out {tmp}/never",
    # traces
    "traces --input {tmp}/pool.jsonl --teacher default --out {tmp}/emptydir",
    "traces --input {tmp}/pool.jsonl --teacher default --out /proc/s1kit-never/t.jsonl",
    "traces --input {tmp}/pool.jsonl --teacher default --out {tmp}/never.jsonl --limit 0",
    "traces --input {tmp}/pool.jsonl --teacher default --out {tmp}/never.jsonl --max-thinking-tokens -1",
    "traces --input {tmp}/pool.jsonl --teacher default --out {tmp}/never.jsonl --workers 0",
    # report
    "report {tmp}/runcfg --out {tmp}/afile",
    "report {tmp}/runcfg --out /proc/s1kit-never",
    "report {tmp}/runbin",
    "report {tmp}/runcfg",
    "report {tmp}/runmiss",
    "report {tmp}/runempty",
    "report {tmp}/missing",
    "report {tmp}/runmiss --html {tmp}/emptydir",
    "report {tmp}/runmiss --html /proc/s1kit-never/r.html",
    # train
    "train --estimate --gpu-memory -80",
    "train --estimate --gpus 0",
    # serve
    "serve --port 0",
    "serve --port 70000",
    "serve --threads 0",
    "serve --read-timeout 0",
    "serve --read-timeout nan",
    "serve --allowed-hosts ,",
    "serve --max-queue 0",
    "serve --max-body-bytes -1",
    "serve --backend openai --model http://127.0.0.1:9/v1",
    # the command line itself
    "",
    "nonsense",
    "eval --bogus-flag",
]


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's errors
        rc = int(e.code or 0)
    return rc, capsys.readouterr().err


def test_every_bad_invocation_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    slow, bad = [], []
    for case in CASES:
        argv = case.format(tmp=tmp_path).split()
        t = time.monotonic()
        rc, err = _run(argv, capsys)
        took = time.monotonic() - t
        lines = [x for x in err.splitlines() if x.strip()]
        if rc != 2 or len(lines) != 1 or "Traceback" in err or not lines[0].startswith("s1kit"):
            bad.append((case, rc, err[-300:]))
        if took > 5:
            slow.append((case, round(took, 1)))
    assert bad == []
    assert slow == []  # refused before loading a model
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before  # no output folder, file, or .tmp left by any refused run
    assert len(CASES) >= 80


def test_the_real_entry_point_exits_2_with_one_line(tmp_path):
    fixtures(tmp_path)
    for case in ("report {tmp}/runbin", "eval --task math500 --out {tmp}/o --budgets 16,,32"):
        r = subprocess.run(
            [sys.executable, "-m", "s1kit.cli", *case.format(tmp=tmp_path).split()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize(
    ("flag", "cap"), [([], 4096), (["--max-thinking-tokens", "0"], 0), (["--max-thinking-tokens", "7"], 7)]
)
def test_traces_thinking_cap_zero_means_zero(flag, cap):
    from s1kit.cli import build_parser
    from s1kit.cli.traces import thinking_cap

    args = build_parser().parse_args(["traces", "--input", "x", "--teacher", "default", "--out", "y", *flag])
    assert thinking_cap(args) == cap
