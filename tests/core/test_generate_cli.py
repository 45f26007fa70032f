"""The CLI as users run it: a real subprocess on the embedded model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("llama_cpp")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(["src", os.environ.get("PYTHONPATH", "")])}


def s1kit(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s1kit.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def test_generate_json_has_the_documented_keys():
    r = s1kit(
        "generate",
        "What is 2+2?",
        "Why is the sky blue?",
        "--max-thinking-tokens",
        "16",
        "--num-ignore",
        "1",
        "--max-answer-tokens",
        "8",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:
        for key in (
            "thinking",
            "answer",
            "thinking_tokens",
            "answer_tokens",
            "forced_end",
            "ignored_stops",
            "finish_reason",
        ):
            assert key in row
        assert isinstance(row["forced_end"], bool) and isinstance(row["ignored_stops"], int)
        assert row["thinking_tokens"] <= 16


def test_generate_reads_jsonl_from_stdin_and_file(tmp_path):
    lines = '{"prompt": "What is 3+4?"}\n\n{"prompt": "Name a colour."}\n'
    r = s1kit(
        "generate",
        "--input",
        "-",
        "--json",
        "--max-thinking-tokens",
        "8",
        "--max-answer-tokens",
        "4",
        stdin=lines,
    )
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["prompt"] for x in r.stdout.splitlines()] == ["What is 3+4?", "Name a colour."]
    f = tmp_path / "p.jsonl"
    f.write_text(lines)
    r2 = s1kit(
        "generate", "--input", str(f), "--json", "--max-thinking-tokens", "8", "--max-answer-tokens", "4"
    )

    def strip_timings(out: str) -> list[dict]:
        return [{k: v for k, v in json.loads(x).items() if k != "timings"} for x in out.splitlines()]

    assert strip_timings(r2.stdout) == strip_timings(r.stdout)


def test_generate_streams_sections_and_figures():
    r = s1kit(
        "generate",
        "How many positive divisors does 360 have?",
        "--max-thinking-tokens",
        "24",
        "--min-thinking-tokens",
        "24",
        "--max-answer-tokens",
        "8",
        "--format",
        "s1",
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.index("[thinking]") < out.index("[answer]")
    assert "«forced end of thinking»" in out and "Final Answer:" in out
    assert "«ignored stop → appended» Wait" in out
    last = out.strip().splitlines()[-1]
    assert "thinking tokens 24" in last and "end of thinking: forced" in last and "ignored stops" in last
    assert "tok/s" in last


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--model", "/no/such/model"], "not found"),
        (["x", "--format", "nope"], "unknown reasoning format"),
        (["x", "--backend", "nope"], "unknown backend"),
        (["x", "--min-thinking-tokens", "9", "--max-thinking-tokens", "3"], "min-thinking-tokens=9"),
        (["x", "--max-thinking-tokens", "-1"], "max-thinking-tokens=-1"),
        (["x", "--ignore-strings", ","], "ignore_strings"),
        (["x", "--format", "custom", "--think-start", "A"], "needs both"),
        (["x", "--temperature", "-1"], "temperature"),
        (["word " * 2000, "--n-ctx", "256"], "more than the model's context"),
        (["--input", "/no/such.jsonl"], "cannot read"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    r = s1kit("generate", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_model_files(tmp_path):
    notgguf = tmp_path / "model.gguf"
    notgguf.write_bytes(b"not a model")
    r = s1kit("generate", "x", "--model", str(notgguf))
    assert r.returncode == 2 and "not a GGUF file" in r.stderr and "Traceback" not in r.stderr
    folder = tmp_path / "empty"
    folder.mkdir()
    r = s1kit("generate", "x", "--model", str(folder))
    assert r.returncode == 2 and "not a model folder" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"question": "no"}\n')
    r = s1kit("generate", "--input", str(bad))
    assert r.returncode == 2 and "bad.jsonl:2" in r.stderr and "'prompt'" in r.stderr


def test_ctrl_c_while_streaming_exits_cleanly():
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s1kit.cli",
            "generate",
            "Write a long story.",
            "--max-thinking-tokens",
            "4000",
            "--min-thinking-tokens",
            "4000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert p.stdout is not None
    assert "[thinking]" in p.stdout.readline()  # streaming has started
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130
    assert "Traceback" not in err and "interrupted" in err
