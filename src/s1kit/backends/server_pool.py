"""Several OpenAI-compatible servers behind one client: balancing, failover and per-server throughput.

Requests go to the least-loaded server that is up, ties broken by a hash of the prompt's start so that
one sequence's "Wait" rounds tend to reach the server that already caches its prefix. A server that
refuses a connection, drops one, times out or answers 502/503/504 is set aside for a cooldown (1 s,
doubling to 30 s while it keeps failing) and the request is retried at once on another server; only when
every server is set aside does a retry wait. A round carries its whole context (prompt and tokens so
far), so any server can take it over: a server that dies mid-sweep loses nothing and duplicates nothing.
After the cooldown a server gets real traffic again and rejoins if it answers.

Example:
    >>> pool = ServerPool(["http://127.0.0.1:8000", "http://127.0.0.1:8001"])  # doctest: +SKIP
    >>> idx, response = pool.send("/v1/completions", body, key=b"prompt start")  # doctest: +SKIP
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from s1kit.errors import S1kitError

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DOWN_STATUS = frozenset({502, 503, 504})  # the server (or its proxy) is gone, not just busy


@dataclass
class ServerStats:
    url: str
    requests: int = 0  # answered (any final status)
    failures: int = 0  # attempts that failed here and were retried elsewhere or later
    completion_tokens: int = 0
    busy_s: float = 0.0  # summed request latency
    last_error: str | None = None
    down_until: float = 0.0  # set aside until then
    streak: int = 0  # consecutive failures
    failed_at: float = 0.0  # monotonic time of the last failure

    def to_dict(self, wall_s: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "requests": self.requests,
            "failures": self.failures,
            "completion_tokens": self.completion_tokens,
            "tokens_per_s": round(self.completion_tokens / wall_s, 3) if wall_s > 0 else 0.0,
            "busy_s": round(self.busy_s, 3),
            "state": "down" if self.streak else "up",  # down: its last attempt failed
            "last_error": self.last_error,
        }


class ServerPool:
    """Thread-safe; at most ``max_in_flight`` requests are open at once across all servers."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        api_key: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_in_flight: int = 64,
        cooldown: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        if not urls:
            raise S1kitError("the openai backend needs at least one server URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.max_retries = max_retries
        self.backoff = backoff
        self.cooldown = cooldown
        self.requests_sent = 0  # every HTTP attempt, retries included
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), limits=limits)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._in_flight = [0] * len(self.urls)
        self.stats = [ServerStats(u) for u in self.urls]
        self.started = time.monotonic()

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        path: str,
        body: dict[str, Any] | Callable[[], dict[str, Any]],
        *,
        key: bytes = b"",
        final: Callable[[httpx.Response], bool] | None = None,
    ) -> tuple[int, httpx.Response]:
        """POST ``body`` to ``path`` on one server, failing over until a final answer.

        A response is final when ``final(response)`` is true, else when its status is not one to retry
        (a 200 must carry JSON). ``body`` may be a function, called per attempt. Returns the index of
        the server that answered and its response.
        """
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt and not self._any_up():
                time.sleep(min(30.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random()))
            idx = self._pick(key)
            t0 = time.monotonic()
            try:
                with self._slots:
                    self.requests_sent += 1
                    r = self.http.post(f"{self.urls[idx]}{path}", json=body() if callable(body) else body)
            except httpx.TransportError as e:  # refused, reset, timed out, cut mid-body
                last = f"{type(e).__name__} from {self.urls[idx]}: {e}"
                self._failed(idx, last, down=True)
                continue
            finally:
                with self._lock:
                    self._in_flight[idx] -= 1
            if (final is not None and final(r)) or r.status_code not in RETRY_STATUS:
                if r.status_code == 200 and not _is_json(r):
                    last = f"a response that is not JSON from {self.urls[idx]}"
                    self._failed(idx, last, down=False)
                    continue
                self._answered(idx, t0)
                return idx, r
            last = f"HTTP {r.status_code} from {self.urls[idx]}: {error_message(r)}"
            self._failed(idx, last, down=r.status_code in DOWN_STATUS)
        raise S1kitError(f"request failed after {self.max_retries + 1} attempts; last: {last}")

    def count(self, idx: int, completion_tokens: int) -> None:
        with self._lock:
            self.stats[idx].completion_tokens += completion_tokens

    def report(self) -> dict[str, Any]:
        """Per-server requests, failures, tokens and tokens/s over this client's lifetime."""
        wall = time.monotonic() - self.started
        with self._lock:
            servers = [s.to_dict(wall) for s in self.stats]
        total = sum(s["completion_tokens"] for s in servers)
        return {
            "wall_s": round(wall, 3),
            "completion_tokens": total,
            "tokens_per_s": round(total / wall, 3) if wall > 0 else 0.0,
            "requests_sent": self.requests_sent,
            "servers": servers,
        }

    # -- health ---------------------------------------------------------------------------------------
    def mark_down(self, idx: int, why: str) -> None:
        """Set a server aside (it could not be reached when the client started)."""
        self._failed(idx, why, down=True)

    def _any_up(self) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(s.down_until <= now for s in self.stats)

    def _failed(self, idx: int, why: str, *, down: bool) -> None:
        with self._lock:
            s = self.stats[idx]
            s.failures += 1
            s.last_error = why[:300]
            if down:
                s.streak += 1
                lo, hi = self.cooldown
                s.failed_at = time.monotonic()
                s.down_until = s.failed_at + min(hi, lo * 2 ** (s.streak - 1))

    def _answered(self, idx: int, started: float) -> None:
        with self._lock:
            s = self.stats[idx]
            s.requests += 1
            s.busy_s += time.monotonic() - started
            if started > s.failed_at:  # an answer to a request sent before a failure proves nothing
                s.streak = 0
                s.down_until = 0.0

    def _pick(self, key: bytes) -> int:
        """The least-loaded server that is up (all down: the one back soonest); among equals, the one
        ``key`` hashes to."""
        n = len(self.urls)
        home = zlib.crc32(key) % n
        now = time.monotonic()
        with self._lock:
            up = [i for i in range(n) if self.stats[i].down_until <= now]
            if up:
                idx = min(up, key=lambda i: (self._in_flight[i], (i - home) % n))
            else:
                idx = min(range(n), key=lambda i: self.stats[i].down_until)
            self._in_flight[idx] += 1
        return idx


def _is_json(r: httpx.Response) -> bool:
    try:
        r.json()
    except ValueError:
        return False
    return True


def error_message(r: httpx.Response) -> str:
    """The error text of a server's answer, on one line."""
    try:
        err = r.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err or r.json().get("detail")
    except (ValueError, AttributeError):
        msg = None
    text = str(msg) if msg else r.text
    return " ".join(text.split())[:300] or r.reason_phrase
