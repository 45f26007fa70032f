"""TrainConfig defaults, validation, recipes and the shipped accelerate configs."""

from __future__ import annotations

import pytest
import yaml

from s1kit.errors import ConfigError, S1kitError
from s1kit.training.config import TrainConfig, load_recipe, recipe_names
from s1kit.training.launch import CONFIGS, accelerate_config


def test_defaults_are_the_papers_recipe():
    c = TrainConfig()
    assert (c.epochs, c.learning_rate, c.lr_scheduler, c.warmup_ratio) == (5, 1e-5, "cosine", 0.05)
    assert (c.adam_beta1, c.adam_beta2, c.weight_decay) == (0.9, 0.95, 1e-4)
    assert (c.global_batch_size, c.block_size, c.gradient_checkpointing, c.format) == (16, 32768, True, "s1")
    assert c.lora is False and c.markers == "none"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"learning_rate": 0}, "learning_rate"),
        ({"adam_beta2": 1.0}, "adam_beta2"),
        ({"warmup_ratio": -0.1}, "warmup_ratio"),
        ({"block_size": "big"}, "block_size"),
        ({"lr_scheduler": "cosine_restarts_forever"}, "lr_scheduler"),
        ({"overlong": "ignore"}, "overlong"),
        ({"precision": "int8"}, "precision"),
        ({"global_batch_size": 16, "micro_batch_size": 3}, "global_batch_size"),
        ({"max_steps": 0}, "max_steps"),
        ({"lora": "yes"}, "lora"),
        ({"format": "nope"}, "format"),
        ({"marker_template": "no placeholder"}, "marker_template"),
        ({"epochs": float("nan")}, "epochs"),
    ],
)
def test_validation_names_the_field(change, field):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**change)
    assert e.value.field == field
    assert field in str(e.value)


def test_unknown_field_is_named():
    with pytest.raises(ConfigError, match="learning_rat"):
        TrainConfig.from_dict({"learning_rat": 1e-5})


def test_gradient_accumulation_keeps_the_global_batch():
    c = TrainConfig()
    assert [c.gradient_accumulation(n) for n in (1, 2, 8, 16)] == [16, 8, 2, 1]
    with pytest.raises(ConfigError, match="global_batch_size"):
        c.gradient_accumulation(3)


def test_recipes_ship_and_validate():
    names = recipe_names()
    assert {"s1k-qwen2.5-32b", "cpu-tiny"} <= set(names)
    for name in names:
        cfg = TrainConfig.from_recipe(name)
        assert cfg == TrainConfig.from_dict(cfg.to_dict())
    paper = TrainConfig.from_recipe("s1k-qwen2.5-32b")
    assert paper.replace(precision="auto") == TrainConfig()  # the paper's run is the defaults
    assert load_recipe("s1k-qwen2.5-32b")["model"] == "Qwen/Qwen2.5-32B-Instruct"
    tiny = TrainConfig.from_recipe("cpu-tiny")
    assert tiny.block_size <= 2048 and tiny.max_steps > 0 and tiny.precision == "fp32"


def test_recipe_override_and_yaml_path(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("learning_rate: 2.0e-5\nblock_size: 4096\n")
    c = TrainConfig.from_recipe(str(p))
    assert (c.learning_rate, c.block_size, c.epochs) == (2e-5, 4096, 5)
    assert TrainConfig.from_recipe("cpu-tiny").replace(max_steps=2).max_steps == 2


def test_unknown_recipe_lists_the_shipped_ones():
    with pytest.raises(S1kitError, match="unknown recipe 'nope'.*cpu-tiny"):
        TrainConfig.from_recipe("nope")


@pytest.mark.parametrize("strategy", sorted(CONFIGS))
def test_accelerate_configs_load_and_use_known_keys(strategy):
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import launch_command_parser

    path = accelerate_config(strategy)
    cluster = ClusterConfig.from_yaml_file(str(path))  # raises on unknown top-level keys
    raw = yaml.safe_load(path.read_text())
    launch_opts = {o.lstrip("-") for a in launch_command_parser()._actions for o in a.option_strings}
    if strategy == "fsdp":
        assert cluster.distributed_type.value == "FSDP"
        fsdp = raw["fsdp_config"]
        assert fsdp["fsdp_sharding_strategy"] == "FULL_SHARD"
        assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert fsdp["fsdp_transformer_layer_cls_to_wrap"] == "Qwen2DecoderLayer"
        assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # the output is a normal model folder
        unknown = [k for k in fsdp if k not in launch_opts]
    else:
        assert cluster.distributed_type.value == "DEEPSPEED"
        ds = raw["deepspeed_config"]
        assert ds["zero_stage"] == 3 and ds["zero3_save_16bit_model"] is True
        unknown = [k for k in ds if k not in launch_opts]
    assert unknown == []
    assert str(getattr(cluster.mixed_precision, "value", cluster.mixed_precision)) == "bf16"
