"""Budget forcing through real decoding loops (tiny random models with real tokenizers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import R1_TOKENIZER, tiny_llama

from s1kit import Budget, ReasoningFormat, SamplingParams
from s1kit.generation.generator import Generator

QUESTIONS = ["What is 2+2?", "How many positive divisors does 360 have?", "Name a prime.", "Why?"]


@pytest.fixture(scope="module")
def gen(tiny_engine):
    return Generator(tiny_engine, "s1")


@pytest.mark.parametrize(
    "budget",
    [
        Budget(max_thinking_tokens=24, num_ignore=2, max_answer_tokens=8),
        Budget(max_thinking_tokens=40, min_thinking_tokens=30, max_answer_tokens=6),
        Budget(max_thinking_tokens=12, num_ignore=0, max_answer_tokens=4, answer_primer=""),
        Budget(
            max_thinking_tokens=30,
            num_ignore=3,
            ignore_strings=["Wait", "Hmm, let me check"],
            max_answer_tokens=5,
        ),
    ],
)
def test_greedy_loop_equals_rounds(gen, budget):
    loop = gen.generate_batch(QUESTIONS, budget, mode="loop")
    rounds = gen.generate_batch(QUESTIONS, budget, mode="rounds")
    for a, b in zip(loop, rounds, strict=True):
        assert a.token_ids == b.token_ids
        assert a.events == b.events and a.thinking == b.thinking and a.answer == b.answer
    assert any(c.ignored_stops or not c.forced_end for c in loop), "the tiny model should try to stop"


def test_batched_equals_one_at_a_time(gen):
    budget = Budget(max_thinking_tokens=20, num_ignore=2, max_answer_tokens=6)
    batched = gen.generate_batch(QUESTIONS, budget)
    single = [gen.generate(q, budget) for q in QUESTIONS]
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]


def test_multi_token_custom_delimiter_rolls_back_in_batch(smol_tokenizer):
    """A custom stop of two ordinary tokens that the model really produces: detected on the full
    sequence, rolled back (inside a batch), replaced by "Wait"; loop and rounds still agree."""
    from s1kit.backends.hf import HFEngine

    engine = HFEngine.from_objects(tiny_llama(smol_tokenizer, seed=3), smol_tokenizer)
    probe = Generator(engine, ReasoningFormat.custom("Reasoning:\n", "\nZZQX unlikely\n"))
    free = probe.generate(QUESTIONS[0], Budget(max_thinking_tokens=16, max_answer_tokens=1))
    ids = list(free.token_ids[:16])
    enc, dec = probe.tokenizer.encode, probe.tokenizer.decode
    pairs = [ids[i : i + 2] for i in range(1, 15)]
    pair = next(p for p in pairs if enc(dec(p)) == p and dec(p) == dec(p).strip() and dec(p))
    text = dec(pair)

    g = Generator(
        engine, ReasoningFormat.custom("Reasoning:\n", "\n" + text + "\n", end_of_turn=("<|im_end|>",))
    )
    assert tuple(pair) in g.format_ids.stop_seqs
    budget = Budget(max_thinking_tokens=16, num_ignore=1, max_answer_tokens=4)
    loop = g.generate_batch(QUESTIONS, budget)
    rounds = g.generate_batch(QUESTIONS, budget, mode="rounds")
    assert [c.token_ids for c in loop] == [c.token_ids for c in rounds]
    assert loop[0].ignored_stops >= 1 and loop[0].events[0].kind == "ignore"
    assert text not in loop[0].thinking


def test_out_of_vocabulary_ids_are_never_fed(smol_tokenizer):
    """The model has 64 output rows past the tokenizer's vocabulary, and they win every argmax."""
    import torch

    from s1kit.backends.hf import HFEngine

    model = tiny_llama(smol_tokenizer, extra_rows=64)
    with torch.no_grad():
        model.lm_head.weight[len(smol_tokenizer) :] *= 50
    g = Generator(HFEngine.from_objects(model, smol_tokenizer), "s1")
    logits = g.engine.open([g.tokenizer.encode(g.render("hi"))], SamplingParams()).logits(0)
    assert int(logits.argmax()) >= len(smol_tokenizer)  # the trap is armed
    for mode in ("loop", "rounds"):
        for sp in (SamplingParams(), SamplingParams(temperature=1.0, seed=1)):
            c = g.generate("hi", Budget(max_thinking_tokens=8, max_answer_tokens=4), sp, mode=mode)
            assert c.token_ids and max(c.token_ids) < len(smol_tokenizer)


def test_r1_format_on_qwen_tokenizer_with_tiny_qwen2():
    if not R1_TOKENIZER.exists():
        pytest.skip("shared R1 tokenizer not present")
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from s1kit.backends.hf import HFEngine

    tok = AutoTokenizer.from_pretrained(R1_TOKENIZER)
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=152064,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=False,
    )
    model = Qwen2ForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(10)
        model.lm_head.weight[151649] *= 4  # make "</think>" a frequent choice
    g = Generator(HFEngine.from_objects(model, tok), "r1")
    b = Budget(max_thinking_tokens=20, num_ignore=1, max_answer_tokens=4)
    loop = g.generate_batch(QUESTIONS[:2], b)
    rounds = g.generate_batch(QUESTIONS[:2], b, mode="rounds")
    assert [c.token_ids for c in loop] == [c.token_ids for c in rounds]
    for c in loop:
        assert max(c.token_ids) < len(tok)  # the model has 152,064 rows, the tokenizer fewer
        assert 0 < c.thinking_tokens <= 20
        think = c.token_ids[: c.token_ids.index(151649)]
        assert 151649 not in think[:-1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mx=st.integers(0, 24),
    mn_frac=st.floats(0, 1),
    num_ignore=st.integers(0, 3),
    seed=st.integers(0, 10_000),
    temperature=st.sampled_from([0.0, 0.7, 1.3]),
)
def test_control_is_100_percent_on_a_real_model(gen, mx, mn_frac, num_ignore, seed, temperature):
    mn = int(mx * mn_frac)
    budget = Budget(
        max_thinking_tokens=mx, min_thinking_tokens=mn, num_ignore=num_ignore, max_answer_tokens=3
    )
    outs = gen.generate_batch(QUESTIONS, budget, SamplingParams(temperature=temperature, seed=seed))
    for c in outs:
        assert mn <= c.thinking_tokens <= mx
        assert c.forced_end == any(e.kind == "forced_end" for e in c.events)


def _stop_heavy_generator(smol_tokenizer, prompt_q: str, target: float) -> Generator:
    """A tiny model whose EOS probability at the first thinking step is ``target`` (temperature 1)."""
    import torch

    from s1kit.backends.hf import HFEngine

    model = tiny_llama(smol_tokenizer, seed=7)
    g = Generator(HFEngine.from_objects(model, smol_tokenizer), "s1")
    ids = torch.tensor([g.tokenizer.encode(g.render(prompt_q))])
    seen = {}
    hook = model.lm_head.register_forward_hook(lambda m, i, o: seen.update(h=i[0][0, -1].detach().clone()))
    with torch.no_grad():
        logits = model(ids).logits[0, -1].double()
    hook.remove()
    eos = smol_tokenizer.eos_token_id
    others = torch.logsumexp(torch.cat([logits[:eos], logits[eos + 1 :]]), 0)
    want = float(others + np.log(target / (1 - target)))
    h = seen["h"]
    with torch.no_grad():
        model.lm_head.weight[eos] += (want - float(logits[eos])) * h / h.dot(h)
    return g


def test_replacing_a_stop_keeps_the_distribution_of_other_tokens(smol_tokenizer):
    """Sample the first thinking token many times while every stop is replaced by "Wait".

    Correct forcing samples from the full distribution and replaces a sampled stop, so each other
    token keeps its probability p_i and "Wait" gets p_wait + p_stop. Masking the stop before sampling
    would give p_i / (1 - p_stop); the test checks it can tell the two apart.
    """
    gen = _stop_heavy_generator(smol_tokenizer, "What is 2+2?", target=0.4)
    from scipy.stats import chisquare

    from s1kit.generation.sampling import Sampler

    sp = SamplingParams(temperature=1.0, seed=1234)
    prompt = gen.render("What is 2+2?")
    ids = gen.tokenizer.encode(prompt)
    p = Sampler(sp, gen.tokenizer.vocab_size).probs(gen.engine.open([ids], sp).logits(0).numpy())
    stops = {s[0] for s in gen.format_ids.stop_seqs}
    p_stop = sum(p[s] for s in stops)
    assert 0.15 < p_stop < 0.9, f"the test needs a sizeable stop probability, got {p_stop:.3f}"
    wait = gen.tokenizer.encode("Wait")[0]

    n = 4000
    budget = Budget(max_thinking_tokens=1, min_thinking_tokens=1, max_answer_tokens=1)
    firsts = []
    for start in range(0, n, 500):
        outs = gen.generate_batch(
            [prompt] * 500, budget, SamplingParams(temperature=1.0, seed=start), rendered=True
        )
        firsts += [c.token_ids[0] for c in outs]
    firsts = np.array(firsts)

    top = [int(i) for i in np.argsort(-p) if int(i) not in stops and int(i) != wait][:8]
    cats = [*top, wait]
    expected_ok = np.array([p[i] for i in top] + [p[wait] + p_stop])
    expected_masked = np.array([p[i] / (1 - p_stop) for i in top] + [p[wait] / (1 - p_stop)])
    observed = np.array([np.sum(firsts == c) for c in cats] + [np.sum(~np.isin(firsts, cats))])
    ok = np.append(expected_ok, 1 - expected_ok.sum()) * n
    masked = np.append(expected_masked, 1 - expected_masked.sum()) * n
    assert chisquare(observed, ok).pvalue > 1e-3
    assert chisquare(observed, masked).pvalue < 1e-6


def test_side_branch_probe_leaves_the_main_sequence_unchanged(gen):
    """A monitor that probes every 4 thinking tokens on a side branch must not change the output."""
    budget = Budget(max_thinking_tokens=24, num_ignore=2, max_answer_tokens=6)
    plain = gen.generate_batch(QUESTIONS, budget)
    probes: list[tuple[int, list[int]]] = []
    stop = gen.format_ids.answer_stops

    def monitor(i, st, session):
        if st.thinking_tokens % 4 == 0:
            forced = list(gen.format_ids.think_end) + gen.tokenizer.encode("Final Answer:")
            probes.append((i, session.branch(i, forced, max_new=5, stop=stop)))

    probed = gen.generate_batch(QUESTIONS, budget, monitor=monitor)
    assert [c.token_ids for c in probed] == [c.token_ids for c in plain]
    assert len(probes) >= len(QUESTIONS) and any(p for _, p in probes)


def test_monitor_can_end_thinking_early(gen):
    def monitor(i, st, session):
        if st.thinking_tokens >= 5:
            st.end_thinking()

    outs = gen.generate_batch(
        QUESTIONS,
        Budget(max_thinking_tokens=40, min_thinking_tokens=40, max_answer_tokens=3),
        monitor=monitor,
    )
    for c in outs:
        assert c.thinking_tokens == 5 and c.forced_end
        assert [e.kind for e in c.events if e.kind != "ignore"] == [
            "early_exit",
            "answer_limit",
        ] or c.finish_reason == "stop"
