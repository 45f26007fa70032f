from __future__ import annotations

import pytest

from s1kit import Budget, ReasoningFormat, get_format
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import ConfigError, S1kitError
from s1kit.generation.sampling import SamplingParams


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_thinking_tokens": -1}, "max_thinking_tokens"),
        ({"min_thinking_tokens": -3}, "min_thinking_tokens"),
        ({"num_ignore": -1}, "num_ignore"),
        ({"min_thinking_tokens": 10, "max_thinking_tokens": 5}, "min_thinking_tokens"),
        ({"ignore_strings": []}, "ignore_strings"),
        ({"ignore_strings": ["Wait", ""]}, "ignore_strings"),
        ({"ignore_strings": "Wait"}, "ignore_strings"),
        ({"max_answer_tokens": 0}, "max_answer_tokens"),
        ({"num_ignore": 1.5}, "num_ignore"),
        ({"num_ignore": True}, "num_ignore"),
    ],
)
def test_budget_rejects_invalid_values_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError) as e:
        Budget(**kwargs)
    assert e.value.field == field
    assert field in str(e.value) and repr(e.value.value) in str(e.value)


def test_budget_rotation_and_roundtrip():
    b = Budget(max_thinking_tokens=100, num_ignore=3, ignore_strings=["Wait", "Hmm"])
    assert [b.ignore_string(k) for k in range(4)] == ["Wait", "Hmm", "Wait", "Hmm"]
    assert Budget.from_dict(b.to_dict()) == b
    with pytest.raises(ConfigError):
        Budget.from_dict({"max_thinking": 3})


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": -2}, {"seed": "x"}]
)
def test_sampling_params_validate(kwargs):
    with pytest.raises(ConfigError):
        SamplingParams(**kwargs)


def test_s1_format_on_smollm2_tokenizer(smol_tokenizer):
    tok = HFTokenizer(smol_tokenizer)
    ids = get_format("s1").ids(tok)
    im_start, im_end = smol_tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    # "<|im_start|>answer\n" is several tokens; its special first token is the stop attempt.
    assert ids.think_end[0] == im_start and len(ids.think_end) == 3
    assert (im_start,) in ids.stop_seqs and (im_end,) in ids.stop_seqs
    assert im_end in ids.answer_stops
    prompt = get_format("s1").render_prompt(tok, "What is 1+1?")
    assert prompt.endswith("<|im_start|>assistant\n<|im_start|>think\n")


def test_r1_format_on_r1_tokenizer_uses_single_token_delimiter():
    from tests.conftest import R1_TOKENIZER
    from transformers import AutoTokenizer

    if not R1_TOKENIZER.exists():
        pytest.skip("shared R1 tokenizer not present")
    raw = AutoTokenizer.from_pretrained(R1_TOKENIZER)
    tok = HFTokenizer(raw)
    ids = get_format("r1").ids(tok)
    assert (151649,) in ids.stop_seqs  # </think>
    assert 151649 in ids.think_end
    assert 151643 in ids.answer_stops  # <｜end▁of▁sentence｜>
    prompt = get_format("r1").render_prompt(tok, "Hi")
    assert prompt.endswith("<think>\n") and prompt.count("<think>") == 1


def test_r1_format_on_smollm2_is_multi_token(smol_tokenizer):
    tok = HFTokenizer(smol_tokenizer)
    ids = get_format("r1").ids(tok)
    end_seq = tuple(tok.encode("</think>"))
    assert len(end_seq) > 1 and end_seq in ids.stop_seqs


def test_custom_format_and_errors(smol_tokenizer):
    fmt = ReasoningFormat.custom("BEGIN REASONING\n", "\nEND REASONING\n")
    ids = fmt.ids(HFTokenizer(smol_tokenizer))
    assert len(ids.stop_seqs[0]) > 1
    with pytest.raises(ConfigError):
        ReasoningFormat.custom("", "x")
    with pytest.raises(S1kitError, match="unknown reasoning format"):
        get_format("nope")


def test_s1_on_a_non_chatml_tokenizer_ends_the_answer_on_the_models_end_of_turn(tmp_path):
    from tests.formats.families import FAMILIES, write_tokenizer
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES["gemma"], tmp_path / "g")))
    ids = get_format("s1").ids(tok)  # no "'<|im_end|>' must be one token" error
    end_of_turn = tok.encode("<end_of_turn>")[0]
    assert end_of_turn in ids.answer_stops and (end_of_turn,) in ids.stop_seqs
    assert get_format("s1").missing_tokens(tok) == ["<|im_start|>"]


@pytest.mark.parametrize(
    ("family", "name", "think_end_first"),
    [("magistral", "magistral", "[/THINK]"), ("harmony", "gpt-oss", "<|end|>")],
)
def test_reasoning_formats_of_todays_models_resolve_to_single_special_tokens(
    family, name, think_end_first, tmp_path
):
    from tests.formats.families import FAMILIES, write_tokenizer
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES[family], tmp_path / family)))
    fmt = get_format(name)
    ids = fmt.ids(tok)
    first = tok.encode(think_end_first)
    assert len(first) == 1 and first[0] in tok.special_ids
    assert ids.think_end[0] == first[0] and (first[0],) in ids.stop_seqs
    assert fmt.missing_tokens(tok) == []


def test_embedded_model_gets_the_stated_fallback_on_every_load_path(embedded_llamacpp):
    from s1kit.backends.openai import load_tokenizer
    from s1kit.forcing.choice import choose_format
    from s1kit.generation.generator import Generator

    local = Generator(embedded_llamacpp)
    assert local.format.name == "r1" and "declares no reasoning format" in local.format_reason
    remote_tok = load_tokenizer("default")  # what --backend openai --tokenizer default reads
    assert choose_format(remote_tok).format == local.format
    assert remote_tok.eos_ids == local.tokenizer.eos_ids
