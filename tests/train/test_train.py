"""End to end on CPU: a tiny random Llama trains through ``s1kit train``, its loss falls, and the saved
folder is a normal transformers model that the Generator loads and budget-forces."""

from __future__ import annotations

import json

import pytest
import yaml

from s1kit.cli import main
from s1kit.forcing.budget import Budget

STEPS = 48


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir, sums_jsonl):
    out = tmp_path_factory.mktemp("run") / "out"
    argv = [
        "train", "--data", str(sums_jsonl), "--model", str(tiny_model_dir), "--output", str(out),
        "--block-size", "128", "--epochs", "100", "--max-steps", str(STEPS), "--global-batch-size", "1",
        "--learning-rate", "1e-2", "--lr-scheduler", "constant", "--warmup-ratio", "0",
        "--no-gradient-checkpointing", "--save-steps", str(STEPS // 2),
    ]  # fmt: skip
    return out, argv


@pytest.fixture(scope="module")
def result(trained):
    import contextlib
    import io

    out, argv = trained
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv) == 0
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def test_loss_falls(result, trained):
    out, _ = trained
    assert result["steps"] == STEPS and result["world_size"] == 1
    losses = [
        json.loads(line)["loss"]
        for line in (out / "log_history.jsonl").read_text().splitlines()
        if '"loss"' in line
    ]
    assert len(losses) == STEPS
    assert sum(losses[-5:]) / 5 < 0.25 * sum(losses[:5]) / 5
    assert result["final_loss"] == pytest.approx(losses[-1]) and result["tokens_per_s"] > 0


def test_output_is_a_model_folder_with_config_curve_and_checkpoints(result, trained):
    out, _ = trained
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
        "generation_config.json",
    ):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resolved = yaml.safe_load((out / "s1kit_train.yaml").read_text())
    assert resolved["config"]["learning_rate"] == 1e-2 and resolved["config"]["adam_beta2"] == 0.95
    assert resolved["gradient_accumulation"] == 1 and resolved["rows_kept"] == 4
    ckpts = sorted(p.name for p in out.glob("checkpoint-*"))
    assert ckpts == [f"checkpoint-{STEPS // 2}", f"checkpoint-{STEPS}"]
    assert all((out / c / "s1kit_train.yaml").is_file() for c in ckpts)
    assert "quantization_config" not in json.loads((out / "config.json").read_text())


def test_rerun_without_resume_refuses_to_overwrite(result, trained, capsys):
    _, argv = trained
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "already holds checkpoints" in err and "\n" not in err


def test_trained_model_stops_thinking_on_its_own_and_obeys_budget_forcing(result, trained):
    from s1kit.generation.generator import Generator

    out, _ = trained
    gen = Generator.load(str(out), backend="hf")
    assert gen.format.name == "s1"
    free = gen.generate("What is 3+4?", Budget(max_answer_tokens=8))
    # It learned to emit the end-of-thinking delimiter itself: nothing was forced.
    assert not free.forced_end and free.thinking_tokens < 40
    assert not [e for e in free.events if e.kind in ("forced_end", "ignore")]
    assert "sum" in free.thinking and free.answer.strip()
    capped = gen.generate("What is 3+4?", Budget(max_thinking_tokens=4, max_answer_tokens=8))
    assert capped.forced_end and capped.thinking_tokens == 4
    assert [e.kind for e in capped.events][0] == "forced_end"
    longer = gen.generate(
        "What is 3+4?",
        Budget(
            min_thinking_tokens=free.thinking_tokens + 10,
            num_ignore=2,
            max_thinking_tokens=80,
            max_answer_tokens=8,
        ),
    )
    kinds = [e.kind for e in longer.events]
    assert kinds.count("ignore") >= 1 and longer.thinking_tokens > free.thinking_tokens
    assert "Wait" in longer.thinking


def test_s1kit_generate_loads_the_output_folder(result, trained, capsys):
    out, _ = trained
    rc = main(
        [
            "generate",
            "--model",
            str(out),
            "--backend",
            "hf",
            "--max-thinking-tokens",
            "6",
            "--json",
            "What is 1+2?",
        ]
    )
    assert rc == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["thinking_tokens"] <= 6


def test_resume_continues_from_the_newest_checkpoint(result, trained, capsys):
    out, argv = trained
    i = argv.index("--max-steps")
    argv = [*argv[: i + 1], str(STEPS + 2), *argv[i + 2 :], "--resume"]
    assert main(argv) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["steps"] == STEPS + 2
    logged = [json.loads(line) for line in (out / "log_history.jsonl").read_text().splitlines()]
    assert max(h["step"] for h in logged if "loss" in h) == STEPS + 2


def test_lora_run_saves_a_merged_model_and_the_adapter(tmp_path, tiny_model_dir, sums_jsonl):
    import torch
    from transformers import AutoModelForCausalLM

    out = tmp_path / "lora"
    argv = [
        "train", "--data", str(sums_jsonl), "--model", str(tiny_model_dir), "--output", str(out),
        "--block-size", "128", "--max-steps", "3", "--global-batch-size", "2", "--learning-rate", "5e-2",
        "--lora", "--lora-r", "4", "--no-gradient-checkpointing",
    ]  # fmt: skip
    assert main(argv) == 0
    assert (out / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not any(n.startswith("base_model") or "lora" in n for n in merged.state_dict())
    q_merged = merged.model.layers[0].self_attn.q_proj.weight
    q_base = base.model.layers[0].self_attn.q_proj.weight
    assert not torch.equal(q_merged, q_base)  # the adapter was merged in
    assert torch.equal(merged.model.embed_tokens.weight, base.model.embed_tokens.weight)  # frozen


@pytest.mark.slow
def test_embedded_model_trains_with_the_cpu_recipe(tmp_path, sums_jsonl):
    out = tmp_path / "smol"
    assert (
        main(
            [
                "train",
                "--recipe",
                "cpu-tiny",
                "--model",
                "default",
                "--data",
                str(sums_jsonl),
                "--output",
                str(out),
                "--max-steps",
                "2",
                "--block-size",
                "256",
            ]
        )
        == 0
    )
    from s1kit.generation.generator import Generator

    gen = Generator.load(str(out), backend="hf", format="s1")
    c = gen.generate("What is 3+4?", Budget(max_thinking_tokens=16, max_answer_tokens=8))
    assert c.thinking_tokens <= 16
