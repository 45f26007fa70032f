"""Every chat family picks its format and end of turn from the model itself, and budgets hold on every
backend: transformers, llama.cpp (the same weights as GGUF) and the openai backend against s1kit serve.

The tiny models are random (tests/formats/families.py), their end-of-turn rows boosted so that attempts
to stop come early; each family is checked for min and max budgets, ignored stops, and greedy equality
between forcing in the decoding loop and round by round.
"""

from __future__ import annotations

import pytest
from tests.formats.families import FAMILIES

from s1kit import Budget
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.forcing.choice import choose_format, describe
from s1kit.generation.generator import Generator

QUESTIONS = ["What is 2+2?", "Name a prime number."]
MAX = Budget(max_thinking_tokens=12, max_answer_tokens=6)
MIN = Budget(min_thinking_tokens=20, max_thinking_tokens=40, max_answer_tokens=6)
IGNORE = Budget(max_thinking_tokens=30, num_ignore=2, max_answer_tokens=6)
NAMES = sorted(FAMILIES)


def check_budgets(gen: Generator, *, rounds: bool = True) -> list:
    """Min and max budgets hold; greedy in-loop equals round-by-round. Returns the MIN completions."""
    for c in gen.generate_batch(QUESTIONS, MAX):
        assert c.thinking_tokens <= 12
        assert c.answer_tokens <= 6
    low = gen.generate_batch(QUESTIONS, MIN)
    for c in low:
        assert 20 <= c.thinking_tokens <= 40, (c.thinking_tokens, c.thinking)
    assert sum(c.ignored_stops for c in low) > 0, "no stop attempt was suppressed: the test proves nothing"
    if rounds:
        for budget in (MIN, IGNORE):
            loop = gen.generate_batch(QUESTIONS, budget, mode="loop")
            by_round = gen.generate_batch(QUESTIONS, budget, mode="rounds")
            for a, b in zip(loop, by_round, strict=True):
                assert a.token_ids == b.token_ids
                assert a.events == b.events
    return low


def assert_same_greedy(hf: Generator, question: str, ours: tuple, theirs: tuple, tol: float = 0.01) -> None:
    """Two engines' greedy tokens for one question are equal, or part where transformers' own top two
    logits are a near-tie (``tol``): float32 kernels differ in the last bits, not in the model."""
    if ours == theirs:
        return
    n = min(len(ours), len(theirs))
    k = next((i for i in range(n) if ours[i] != theirs[i]), n)
    import torch

    ids = hf.tokenizer.encode(hf.render(question)) + list(ours[:k])
    with torch.no_grad():
        top = hf.engine.model(torch.tensor([ids])).logits[0, -1].topk(2)
    margin = float(top.values[0] - top.values[1])
    assert margin < tol, f"the engines part at token {k} where the top two logits differ by {margin:.4f}"


@pytest.mark.parametrize("name", NAMES)
def test_format_and_end_of_turn_come_from_the_model(name, family_models):
    from transformers import AutoTokenizer

    fam = FAMILIES[name]
    folder, _ = family_models(name)
    tok = HFTokenizer(AutoTokenizer.from_pretrained(folder))
    choice = choose_format(tok)
    assert choice.format.name == fam.expected_format, choice.reason
    turn = {tok.encode(t)[0] for t in fam.end_of_turn} | {tok.encode(fam.eos)[0]}
    assert turn <= tok.eos_ids
    prompt = choice.format.render_prompt(tok, "What is 2+2?")
    assert prompt.endswith(choice.format.think_start)
    assert prompt.count(choice.format.think_start.strip()) == 1 + (
        name == "magistral"
    )  # its system prompt names it
    record = describe(tok, choice.format, choice.reason)
    assert set(fam.end_of_turn) <= set(record["end_of_turn"])


@pytest.mark.parametrize("name", NAMES)
def test_budgets_hold_on_the_hf_backend(name, family_models):
    from s1kit.backends import load_engine

    folder, _ = family_models(name)
    gen = Generator(load_engine(str(folder), "hf", device="cpu"))
    assert gen.format.name == FAMILIES[name].expected_format
    check_budgets(gen)


@pytest.mark.parametrize("name", NAMES)
def test_budgets_hold_on_the_llamacpp_backend_and_match_hf(name, family_models):
    pytest.importorskip("llama_cpp")
    from s1kit.backends import load_engine

    folder, path = family_models(name, gguf=True)
    gguf_gen = Generator(load_engine(str(path), "llamacpp", n_ctx=1024, n_threads=1))
    hf_gen = Generator(load_engine(str(folder), "hf", device="cpu"))
    assert gguf_gen.format == hf_gen.format
    assert gguf_gen.tokenizer.eos_ids == hf_gen.tokenizer.eos_ids
    assert gguf_gen.render(QUESTIONS[0]) == hf_gen.render(QUESTIONS[0])
    low = check_budgets(gguf_gen)
    # The same weights give the same greedy tokens on both engines (F32 weights; random tiny models
    # have no near-ties at these lengths).
    for q, a, b in zip(QUESTIONS, low, hf_gen.generate_batch(QUESTIONS, MIN), strict=True):
        assert_same_greedy(hf_gen, q, a.token_ids, b.token_ids)


@pytest.mark.parametrize("name", NAMES)
def test_budgets_hold_over_the_openai_backend_against_s1kit_serve(name, family_models):
    from tests.serve.conftest import running

    from s1kit.backends import load_engine
    from s1kit.backends.openai import OpenAIEngine
    from s1kit.serving import ServerConfig, create_app

    folder, _ = family_models(name)
    local = Generator(load_engine(str(folder), "hf", device="cpu"))
    app = create_app(local, ServerConfig(max_batch=4, max_tokens_cap=512))
    with running(app) as url:
        remote = Generator(OpenAIEngine.from_spec(url, tokenizer=str(folder)))
        assert remote.format == local.format  # the client picks the format from the same tokenizer
        assert remote.tokenizer.eos_ids == local.tokenizer.eos_ids
        over_http = check_budgets(remote, rounds=False)
        in_process = local.generate_batch(QUESTIONS, MIN)
        assert [c.token_ids for c in over_http] == [c.token_ids for c in in_process]
        remote.engine.close()


@pytest.mark.parametrize("name", ["gemma", "llama3", "think-open", "base"])
def test_same_weights_as_gguf_converted_folder_and_server_agree(name, family_models, tmp_path, monkeypatch):
    pytest.importorskip("llama_cpp")
    from tests.serve.conftest import running

    from s1kit.backends import load_engine
    from s1kit.backends.models import gguf_to_hf
    from s1kit.backends.openai import OpenAIEngine
    from s1kit.serving import ServerConfig, create_app

    monkeypatch.setenv("S1KIT_CACHE", str(tmp_path))
    _, path = family_models(name, gguf=True)
    as_gguf = Generator(load_engine(str(path), "llamacpp", n_ctx=1024, n_threads=1))
    converted = gguf_to_hf(path)
    as_folder = Generator(load_engine(str(converted), "hf", device="cpu"))
    app = create_app(as_gguf, ServerConfig(max_batch=1, max_tokens_cap=512))
    with running(app) as url:
        served = Generator(OpenAIEngine.from_spec(url, tokenizer=str(path)))
        gens = (as_gguf, as_folder, served)
        assert len({g.format for g in gens}) == 1, [g.format_reason for g in gens]
        assert len({g.tokenizer.eos_ids for g in gens}) == 1
        assert len({g.render(QUESTIONS[0]) for g in gens}) == 1
        tokens = [[c.token_ids for c in g.generate_batch(QUESTIONS, IGNORE)] for g in gens]
        served.engine.close()
    assert tokens[0] == tokens[2]  # the server runs the same engine
    for q, a, b in zip(QUESTIONS, tokens[0], tokens[1], strict=True):
        assert_same_greedy(as_folder, q, a, b)
