"""``--backend vllm``: vLLM's offline engine in process, forcing round by round (slow; the vLLM env).

Run in the vLLM environment: ``ENV/bin/python -m pytest -q -m slow tests/vllm/test_inprocess.py``.
"""

from __future__ import annotations

import pytest
import yaml

from s1kit import Budget
from s1kit.errors import ConfigError, S1kitError
from s1kit.generation.generator import Generator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
# enforce_eager: no torch.compile (minutes of C++ compilation on a busy CPU); the numerics are the
# same kernels run one by one.
EAGER = {"enforce_eager": True}

QUESTIONS = ["What is 2+3?", "How many positive divisors does 12 have?", "Name a prime number.", "Why?"]
BUDGETS = [
    Budget(max_thinking_tokens=40, max_answer_tokens=12),
    Budget(max_thinking_tokens=48, min_thinking_tokens=40, max_answer_tokens=8),
    Budget(max_thinking_tokens=60, num_ignore=2, ignore_strings=("Wait", "Hmm"), max_answer_tokens=8),
]


@pytest.fixture(scope="module")
def vllm_gen(fp32_folder):
    pytest.importorskip("vllm")
    return Generator.load(
        str(fp32_folder), backend="vllm", format="r1", max_model_len=2048, dtype="float32", **EAGER
    )


@pytest.fixture(scope="module")
def hf_gen(fp32_folder):
    pytest.importorskip("transformers")
    return Generator.load(str(fp32_folder), backend="hf", format="r1", device="cpu", dtype="float32")


@pytest.mark.parametrize("budget", BUDGETS)
def test_greedy_equals_transformers_on_the_same_fp32_weights(vllm_gen, hf_gen, budget):
    ours = vllm_gen.generate_batch(QUESTIONS, budget)
    ref = hf_gen.generate_batch(QUESTIONS, budget)
    for a, b in zip(ours, ref, strict=True):
        assert a.token_ids == b.token_ids
        assert a.events == b.events and (a.thinking, a.answer) == (b.thinking, b.answer)


def test_budgets_hold_at_both_ends(vllm_gen):
    b = Budget(max_thinking_tokens=50, min_thinking_tokens=45, max_answer_tokens=6)
    for c in vllm_gen.generate_batch(QUESTIONS, b):
        assert 45 <= c.thinking_tokens <= 50
        assert c.answer_tokens <= 6


def test_a_sequence_moves_on_while_the_others_decode(vllm_gen, hf_gen):
    engine = vllm_gen.engine
    # One sequence with a tiny cap, three thinking longer (two "Wait"s): the short one's answer round
    # must join the engine while the others are still mid-round, not after the longest round ends.
    short = Budget(max_thinking_tokens=4, max_answer_tokens=6)
    budgets = [short, BUDGETS[2], BUDGETS[2], BUDGETS[2]]
    rounds, steps, joined = engine.rounds, engine.steps, engine.joined
    out = vllm_gen.generate_batch(QUESTIONS, budgets)
    rounds, steps, joined = engine.rounds - rounds, engine.steps - steps, engine.joined - joined
    assert joined >= 1
    # Each engine step decodes one token for every round in flight (a new round's first token comes
    # with its prefill), so the steps are at most the longest sequence's tokens plus a step per round.
    assert steps <= max(len(c.token_ids) for c in out) + rounds
    ref = hf_gen.generate_batch(QUESTIONS, budgets)
    for a, b in zip(out, ref, strict=True):
        assert a.token_ids == b.token_ids and a.events == b.events


def test_the_run_folder_says_how_the_cap_was_enforced(vllm_gen, tmp_path):
    from s1kit.evaluation import EvalConfig, run_eval

    cfg = EvalConfig(task="aime24", model="unused", budgets=(32,), limit=2, max_answer_tokens=8)
    run_eval(cfg, tmp_path / "run", generator=vllm_gen)
    doc = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    opts = doc["resolved"]["engine_options"]
    assert doc["resolved"]["engine"] == "vllm"
    assert opts["enable_prefix_caching"] is True and opts["dtype"] == "float32"
    assert opts["thinking_cap"].startswith("s1kit")


def test_bad_options_and_models_are_one_line_errors(fp32_folder, tmp_path):
    pytest.importorskip("vllm")
    from s1kit.backends import load_engine

    with pytest.raises(ConfigError, match="tensor_parallel_size=0 is invalid"):
        load_engine(str(fp32_folder), "vllm", tensor_parallel_size=0)
    with pytest.raises(ConfigError, match="dtype='fp8' is invalid"):
        load_engine(str(fp32_folder), "vllm", dtype="fp8")
    with pytest.raises(S1kitError, match="do not apply to the vllm backend"):
        load_engine(str(fp32_folder), "vllm", device="cuda")
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (fp32_folder / name).is_file():
            (bad / name).write_bytes((fp32_folder / name).read_bytes())
    (bad / "config.json").write_text('{"architectures": ["NoSuchModelForCausalLM"], "model_type": "nosuch"}')
    with pytest.raises(S1kitError) as e:
        load_engine(str(bad), "vllm", max_model_len=512)
    assert "\n" not in str(e.value)
