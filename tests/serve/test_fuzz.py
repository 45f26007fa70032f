"""A fuzz of malformed and hostile requests across every endpoint: never a 5xx, every error body
OpenAI-style, and the server alive with ``/health`` fast throughout (a poller measures it meanwhile)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time

import httpx
import pytest

from .test_reliability import hostile_requests

CHAT, TEXT = "/v1/chat/completions", "/v1/completions"
OK_CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
OK_TEXT = {"model": "tiny", "prompt": "2+2=", "max_tokens": 2}
JSON = {"content-type": "application/json"}
SURROGATE = "\ud800"


def _j(obj) -> bytes:
    return json.dumps(obj).encode()  # ensure_ascii: a lone surrogate is written as \ud800


def surrogate_cases():
    s = SURROGATE
    chat = [
        {"messages": [{"role": "user", "content": f"Hi {s} there"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": f"a{s}"}]}]},
        {"messages": [{"role": "system", "content": "\udfff"}, {"role": "user", "content": "hi"}]},
        {"messages": [{"role": f"user{s}", "content": "hi"}]},
        {"model": f"tiny{s}"},
        {"stop": f"x{s}"},
        {"stop": ["ok", f"{s}"]},
        {"ignore_strings": [f"Wait{s}"]},
        {"answer_primer": f"Final{s}"},
        {"reasoning_format": f"s1{s}"},
        {"budget_message": f"time{s}"},
        {f"key{s}": 1},
        {"user": "\ud83d"},  # an unknown field: still text the server reads
    ]
    out = [("POST", CHAT, _j({**OK_CHAT, **f}), JSON) for f in chat]
    for f in [
        {"prompt": f"2+2={s}"},
        {"prompt": ["\ud83d"]},
        {"prompt": "ok", "stop": [s]},
        {"prompt": "\udc00"},
    ]:
        out.append(("POST", TEXT, _j({**OK_TEXT, **f}), JSON))
    return out


def header_cases(port: int):
    out = []
    for path in (CHAT, TEXT):
        body = _j(OK_CHAT if path == CHAT else OK_TEXT)
        for ctype in (
            None,
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "text/json",
        ):
            out.append(("POST", path, body, {} if ctype is None else {"content-type": ctype}))
        # DNS rebinding: the page's own name in Host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil"):
            out.append(("POST", path, body, {**JSON, "host": host}))
        # another site's page
        for origin in ("http://evil.example", "null", f"https://127.0.0.1:{port + 1}"):
            out.append(("POST", path, body, {**JSON, "origin": origin}))
        out.append(
            (
                "OPTIONS",
                path,
                None,
                {"origin": "http://evil.example", "access-control-request-method": "POST"},
            )
        )
    for path in ("/health", "/v1/models"):
        out.append(("GET", path, None, {"host": "evil.example"}))
        out.append(("GET", path, None, {"origin": "http://evil.example"}))
    return out


def api_cases():
    out = []
    for f in [
        {"logprobs": True},
        {"top_logprobs": 5},
        {"logprobs": True, "top_logprobs": 2},
        {"logprobs": "yes"},
        {"temperature": float("nan")},
        {"temperature": float("inf")},
        {"top_p": float("nan")},
        {"max_tokens": 10**30},
        {"max_thinking_tokens": 10**30},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}] * 65}]},
        {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        {"messages": [{"role": "user", "content": None}]},
        {"messages": [{"role": "user", "content": {"text": "hi"}}]},
        {"messages": [None]},
        {"stream_options": "yes"},
        {"stop_token_ids": [-1]},
        {"stop_token_ids": ["a"]},
    ]:
        out.append(("POST", CHAT, _j({**OK_CHAT, **f}), JSON))
    for f in [
        {"prompt": [-1]},
        {"prompt": [10**7]},
        {"prompt": [1.5]},
        {"prompt": [[-1]]},
        {"prompt": [True]},
        {"prompt": {"a": 1}},
        {"prompt": None},
        {"prompt": [[1, 2], "x"]},
        {"prompt": "hi", "logprobs": 1},
        {"prompt": "hi", "max_tokens": 0},
    ]:
        out.append(("POST", TEXT, _j({**OK_TEXT, **f}), JSON))
    body = b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "a": 1, "a": ' + b"[" * 900
    out.append(("POST", CHAT, body, JSON))
    out.append(
        ("POST", CHAT, b'{"model": "tiny", "messages": [{"role": "user", "content": "\\ud800"}]}', JSON)
    )
    out.append(("POST", CHAT, b"{'model': 'tiny'}", JSON))
    out.append(("POST", CHAT, b"\xef\xbb\xbf" + _j(OK_CHAT)[:-1], JSON))
    return out


def route_cases():
    out = []
    for path in ("/health", "/v1/models", CHAT, TEXT):
        for method in ("PUT", "PATCH", "DELETE"):
            out.append((method, path, None, {}))
    out += [
        ("GET", "/health/", None, {}),
        ("POST", CHAT + "/", _j(OK_CHAT), JSON),  # no slash redirect (its Location would echo Host)
        ("GET", "/v1/models/", None, {}),
        ("GET", "/%2e%2e/%2e%2e/etc/passwd", None, {}),
        ("GET", "/" + "a" * 4000, None, {}),
        ("GET", "/v1/models/../../etc/passwd", None, {}),
        ("POST", "/v1/embeddings", _j({"model": "tiny", "input": "x"}), JSON),
        ("GET", "/docs", None, {}),
        ("GET", "/openapi.json", None, {}),
        ("POST", "/v1/chat/completions%00", _j(OK_CHAT), JSON),
    ]
    return out


def raw_cases(port: int):
    host = f"127.0.0.1:{port}".encode()
    body = _j(OK_CHAT)
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n"
    return [
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        head + b"Content-Length: -5\r\n\r\n",
        head + b"Content-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
        head + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\nzz\r\n",
        head + b"Transfer-Encoding: chunked\r\n\r\nnothex\r\n",
        head + b"Content-Length: 9999999999999999999999\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\nBad\x00Header: x\r\n\r\n",
        b"GET /health\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",  # no Host at all
        head.replace(b"application/json", b"text/plain")
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
        b"POST /v1/completions HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: 3\r\nConnection: close\r\n\r\n\xff\xfe\x00",
    ]


def _raw(port: int, data: bytes) -> tuple[int, bytes, dict[str, str]]:
    """Send raw bytes; the first response's status, body (by its content-length) and headers."""
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with contextlib.suppress(OSError):  # the server may refuse before reading everything
            s.sendall(data)
        while True:
            head, sep, rest = reply.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
            try:
                c = s.recv(65536)
            except OSError:
                break
            if not c:
                break
            reply += c
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(b"HTTP/") else 0
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (x.decode("latin-1").partition(":") for x in lines[1:])
    }
    m = re.search(r"\d+", headers.get("content-length", ""))
    return status, body[: int(m.group())] if m else body, headers


def _openai_error(status: int, body: bytes, ctx) -> None:
    assert 400 <= status < 500, (status, ctx, body[:200])
    err = json.loads(body)["error"]
    assert isinstance(err["message"], str) and err["message"], ctx
    assert isinstance(err["type"], str) and err["type"], ctx
    assert "param" in err and "code" in err, ctx


def warm_up(url: str, app) -> None:
    """First requests compile templates and schemas, and the vocabulary scan runs once after start."""
    from s1kit.serving.prompts import max_token_bytes

    for path, body in ((CHAT, OK_CHAT), (TEXT, OK_TEXT), (CHAT, {**OK_CHAT, "model": "x"})):
        httpx.post(url + path, content=_j(body), headers=JSON, timeout=30)
    tok = app.state.scheduler.tokenizer
    deadline = time.monotonic() + 30
    while max_token_bytes(tok) is None and time.monotonic() < deadline:
        time.sleep(0.05)


class HealthPoller:
    """Polls /health every 50 ms in a thread; keeps the latencies and any failure."""

    def __init__(self, url: str) -> None:
        self.url, self.latencies, self.failures = url, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    ok = http.get(self.url + "/health").json()["status"] == "ok"
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    ok, self.failures = False, [*self.failures, repr(e)]
                self.latencies.append(time.perf_counter() - t)
                if not ok and not self.failures:
                    self.failures.append("not ok")
                self._stop.wait(0.05)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_fuzz_every_endpoint_no_5xx_openai_errors_health_fast(server, client):
    url = server[0]
    port = int(url.rsplit(":", 1)[1])
    cases = hostile_requests() + surrogate_cases() + header_cases(port) + api_cases() + route_cases()
    raws = raw_cases(port)
    assert len(cases) + len(raws) >= 150
    warm_up(url, server[1])
    with HealthPoller(url) as health, httpx.Client(base_url=url, timeout=30) as http:
        for method, path, body, headers in cases:
            if "content-type" not in headers and method == "POST" and path in (CHAT, TEXT) and body is None:
                headers = JSON
            r = http.request(method, path, content=body, headers=headers)
            ctx = (method, path, (body or b"")[-120:], headers)
            _openai_error(r.status_code, r.content, ctx)
            assert "location" not in r.headers, ctx
        for data in raws:
            status, body, _ = _raw(port, data)
            _openai_error(status, body, data[:80])
        # the server still answers a normal request, in the same connection pool
        r = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
        assert r.usage.completion_tokens >= 1
    assert health.failures == []
    lat = sorted(health.latencies)
    print(
        f"\nfuzz: {len(cases) + len(raws)} hostile requests, 0 x 5xx; /health polled {len(lat)} times: "
        f"median {1000 * lat[len(lat) // 2]:.1f} ms, p95 {1000 * lat[int(0.95 * (len(lat) - 1))]:.1f} ms, "
        f"max {1000 * lat[-1]:.1f} ms"
    )
    # p95 under 100 ms; the slowest probe, on a shared 2-core machine with the client in the same
    # process as the server, only has to show the server never stalled
    p95 = lat[int(0.95 * (len(lat) - 1))]
    assert len(lat) >= 5 and p95 < 0.1 and lat[-1] < 1.0, (
        f"/health p95 {1000 * p95:.0f} ms, max {1000 * lat[-1]:.0f}"
    )


def test_specific_answers(server):
    url = server[0]
    port = int(url.rsplit(":", 1)[1])
    post = lambda path, body, **h: httpx.post(url + path, content=_j(body), headers={**JSON, **h})  # noqa: E731
    r = post(CHAT, {**OK_CHAT, "messages": [{"role": "user", "content": "Hi \ud800 there"}]})
    assert r.status_code == 400 and "surrogate" in r.json()["error"]["message"]
    assert r.json()["error"]["param"] == "messages"
    r = post(TEXT, {**OK_TEXT, "prompt": [-1]})
    assert r.status_code == 400 and "[0, 49152)" in r.json()["error"]["message"], r.text
    r = post(CHAT, {**OK_CHAT, "logprobs": True})
    assert r.status_code == 400 and r.json()["error"]["param"] == "logprobs"
    r = httpx.post(url + CHAT, content=_j(OK_CHAT), headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = post(CHAT, OK_CHAT, host="evil.example")
    assert r.status_code == 421 and r.json()["error"]["code"] == "host_not_allowed"
    r = post(CHAT, OK_CHAT, origin="http://evil.example")
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = post(CHAT, OK_CHAT, origin=f"http://127.0.0.1:{port}")  # the server's own page: same origin
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = httpx.post(url + CHAT + "/", content=_j(OK_CHAT), headers=JSON)
    assert r.status_code == 404 and "location" not in r.headers


def test_valid_but_odd_requests_succeed(server):
    url = server[0]
    for extra in ({"seed": 2**80}, {"seed": -(2**80)}):  # any integer seeds (reduced, as vLLM does)
        r = httpx.post(url + CHAT, content=_j({**OK_CHAT, **extra}), headers=JSON)
        assert r.status_code == 200, r.text
    for content in (
        "\u0000nul",
        "\u202eRTL override",
        "emoji \U0001f600 \ufeff",
        "<|im_end|>" * 20,
        "x\r\n" * 50,
    ):
        r = httpx.post(
            url + CHAT,
            content=_j({**OK_CHAT, "messages": [{"role": "user", "content": content}]}),
            headers=JSON,
        )
        assert r.status_code == 200, (content, r.text)
    r = httpx.post(url + TEXT, content=_j({**OK_TEXT, "prompt": [1, 2, 3]}), headers=JSON)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def cors_server(tiny_gen):
    from s1kit.serving import ServerConfig, create_app

    from .conftest import running

    app = create_app(tiny_gen, ServerConfig(max_tokens_cap=64, cors_origins=("https://app.example",)))
    with running(app) as url:
        yield url


def test_cors_origin_allowed_gets_headers_and_preflight(cors_server):
    url = cors_server
    pre = httpx.options(
        url + CHAT,
        headers={"origin": "https://app.example", "access-control-request-method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://app.example"
    r = httpx.post(url + CHAT, content=_j(OK_CHAT), headers={**JSON, "origin": "https://app.example"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
    r = httpx.post(url + CHAT, content=_j(OK_CHAT), headers={**JSON, "origin": "https://other.example"})
    assert r.status_code == 403
