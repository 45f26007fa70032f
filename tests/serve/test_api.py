"""`s1kit serve` through the official openai client, on loopback, over a tiny real (random) model."""

from __future__ import annotations

import httpx
import openai
import pytest

from s1kit import Budget

Q = "How many positive divisors does 360 have?"


def chat(client, budget=None, **kw):
    extra = dict(budget or {})
    return client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": Q}], temperature=0, extra_body=extra or None, **kw
    )


def test_plain_chat_has_no_thinking(client, tiny_gen):
    r = chat(client, max_tokens=7)
    msg = r.choices[0].message
    assert msg.reasoning_content is None
    assert r.usage.completion_tokens_details.reasoning_tokens == 0
    assert 0 < r.usage.completion_tokens <= 7
    # the same as the chat template plus greedy decoding in-process (no thinking section)
    prompt = tiny_gen.tokenizer.apply_chat_template([{"role": "user", "content": Q}])
    ids = tiny_gen.tokenizer.encode(prompt)
    assert r.usage.prompt_tokens == len(ids)
    session = tiny_gen.engine.open([ids], None)
    expected = []
    for _ in range(r.usage.completion_tokens):
        t = int(session.logits(0).argmax())
        expected.append(t)
        session.step([t])
    assert msg.content == tiny_gen.tokenizer.decode(expected)


def test_logit_bias_bans_and_forces_tokens_but_not_the_forcing(client, tiny_gen):
    def ids(**kw):
        r = chat(client, {"return_token_ids": True, **kw.pop("extra", {})}, **kw)
        return r, r.choices[0].model_extra["token_ids"]

    _, plain = ids(max_tokens=5)
    _, banned = ids(max_tokens=5, logit_bias={str(plain[0]): -100})
    assert banned[0] != plain[0]
    forced = 17  # an ordinary token of the vocabulary
    r, boosted = ids(max_tokens=4, logit_bias={str(forced): 100}, extra={"max_thinking_tokens": 6})
    assert r.usage.completion_tokens_details.reasoning_tokens == 6  # the cap is still forced
    assert boosted[:6] == [forced] * 6  # every sampled thinking token is the boosted one
    assert any(t != forced for t in boosted[6:])  # the end of thinking and the primer are forced
    for bad in ({"x": 1}, {str(tiny_gen.tokenizer.vocab_size): 1}, {"3": 101}):
        with pytest.raises(openai.BadRequestError, match="logit_bias"):
            chat(client, max_tokens=2, logit_bias=bad)


@pytest.mark.parametrize(
    "budget",
    [
        {"max_thinking_tokens": 24, "num_ignore": 2},
        {"max_thinking_tokens": 40, "min_thinking_tokens": 30},
        {"max_thinking_tokens": 12, "answer_primer": "", "ignore_strings": ["Hmm", "Wait"]},
    ],
)
def test_thinking_chat_equals_in_process(client, tiny_gen, budget):
    r = chat(client, budget, max_tokens=6)
    c = tiny_gen.generate(Q, Budget(max_answer_tokens=6, **budget))
    msg = r.choices[0].message
    assert msg.reasoning_content == c.thinking
    assert msg.content == c.answer
    assert r.usage.completion_tokens_details.reasoning_tokens == c.thinking_tokens
    assert budget.get("min_thinking_tokens", 0) <= c.thinking_tokens <= budget["max_thinking_tokens"]
    assert r.model_extra["s1kit"]["forced_end"] == c.forced_end
    assert r.model_extra["s1kit"]["ignored_stops"] == c.ignored_stops


def test_streaming_matches_the_whole_response(client):
    budget = {"max_thinking_tokens": 30, "num_ignore": 1}
    whole = chat(client, budget, max_tokens=8).choices[0].message
    reasoning, content, finish, extra = "", "", None, None
    for chunk in chat(client, budget, max_tokens=8, stream=True, stream_options={"include_usage": True}):
        if chunk.choices:
            d = chunk.choices[0].delta
            reasoning += getattr(d, "reasoning_content", None) or ""
            content += d.content or ""
            finish = chunk.choices[0].finish_reason or finish
            extra = (chunk.model_extra or {}).get("s1kit") or extra
        else:
            assert chunk.usage.completion_tokens_details.reasoning_tokens <= 30
    assert (reasoning, content) == (whole.reasoning_content, whole.content)
    assert finish in ("stop", "length") and extra["ignored_stops"] >= 0


def test_raw_completion_with_token_ids_and_stop_string(client, tiny_gen):
    for q in [Q, "What is 2+2?", "Name a prime.", "Why?", "Tell me a story."]:
        ids = tiny_gen.tokenizer.encode(tiny_gen.render(q))
        free = client.completions.create(
            model="tiny", prompt=ids, max_tokens=12, temperature=0, extra_body={"return_token_ids": True}
        )
        got = free.choices[0].model_extra["token_ids"]
        if free.choices[0].finish_reason == "length":
            break
    assert len(got) == 12, "no prompt ran to the length limit"
    assert free.choices[0].text == tiny_gen.tokenizer.decode(got)
    stop = tiny_gen.tokenizer.decode(got[5:7])  # a string the model really writes
    cut = client.completions.create(model="tiny", prompt=ids, max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == free.choices[0].text[: free.choices[0].text.find(stop)]
    streamed = client.completions.create(
        model="tiny", prompt=ids, max_tokens=12, temperature=0, stop=[stop], stream=True
    )
    assert "".join(ch.choices[0].text for ch in streamed if ch.choices) == cut.choices[0].text


def test_models_and_health(server, client):
    models = client.models.list().data
    assert [m.id for m in models] == ["tiny"] and models[0].model_extra["max_model_len"] == 1024
    h = httpx.get(server[0] + "/health").json()
    assert h["status"] == "ok" and h["capacity"] == 8


def test_api_key(tiny_gen):
    from tests.serve.conftest import running

    from s1kit.serving import ServerConfig, create_app

    with running(create_app(tiny_gen, ServerConfig(api_key="s3cret"))) as url:
        bad = openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as e:
            bad.models.list()
        assert e.value.status_code == 401 and "API key" in e.value.message
        r = httpx.post(url + "/v1/completions", json={"model": "tiny", "prompt": "hi"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        good = openai.OpenAI(base_url=url + "/v1", api_key="s3cret", max_retries=0)
        assert good.completions.create(model="tiny", prompt="hi", max_tokens=2).usage.completion_tokens >= 1


def test_requests_joining_a_running_batch_get_the_in_process_result(client, tiny_gen, server):
    """Rows join and leave the running batch at different steps (continuous batching); greedy
    results still equal one-at-a-time in-process generation."""
    import threading
    import time

    questions = ["What is 2+2?", "Name a prime.", "Why?", Q, "Tell me a story.", "Count to five."]
    budgets = [
        {"max_thinking_tokens": 10 + 7 * i, "min_thinking_tokens": 3 * i, "num_ignore": i % 3}
        for i in range(6)
    ]
    got: dict[int, tuple[str, str]] = {}
    joins = server[1].state.scheduler.joins

    def one(i):
        time.sleep(0.03 * i)
        m = chat_q(client, questions[i], budgets[i]).choices[0].message
        got[i] = (m.reasoning_content or "", m.content)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, q in enumerate(questions):
        c = tiny_gen.generate(q, Budget(max_answer_tokens=5, **budgets[i]))
        assert got[i] == (c.thinking, c.answer), i
    assert server[1].state.scheduler.joins > joins  # some rows joined a batch that was decoding


def chat_q(client, q, budget):
    return client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": q}],
        temperature=0,
        max_tokens=5,
        extra_body=budget,
    )


def test_llamacpp_backend_serves_the_embedded_model(embedded_llamacpp):
    """The real embedded model on llama.cpp (one sequence at a time) behind the same API."""
    from openai import OpenAI
    from tests.serve.conftest import running

    from s1kit.generation.generator import Generator
    from s1kit.serving import ServerConfig, create_app

    gen = Generator(embedded_llamacpp, "r1")
    budget = {"max_thinking_tokens": 16, "min_thinking_tokens": 12}
    with running(create_app(gen, ServerConfig())) as url:
        c = OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        r = c.chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": "What is 2+3?"}],
            temperature=0,
            max_tokens=6,
            extra_body=budget,
        )
    local = gen.generate("What is 2+3?", Budget(max_answer_tokens=6, **budget))
    assert (r.choices[0].message.reasoning_content, r.choices[0].message.content) == (
        local.thinking,
        local.answer,
    )
    assert 12 <= r.usage.completion_tokens_details.reasoning_tokens <= 16


def test_cli_serve_binds_loopback_and_requires_the_key(tmp_path):
    """`s1kit serve` as a user runs it: a subprocess on a free loopback port, with an API key."""
    import os
    import socket
    import subprocess
    import sys
    import time

    pytest.importorskip("llama_cpp")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": "src", "S1KIT_API_KEY": "k3y"}
    cmd = [
        sys.executable,
        "-m",
        "s1kit.cli",
        "serve",
        "--model",
        "default",
        "--backend",
        "llamacpp",
        "--port",
        str(port),
        "--n-ctx",
        "1024",
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None and time.time() < deadline, "s1kit serve did not start"
                time.sleep(0.3)
        assert httpx.get(url + "/v1/models").status_code == 401
        card = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer k3y"}).json()["data"][0]
        assert card["max_model_len"] == 1024 and card["root"].endswith(".gguf")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"127.0.0.1:{port}" in out
    bad = subprocess.run(
        [*cmd[:-6], "--max-batch", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "--max-batch=0 is invalid" in bad.stderr
