"""The memory estimate's arithmetic and the accelerate launch command."""

from __future__ import annotations

import pytest

from s1kit.errors import ConfigError, S1kitError
from s1kit.training.config import TrainConfig
from s1kit.training.estimate import GiB, architecture, estimate
from s1kit.training.launch import accelerate_config, launch_plan, run_plan


@pytest.fixture(scope="module")
def qwen32b():
    return architecture("Qwen/Qwen2.5-32B-Instruct")


def test_qwen32b_parameter_count_is_exact(qwen32b):
    h, inter, layers, vocab, kv = 5120, 27648, 64, 152064, 1024
    attn = h * h + h + 2 * (h * kv + kv) + h * h  # q (bias), k and v (bias), o
    layer = attn + 3 * h * inter + 2 * h  # SwiGLU MLP, two RMSNorms
    assert qwen32b.layer_params == layer
    assert qwen32b.params == layers * layer + 2 * vocab * h + h  # untied embeddings and head, final norm
    assert round(qwen32b.params / 1e9, 2) == 32.76


def test_sharded_state_is_eight_bytes_per_param_in_bf16(qwen32b):
    cfg = TrainConfig()
    e8, e16 = (estimate(qwen32b, cfg, gpus=n) for n in (8, 16))
    p = qwen32b.params
    assert e8.weights * GiB == pytest.approx(p * 2 / 8)
    assert (e8.weights + e8.gradients + e8.optimizer) * GiB == pytest.approx(p * 8 / 8)
    assert e16.optimizer == pytest.approx(e8.optimizer / 2)
    assert e16.activations == e8.activations and e16.logits == e8.logits  # per-GPU, not sharded
    assert e16.total < e8.total and e16.max_tokens_that_fit > e8.max_tokens_that_fit
    fp32 = estimate(qwen32b, cfg.replace(precision="fp32"), gpus=8)  # the reference code's fp32 load
    assert fp32.weights + fp32.gradients + fp32.optimizer == pytest.approx(
        2 * (e8.weights + e8.gradients + e8.optimizer)
    )
    assert not fp32.fits


def test_activations_scale_with_block_size_and_checkpointing(qwen32b):
    cfg = TrainConfig()
    full, half = estimate(qwen32b, cfg, gpus=16), estimate(qwen32b, cfg.replace(block_size=16384), gpus=16)
    assert full.activations == pytest.approx(2 * half.activations)
    assert full.logits * GiB == pytest.approx(32768 * 152064 * 10)
    no_ckpt = estimate(qwen32b, cfg.replace(gradient_checkpointing=False), gpus=16)
    assert no_ckpt.activations > 10 * full.activations
    lora = estimate(qwen32b, cfg.replace(lora=True), gpus=1)
    assert lora.optimizer < 1 and lora.weights * GiB == pytest.approx(qwen32b.params * 2)


def test_fits_is_consistent_with_the_longest_sequence(qwen32b):
    e = estimate(qwen32b, TrainConfig(), gpus=16)
    at_max = estimate(qwen32b, TrainConfig(block_size=e.max_tokens_that_fit), gpus=16)
    beyond = estimate(qwen32b, TrainConfig(block_size=e.max_tokens_that_fit + 64), gpus=16)
    assert at_max.fits and not beyond.fits
    with pytest.raises(ConfigError, match="gpus"):
        estimate(qwen32b, TrainConfig(), gpus=0)


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(S1kitError, match="not found"):
        architecture("some/unknown-model")


def test_fsdp_plan_for_16_gpus_spans_two_machines():
    plan = launch_plan(
        "fsdp", gpus=16, train_args=["--data", "d.jsonl", "--output", "o"], layer_cls="Qwen2DecoderLayer"
    )
    argv = list(plan.argv)
    assert argv[:2] == ["accelerate", "launch"] and plan.machines == 2
    assert argv[argv.index("--config_file") + 1] == str(accelerate_config("fsdp"))
    assert argv[argv.index("--num_processes") + 1] == "16" and argv[argv.index("--num_machines") + 1] == "2"
    assert argv[argv.index("--fsdp_transformer_layer_cls_to_wrap") + 1] == "Qwen2DecoderLayer"
    assert argv[argv.index("-m") + 1 :] == ["s1kit.cli", "train", "--data", "d.jsonl", "--output", "o"]
    assert "$MACHINE_RANK" in plan.command and "every machine" in plan.explain()
    with pytest.raises(S1kitError, match="run the printed command on each"):
        run_plan(plan)
    one = launch_plan("deepspeed", gpus=8, train_args=[])
    assert one.machines == 1 and str(accelerate_config("deepspeed")) in one.command
    with pytest.raises(ConfigError, match="gpus"):
        launch_plan("fsdp", gpus=12, train_args=[])
