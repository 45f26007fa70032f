"""The chat-template sandbox (the functions Hugging Face templates use), --chat-template, base models
without a template, and what generate's -v and --json say about the format."""

from __future__ import annotations

import json

import pytest
from tests.formats.families import FAMILIES, write_tokenizer

from s1kit.backends.chat_template import compile_template, plain_prompt, render_chat
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import S1kitError
from s1kit.forcing.choice import choose_format

USER = [{"role": "user", "content": "héllo"}]
# a Llama-3 chat template that opens Magistral's [THINK] after the assistant header
LLAMA3_THINK_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
    "{{ m.content }}<|eot_id|>{% endfor %}<|start_header_id|>assistant<|end_header_id|>\n\n[THINK]"
)


def test_sandbox_has_the_functions_hf_templates_use():
    src = (
        "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m | tojson }}{% endfor %}"
        "{% for i in range(3) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}"
        "{% generation %}[{{ strftime_now('%Y') | length }}]{% endgeneration %}"
    )
    out = render_chat(src, USER + USER)
    assert out == '{"role": "user", "content": "héllo"}02[4]'  # tojson keeps non-ASCII; one message
    with pytest.raises(S1kitError, match="refused these messages: roles must alternate"):
        render_chat("{{ raise_exception('roles must alternate') }}", USER)


def test_sandbox_refuses_unsafe_templates_and_bad_syntax():
    with pytest.raises(S1kitError, match="not valid Jinja"):
        compile_template("{% for m in messages %}")
    with pytest.raises(S1kitError):  # the immutable sandbox: no attribute escapes, no mutation
        render_chat("{{ messages.__class__.__mro__ }}{% set _ = messages.append(1) %}", USER)


def test_same_template_renders_the_same_as_transformers(tmp_path):
    from transformers import AutoTokenizer

    for name in ("llama3", "gemma", "harmony", "think-open"):
        folder = write_tokenizer(FAMILIES[name], tmp_path / name)
        raw = AutoTokenizer.from_pretrained(folder)
        ours = HFTokenizer(raw).apply_chat_template(USER)
        theirs = raw.apply_chat_template(USER, tokenize=False, add_generation_prompt=True)
        assert ours == theirs, name


def test_base_model_gets_a_plain_prompt_and_a_warning(tmp_path, caplog):
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES["base"], tmp_path / "b")))
    assert tok.chat_template is None
    with caplog.at_level("WARNING", logger="s1kit"):
        choice = choose_format(tok)
    assert "no chat template" in choice.reason and "rarely follow" in caplog.text
    assert choice.format.render_prompt(tok, "What is 2+2?") == "What is 2+2?\n\n<think>\n"
    assert (
        plain_prompt([{"role": "system", "content": "Be brief."}] + USER, bos="<s>")
        == "<s>Be brief.\n\nhéllo\n\n"
    )


def test_a_chat_template_replaces_the_models_and_the_format_follows(tmp_path):
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES["chatml"], tmp_path / "c")))
    assert choose_format(tok).format.name == "r1"
    tok.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n<|im_start|>think\n{% endif %}"
    )
    choice = choose_format(tok)
    assert choice.format.name == "s1" and "<|im_start|>think" in choice.reason
    assert choice.format.render_prompt(tok, "Hi").endswith("<|im_start|>assistant\n<|im_start|>think\n")


def test_qwen3_enable_thinking_keeps_the_thinking_section_open(tmp_path):
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(write_tokenizer(FAMILIES["qwen3"], tmp_path / "q")))
    assert "</think>" in tok.apply_chat_template(USER, enable_thinking=False)  # the switch is real
    prompt = choose_format(tok).format.render_prompt(tok, "Hi")
    assert prompt.endswith("<|im_start|>assistant\n<think>\n") and "</think>" not in prompt


def test_generate_cli_explains_the_format_and_records_it_in_json(family_models, tmp_path, capsys):
    from s1kit.cli import main

    folder, _ = family_models("llama3")
    template = tmp_path / "t.jinja"
    template.write_text(LLAMA3_THINK_TEMPLATE)
    args = ["generate", "What is 2+2?", "--model", str(folder), "--backend", "hf", "--device", "cpu"]
    args += ["--max-thinking-tokens", "8", "--max-answer-tokens", "4", "--json", "-v"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    row = json.loads(out.splitlines()[-1])
    assert row["format"]["name"] == "r1" and row["format"]["end_of_turn"] == ["<|end_of_text|>", "<|eot_id|>"]
    assert "format r1: the chat template declares no reasoning format" in err
    assert main(args + ["--chat-template", str(template)]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out.splitlines()[-1])
    assert row["format"]["name"] == "magistral" and row["format"]["think_start"] == "[THINK]"
    assert "format magistral: the chat template writes [THINK]" in err
    template.write_text("{% for m in messages %}")
    assert main(args + ["--chat-template", str(template)]) == 2
    assert "not valid Jinja" in capsys.readouterr().err


def test_eval_and_serve_take_the_chat_template_too(family_models, tmp_path, capsys):
    import yaml

    from s1kit.cli import build_parser, main
    from s1kit.evaluation.rundir import CONFIG

    folder, _ = family_models("llama3")
    template = tmp_path / "t.jinja"
    template.write_text(LLAMA3_THINK_TEMPLATE)
    out = tmp_path / "run"
    args = ["eval", "--task", "gsm8k", "--limit", "1", "--budgets", "4", "--max-answer-tokens", "2"]
    args += ["--model", str(folder), "--backend", "hf", "--device", "cpu", "--out", str(out), "--no-progress"]
    assert main(args + ["--chat-template", str(template)]) == 0
    resolved = yaml.safe_load((out / CONFIG).read_text())["resolved"]
    assert resolved["format"] == "magistral"  # chosen from the replacement template, not the model's
    assert (
        main(args[:-3] + ["--out", str(tmp_path / "bad"), "--chat-template", str(tmp_path / "none.jinja")])
        == 2
    )
    assert "cannot read --chat-template" in capsys.readouterr().err
    served = build_parser().parse_args(["serve", "--chat-template", str(template)])
    assert served.chat_template == str(template)  # the same model option, read by engine_kwargs


def test_run_folder_records_the_format_its_delimiters_and_why(family_models, tmp_path):
    import yaml

    from s1kit.backends import load_engine
    from s1kit.evaluation.rundir import CONFIG, write_config
    from s1kit.generation.generator import Generator

    folder, _ = family_models("gemma")
    gen = Generator(load_engine(str(folder), "hf", device="cpu"))
    write_config(tmp_path, {"model": str(folder)}, gen)
    resolved = yaml.safe_load((tmp_path / CONFIG).read_text())["resolved"]
    assert resolved["format"] == "r1"
    delims = resolved["delimiters"]
    assert (delims["think_start"], delims["think_end"]) == ("<think>\n", "\n</think>\n\n")
    assert delims["end_of_turn"] == ["<eos>", "<end_of_turn>"] and "fallback" in delims["reason"]
