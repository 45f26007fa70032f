"""``s1kit train`` on bad input: one line naming what was expected, exit status 2; and the sizing and
launch modes, which need no data."""

from __future__ import annotations

import json

import pytest

from s1kit.cli import main


def run(argv, capsys):
    rc = main(["train", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err.strip()


def one_line_error(rc, err, *needles):
    assert rc == 2, err
    assert err.startswith("s1kit train: error:") and "\n" not in err, err
    for n in needles:
        assert n in err, err


@pytest.fixture
def good_jsonl(tmp_path):
    p = tmp_path / "ok.jsonl"
    p.write_text(json.dumps({"question": "Q?", "thinking_trajectories": ["t"], "attempt": "a"}) + "\n")
    return p


def test_missing_fields(tmp_path, tiny_model_dir, capsys):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"question": "Q", "thinking": "t", "attempt": "a"}) + "\n")
    rc, _, err = run(
        ["--data", str(p), "--model", str(tiny_model_dir), "--output", str(tmp_path / "o")], capsys
    )
    one_line_error(rc, err, "thinking_trajectories")


def test_empty_dataset(tmp_path, tiny_model_dir, capsys):
    p = tmp_path / "d.jsonl"
    p.write_text("")
    rc, _, err = run(
        ["--data", str(p), "--model", str(tiny_model_dir), "--output", str(tmp_path / "o")], capsys
    )
    one_line_error(rc, err, "empty")


def test_folder_that_is_not_a_causal_lm(tmp_path, good_jsonl, capsys):
    from transformers import ViTConfig

    vit = tmp_path / "vit"
    ViTConfig().save_pretrained(vit)
    rc, _, err = run(
        ["--data", str(good_jsonl), "--model", str(vit), "--output", str(tmp_path / "o")], capsys
    )
    one_line_error(rc, err, "not a causal language model")
    (tmp_path / "empty").mkdir()
    rc, _, err = run(
        ["--data", str(good_jsonl), "--model", str(tmp_path / "empty"), "--output", str(tmp_path / "o")],
        capsys,
    )
    one_line_error(rc, err, "not a model folder")


def test_unknown_recipe(tmp_path, good_jsonl, capsys):
    rc, _, err = run(
        ["--recipe", "s1k-llama-9000", "--data", str(good_jsonl), "--output", str(tmp_path)], capsys
    )
    one_line_error(rc, err, "unknown recipe", "cpu-tiny")


def test_block_size_below_prompt_length(tmp_path, tiny_model_dir, good_jsonl, capsys):
    argv = [
        "--data",
        str(good_jsonl),
        "--model",
        str(tiny_model_dir),
        "--output",
        str(tmp_path / "o"),
        "--block-size",
        "8",
    ]
    rc, _, err = run(argv, capsys)
    one_line_error(rc, err, "block_size=8 is below the prompt length")


def test_invalid_flag_value_names_the_field(tmp_path, good_jsonl, capsys):
    rc, _, err = run(["--data", str(good_jsonl), "--output", str(tmp_path), "--warmup-ratio", "2"], capsys)
    one_line_error(rc, err, "warmup_ratio=2.0")


def test_training_needs_data_and_output(capsys):
    rc, _, err = run([], capsys)
    one_line_error(rc, err, "--data", "--output")


def test_estimate_prints_the_table_and_json(capsys):
    rc, out, _ = run(
        ["--recipe", "s1k-qwen2.5-32b", "--model", "Qwen/Qwen2.5-32B-Instruct", "--estimate", "--gpus", "16"],
        capsys,
    )
    assert rc == 0
    table, line = out.strip().rsplit("\n", 1)
    est = json.loads(line)
    assert est["gpus"] == 16 and est["block_size"] == 32768 and est["precision"] == "bf16"
    assert "optimizer state" in table and "longest sequence that fits" in table
    assert est["total"] == pytest.approx(
        est["weights"]
        + est["gradients"]
        + est["optimizer"]
        + est["gathered_layers"]
        + est["activations"]
        + est["logits"],
        abs=0.05,
    )


def test_launch_prints_the_accelerate_command(tmp_path, good_jsonl, capsys):
    argv = ["--recipe", "s1k-qwen2.5-32b", "--model", "Qwen/Qwen2.5-32B-Instruct", "--data", str(good_jsonl)]
    argv += ["--output", str(tmp_path / "o"), "--launch", "fsdp", "--gpus", "16", "--max-steps", "2"]
    rc, out, _ = run(argv, capsys)
    assert rc == 0
    cmd = out.strip().splitlines()[-1]
    assert cmd.startswith("accelerate launch --config_file ") and "fsdp.yaml" in cmd
    assert "--num_processes 16 --num_machines 2" in cmd
    assert "--fsdp_transformer_layer_cls_to_wrap Qwen2DecoderLayer" in cmd
    worker = cmd.split(" -m s1kit.cli train ", 1)[1]
    assert "--recipe s1k-qwen2.5-32b" in worker and "--max-steps 2" in worker
    assert "--launch" not in worker and "--gpus" not in worker
