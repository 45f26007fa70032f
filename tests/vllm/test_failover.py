"""Sweeps over several servers: a server that dies mid-run loses and duplicates nothing.

Fast tier: real loopback HTTP shards in front of one ``s1kit serve`` app over the tiny model; a shard
"dies" by dropping what it has in flight and closing its port. The slow tier (test_sharded.py) kills
a real ``s1kit serve`` process.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from s1kit import Budget
from s1kit.backends.openai import OpenAIEngine
from s1kit.errors import S1kitError
from s1kit.generation.generator import Generator

QUESTIONS = ["What is 2+2?", "How many positive divisors does 360 have?", "Name a prime.", "Why?"]
BUDGET = Budget(max_thinking_tokens=24, num_ignore=2, max_answer_tokens=8)


class Shard:
    """A loopback forwarder standing for one server; after ``die_after`` requests it dies: the request
    in flight gets no answer and the port is closed (connections refused from then on)."""

    def __init__(self, upstream: str, die_after: int | None = None) -> None:
        self.upstream, self.die_after = upstream, die_after
        self.count, self.dead, self.lock = 0, False, threading.Lock()
        shard = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                self._forward(self.rfile.read(int(self.headers.get("content-length", 0))))

            def _forward(self, body):
                with shard.lock:
                    shard.count += 1
                    dying = shard.die_after is not None and shard.count > shard.die_after
                if shard.dead or dying:
                    shard.kill()
                    self.close_connection = True
                    return  # no answer at all: the client sees the connection drop
                with httpx.Client(timeout=60) as c:
                    r = c.request(self.command, shard.upstream + self.path, content=body,
                                  headers={"content-type": "application/json"})  # fmt: skip
                self.send_response(r.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def kill(self) -> None:
        with self.lock:
            if self.dead:
                return
            self.dead = True
        threading.Thread(target=self._stop, daemon=True).start()

    def _stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tiny_gen(tiny_engine):
    return Generator(tiny_engine, "s1")


@pytest.fixture(scope="module")
def server(tiny_gen):
    from tests.serve.conftest import running

    from s1kit.serving import ServerConfig, create_app

    app = create_app(tiny_gen, ServerConfig(max_batch=8, max_tokens_cap=512, max_body_bytes=64 * 1024))
    with running(app) as url:
        yield url


def engine_over(urls, tokenizer):
    return OpenAIEngine.from_spec(
        ",".join(urls), tokenizer=tokenizer, server_model="tiny", n_ctx=1024, backoff=0.01
    )


def test_a_server_dying_mid_batch_is_failed_over(server, tiny_gen):
    local = tiny_gen.generate_batch(QUESTIONS, BUDGET)
    a, b = Shard(server, die_after=6), Shard(server)
    engine = engine_over([a.url, b.url], tiny_gen.tokenizer)
    out = Generator(engine, "s1").generate_batch(QUESTIONS, BUDGET)
    assert a.dead
    assert [c.token_ids for c in out] == [c.token_ids for c in local]
    report = engine.server_report()
    sa, sb = report["servers"]
    assert sa["failures"] >= 1 and sa["state"] == "down" and sa["last_error"]
    assert sb["requests"] > sa["requests"] and sb["failures"] == 0
    assert report["completion_tokens"] == sa["completion_tokens"] + sb["completion_tokens"] > 0


def test_a_server_down_at_start_is_set_aside(server, tiny_gen):
    dead = f"http://127.0.0.1:{_closed_port()}"
    engine = engine_over([dead, server], tiny_gen.tokenizer)
    out = Generator(engine, "s1").generate(QUESTIONS[0], BUDGET)
    assert out.token_ids == tiny_gen.generate(QUESTIONS[0], BUDGET).token_ids
    assert engine.server_report()["servers"][0]["requests"] == 0
    with pytest.raises(S1kitError, match="cannot reach any of the servers"):
        engine_over([dead, dead], tiny_gen.tokenizer)


def test_a_sharded_sweep_with_a_dying_server_writes_every_record_once(server, tiny_gen, tmp_path):
    from s1kit.evaluation import EvalConfig, run_eval

    cfg = EvalConfig(task="gsm8k", model="tiny", budgets=(16, 32), num_ignore=(1,), limit=4, max_answer_tokens=8,
                     batch_size=4, mode="rounds")  # fmt: skip
    run_eval(cfg, tmp_path / "local", generator=tiny_gen)
    a, b = Shard(server, die_after=10), Shard(server)
    gen = Generator(engine_over([a.url, b.url], tiny_gen.tokenizer), "s1")
    run_eval(cfg, tmp_path / "sharded", generator=gen)
    assert a.dead

    def records(name):
        lines = (tmp_path / name / "records.jsonl").read_text().splitlines()
        recs = [json.loads(x) for x in lines]
        return {
            r["key"]: (
                r["thinking"],
                r["answer"],
                r["thinking_tokens"],
                r["answer_tokens"],
                r["events"],
                r["correct"],
            )
            for r in recs
        }, len(recs)

    (want, n_want), (got, n_got) = records("local"), records("sharded")
    assert n_got == len(got) == n_want == 8  # no duplicates, nothing lost
    assert got == want
    sessions = json.loads((tmp_path / "sharded" / "servers.json").read_text())["sessions"]
    servers = sessions[-1]["servers"]
    assert [s["url"] for s in servers] == [a.url, b.url]
    assert servers[0]["failures"] >= 1 and servers[1]["tokens_per_s"] > 0


def test_servers_serving_different_models_are_refused(server, tiny_gen, tiny_engine, smol_tokenizer):
    from tests.serve.conftest import running

    from s1kit.backends.hf import HFEngine
    from s1kit.serving import ServerConfig, create_app

    another = HFEngine.from_objects(tiny_engine.model, smol_tokenizer, model_name="another")
    other = create_app(Generator(another, "s1"), ServerConfig(max_batch=2))
    with running(other) as url2, pytest.raises(S1kitError, match="serve different models"):
        OpenAIEngine.from_spec(f"{server},{url2}", tokenizer=tiny_gen.tokenizer)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
