"""Training on any family: delimiters from the format and the model's own chat template, checked against
the tokenizer before any work, end-of-turn ids that exist, and the trained format picked at load time."""

from __future__ import annotations

import json

import pytest
import yaml
from tests.formats.families import FAMILIES, write_tokenizer

from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import ConfigError, S1kitError
from s1kit.training.config import TrainConfig
from s1kit.training.data import Example
from s1kit.training.formatting import IGNORE, format_dataset, format_example

EX = Example("What is 2+2?", "Two and two make four.", "4")


def family_tok(name, tmp_path):
    from transformers import AutoTokenizer

    return HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES[name], tmp_path / name)))


def trained_text(tok, cfg):
    f = format_example(tok, EX, cfg)
    return tok.decode(f.input_ids[: f.prompt_tokens]), tok.decode([t for t in f.labels if t != IGNORE])


@pytest.mark.parametrize(
    ("name", "fmt", "prompt_end", "trained"),
    [
        ("llama3", "r1", "<|start_header_id|>assistant<|end_header_id|>\n\n<think>\n",
         "Two and two make four.\n</think>\n\n4<|eot_id|>"),
        ("gemma", "r1", "<start_of_turn>model\n<think>\n", "Two and two make four.\n</think>\n\n4<end_of_turn>"),
        ("mistral", "magistral", "[/INST][THINK]", "Two and two make four.\n[/THINK]4</s>"),
        ("harmony", "gpt-oss", "<|start|>assistant<|channel|>analysis<|message|>",
         "Two and two make four.\n<|end|><|start|>assistant<|channel|>final<|message|>4<|return|>"),
        ("chatml", "s1", "<|im_start|>assistant\n<|im_start|>think\n",
         "Two and two make four.\n<|im_start|>answer\n4<|im_end|>"),
        ("base", "r1", "What is 2+2?\n\n<think>\n", "Two and two make four.\n</think>\n\n4<|endoftext|>"),
    ],
)  # fmt: skip
def test_rows_use_the_models_template_and_end_of_turn(name, fmt, prompt_end, trained, tmp_path):
    tok = family_tok(name, tmp_path)
    prompt, text = trained_text(tok, TrainConfig(format=fmt, block_size=256))
    assert prompt.endswith(prompt_end)
    assert text == trained
    assert "<|im_start|>" not in prompt + text or name == "chatml"


def test_a_format_the_vocabulary_lacks_is_refused_before_any_work(tmp_path):
    tok = family_tok("llama3", tmp_path)
    with pytest.raises(S1kitError, match=r"format s1 needs <\|im_start\|> as special tokens.*--format r1"):
        format_dataset(tok, [EX], TrainConfig(format="s1", block_size=256))
    with pytest.raises(S1kitError, match="format gpt-oss needs <|start|>"):
        format_dataset(tok, [EX], TrainConfig(format="gpt-oss", block_size=256))
    with pytest.raises(S1kitError, match=r"marker_template uses '<\|im_start\|>'"):
        format_dataset(tok, [EX], TrainConfig(format="r1", markers="tokens", block_size=256))


def test_custom_delimiters_train_and_need_both_strings(tmp_path):
    tok = family_tok("gemma", tmp_path)
    cfg = TrainConfig(format="custom", think_start="Reasoning:\n", think_end="\nSo:\n", block_size=256)
    prompt, text = trained_text(tok, cfg)
    assert prompt.endswith("<start_of_turn>model\nReasoning:\n")
    assert text == "Two and two make four.\nSo:\n4<end_of_turn>"
    with pytest.raises(ConfigError, match="think_start and think_end"):
        TrainConfig(format="custom", think_start="x")


@pytest.mark.slow
def test_a_llama3_family_model_trains_and_loads_with_its_format(family_models, tmp_path):
    from s1kit import Budget
    from s1kit.cli import main
    from s1kit.generation.generator import Generator

    folder, _ = family_models("llama3")
    rows = [
        {
            "question": f"What is {a}+{b}?",
            "thinking_trajectories": [f"I add {a} and {b}."],
            "attempt": str(a + b),
        }
        for a, b in [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    ]
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    base = ["train", "--data", str(data), "--model", str(folder), "--output", str(out), "--block-size", "128"]
    assert main(base + ["--format", "s1"]) == 2  # refused before any work: no <|im_start|> in Llama-3
    assert not out.exists() or not any(out.iterdir())
    args = base + [
        "--format", "r1", "--epochs", "100", "--max-steps", "40", "--global-batch-size", "1",
        "--learning-rate", "1e-2", "--lr-scheduler", "constant", "--warmup-ratio", "0",
        "--no-gradient-checkpointing",
    ]  # fmt: skip
    assert main(args) == 0
    record = yaml.safe_load((out / "s1kit_train.yaml").read_text())["format"]
    assert record["name"] == "r1" and record["end_of_turn"] == "<|eot_id|>"
    saved = json.loads((out / "generation_config.json").read_text())["eos_token_id"]
    eot = FAMILIES["llama3"].specials.index("<|eot_id|>")
    assert eot in (saved if isinstance(saved, list) else [saved])
    gen = Generator.load(str(out), backend="hf", device="cpu")
    assert gen.format.name == "r1" and "recorded by s1kit train" in gen.format_reason
    free = gen.generate("What is 3+4?", Budget(max_thinking_tokens=40, max_answer_tokens=8))
    assert free.finish_reason == "stop"  # the answer ended on the learned <|eot_id|>
    capped = gen.generate("What is 3+4?", Budget(max_thinking_tokens=3, max_answer_tokens=8))
    assert capped.forced_end and capped.thinking_tokens == 3
