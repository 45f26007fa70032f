"""A real s1kit server on loopback (uvicorn in a thread, a free port), over the tiny test model."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import pytest

from s1kit.generation.generator import Generator


@contextmanager
def running(app):
    """Serve ``app`` on 127.0.0.1 with a free port; yields the base URL."""
    import uvicorn

    from s1kit.serving.guard import uvicorn_config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn_config(
            app,
            read_timeout=app.state.config.read_timeout,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def tiny_gen(tiny_engine):
    return Generator(tiny_engine, "s1")


@pytest.fixture(scope="module")
def server(tiny_gen):
    """(base URL, app) of a server over the tiny model, batching up to 8 sequences."""
    from s1kit.serving import ServerConfig, create_app

    app = create_app(tiny_gen, ServerConfig(max_batch=8, max_tokens_cap=512, max_body_bytes=64 * 1024))
    with running(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server[0] + "/v1", api_key="unused", max_retries=0, timeout=60)
