"""`s1kit serve` on llama.cpp: requests join and leave one running batch (continuous batching)."""

from __future__ import annotations

import threading
import time

from tests.engines.conftest import QUESTIONS

from s1kit import Budget
from s1kit.generation.generator import Generator


def test_llamacpp_server_batches_requests_and_matches_in_process(batched_llamacpp):
    import httpx
    from openai import OpenAI
    from tests.serve.conftest import running

    from s1kit.serving import ServerConfig, create_app

    gen = Generator(batched_llamacpp, "r1")
    budgets = [
        {"max_thinking_tokens": 8 + 6 * i, "min_thinking_tokens": 2 * i, "num_ignore": i % 3}
        for i in range(6)
    ]
    local = [
        gen.generate(q, Budget(max_answer_tokens=6, **b)) for q, b in zip(QUESTIONS, budgets, strict=True)
    ]
    got: dict[int, tuple[str, str]] = {}
    app = create_app(gen, ServerConfig(max_batch=4))
    with running(app) as url:
        health = httpx.get(url + "/health").json()
        client = OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=120)

        def one(i):
            time.sleep(0.05 * i)
            m = client.chat.completions.create(
                model="default",
                messages=[{"role": "user", "content": QUESTIONS[i]}],
                temperature=0,
                max_tokens=6,
                extra_body=budgets[i],
            )
            got[i] = (m.choices[0].message.reasoning_content or "", m.choices[0].message.content)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert health["capacity"] == 4 and health["active"] == 0
    for i, c in enumerate(local):
        assert got[i] == (c.thinking, c.answer), i
    assert app.state.scheduler.joins > 0  # some requests joined a batch that was decoding
