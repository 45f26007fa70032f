"""The toy tokenizer and random-init model work with every normal stage: formats, training rows, decoding."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from s1kit.backends.tokenizer import HFTokenizer  # noqa: E402
from s1kit.forcing.budget import Budget  # noqa: E402
from s1kit.forcing.formats import get_format  # noqa: E402
from s1kit.toy.model import ModelShape, build_tokenizer, write_init_model  # noqa: E402
from s1kit.toy.problems import ToyProblem, make_trace  # noqa: E402


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def test_characters_round_trip_and_s1_words_are_single_tokens(tok):
    text = "Sum mod 10: A3 B1 C4 D_ E_ F_ G_ H_ I_\nA33\nB14\nWait\nB14 {x} \\boxed{7}"
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    for word in ("<|im_start|>", "<|im_end|>", "think", "answer"):
        assert len(tok.encode(word, add_special_tokens=False)) == 1, word


def test_forced_text_has_the_same_tokens_in_training_and_at_inference(tok):
    # budget forcing encodes what it forces as plain text; training encodes the trace normally
    t = HFTokenizer(tok)
    budget = Budget(num_ignore=1)
    for text in (*budget.ignore_strings, budget.answer_primer, "Final Answer: 4"):
        assert t.encode_text(text) == t.encode(text), text
    assert len(tok.encode("3\n", add_special_tokens=False)) == 2
    assert tok.encode("é", add_special_tokens=False) == [tok.unk_token_id]


def test_s1_format_resolves_to_the_special_tokens(tok):
    t = HFTokenizer(tok)
    fmt = get_format("s1")
    ids = fmt.ids(t)
    start = tok.convert_tokens_to_ids("<|im_start|>")
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert ids.think_end == (start, tok.convert_tokens_to_ids("answer"), tok.convert_tokens_to_ids("\n"))
    assert (start,) in ids.stop_seqs and (end,) in ids.stop_seqs and end in ids.answer_stops
    q = ToyProblem((1, 2)).question
    prompt = fmt.render_prompt(t, q)
    assert prompt == f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n"


def test_training_rows_train_only_thinking_and_answer_and_fit_the_block(tok):
    from s1kit.training.config import TrainConfig
    from s1kit.training.data import Example
    from s1kit.training.formatting import IGNORE, format_example

    p = ToyProblem((0, 1, 2, 3, 4, 5, 6, 7, 8))
    thinking, attempt = make_trace(p, "resume", 2)
    cfg = TrainConfig.from_recipe("toy-cpu")
    ex = format_example(HFTokenizer(tok), Example(p.question, thinking, attempt), cfg)
    assert not ex.truncated and ex.full_length < 160
    trained = [i for i, label in zip(ex.input_ids, ex.labels, strict=True) if label != IGNORE]
    text = tok.decode(trained)
    assert (
        text.startswith("A00\nB11\nWait\nB11\nC23\n")
        and "Wait" in text
        and text.endswith(f"Final Answer: {p.answer}<|im_end|>")
    )


def test_random_init_model_loads_and_budget_forcing_caps_it(tmp_path):
    from s1kit.generation.generator import Generator

    path = write_init_model(
        tmp_path / "init",
        seed=0,
        shape=ModelShape(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2),
    )
    gen = Generator.load(str(path), backend="hf", device="cpu")
    assert gen.format.name == "s1"
    out = gen.generate(ToyProblem((1, 2, 3)).question, Budget(max_thinking_tokens=5, max_answer_tokens=3))
    assert out.thinking_tokens <= 5 and out.answer_tokens <= 3


def test_init_weights_depend_on_the_seed(tmp_path):
    import torch
    from safetensors.torch import load_file

    shape = ModelShape(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    a = load_file(write_init_model(tmp_path / "a", seed=0, shape=shape) / "model.safetensors")
    b = load_file(write_init_model(tmp_path / "b", seed=0, shape=shape) / "model.safetensors")
    c = load_file(write_init_model(tmp_path / "c", seed=1, shape=shape) / "model.safetensors")
    key = next(k for k in a if "embed" in k)
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])
