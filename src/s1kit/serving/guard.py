"""What stands between the network and the app: host and origin checks, CORS, and read deadlines.

:class:`Guard` is an ASGI middleware. A request whose ``Host`` is not one the server answers to is refused
(a DNS-rebinding page reaches the server under its own name), and so is a browser request from another
origin unless ``--cors-origin`` allows it (then it gets CORS headers and preflights are answered). With
no API key, these are what keep a web page the user visits from using a local server.

:func:`protocol` is uvicorn's h11 protocol with a read deadline: a client has ``read_timeout`` seconds
from its first byte (or from connecting) to send a whole request, headers and body; past it the
connection gets a 408 and is closed. Slow or half-open clients cannot hold the server's connections.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_name(value: str) -> str:
    """``"[::1]:8000"`` -> ``"::1"``, ``"Example.com:80"`` -> ``"example.com"``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _body(status: int, message: str, code: str) -> bytes:
    kind = "invalid_request_error"
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


class Guard:
    """ASGI middleware: refuse unknown ``Host`` values and foreign origins; answer CORS preflights.

    ``allowed_hosts``: host names (no port) the server answers to; ``"*"`` among them allows any.
    ``cors_origins``: origins (``scheme://host[:port]``) whose pages may call the API; ``"*"`` allows any.
    A same-origin request (its ``Origin`` names the host it was sent to) is always allowed.
    """

    def __init__(self, app: Any, *, allowed_hosts: Iterable[str], cors_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.origins = frozenset(o.strip().rstrip("/").lower() for o in cors_origins)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for k, v in scope["headers"]:
            headers.setdefault(k, v)
        host = headers.get(b"host", b"").decode("latin-1")
        if "*" not in self.hosts and host_name(host) not in self.hosts:
            shown = host[:100] or "(none)"
            await _refuse(
                send,
                421,
                f"Host {shown!r} is not served here: expected one of {sorted(self.hosts)} "
                "(start the server with --allowed-hosts to add names)",
                "host_not_allowed",
            )
            return
        origin = headers.get(b"origin", b"").decode("latin-1").strip().rstrip("/").lower()
        if not origin:
            await self.app(scope, receive, send)
            return
        listed = "*" in self.origins or origin in self.origins
        if not listed and not _same_origin(origin, host):
            await _refuse(
                send,
                403,
                f"cross-origin request from {origin[:100]!r} refused (allow it with --cors-origin)",
                "origin_not_allowed",
            )
            return
        if not listed:
            await self.app(scope, receive, send)
            return
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *cors,
                        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                        (b"access-control-allow-headers", b"authorization, content-type"),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, send_cors)


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == host.strip().lower()


async def _refuse(send: Any, status: int, message: str, code: str) -> None:
    body = _body(status, message, code)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def protocol(read_timeout: float) -> type:
    """uvicorn's h11 protocol class with a whole-request read deadline of ``read_timeout`` seconds."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    timeout_body = _body(408, f"the request was not received within {read_timeout:g} s", "request_timeout")
    response = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"content-length: " + str(len(timeout_body)).encode() + b"\r\n\r\n" + timeout_body
    )

    class DeadlineH11Protocol(H11Protocol):
        _deadline: Any = None

        def _reading(self) -> bool:
            """A request is being read: it started (or the connection is new) and its body is not all in."""
            cycle = self.cycle
            return cycle is None or cycle.response_complete or cycle.more_body

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(read_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport is None or self.transport.is_closing() or not self._reading():
                return
            log.info("closing a connection that sent no complete request within %gs", read_timeout)
            if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
                self.transport.write(response)  # the app then sees a disconnect and its reply goes nowhere
            self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._reading():
                self._arm()
            super().data_received(data)
            if not self._reading() or (self.transport is not None and self.transport.is_closing()):
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()  # the keep-alive timeout takes over until the next request's first byte

        def send_400_response(self, msg: str) -> None:
            """A request h11 cannot parse (garbage, oversized headers): an OpenAI-style 400, then close."""
            if self.transport is None or self.transport.is_closing():
                return
            body = _body(400, f"malformed HTTP request: {msg}", "bad_http_request")
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return DeadlineH11Protocol


def open_file_limit(want: int = 65536) -> int:
    """Raise this process's open-file limit towards ``want`` (within the hard limit); returns the limit.
    Each client connection holds a file descriptor: a low limit refuses connections under load."""
    try:
        import resource
    except ImportError:  # not POSIX
        return want
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return want if soft == resource.RLIM_INFINITY else soft


def uvicorn_config(app: Any, *, read_timeout: float, max_connections: int = 8192, **kw: Any) -> Any:
    """A ``uvicorn.Config`` serving ``app`` with the read deadline and room for many held connections.

    uvicorn answers 503 to every new request once ``limit_concurrency`` connections are open, idle ones
    included; it is set to ``max_connections`` (bounded by the open-file limit, which is raised first),
    so a few hundred slow clients, which the read deadline then drops, never lock ``/health`` out.
    """
    import uvicorn

    files = open_file_limit()
    kw.setdefault("timeout_keep_alive", 5)
    return uvicorn.Config(
        app,
        http=protocol(read_timeout),
        limit_concurrency=max(64, min(max_connections, files - 64)),
        **kw,
    )
