"""OpenAI-compatible HTTP backend: budget forcing round by round against a server's ``/v1/completions``.

Budget forcing has to resume a half-written assistant turn, which chat endpoints cannot do, so the chat
template is applied here with the model's tokenizer and the raw completions endpoint continues the text.
Token-id prompts are sent where the server takes them (vLLM, ``s1kit serve``) so nothing drifts through
re-tokenisation; servers that only take text (llama-cpp-python's) get the decoded prompt. Generated
tokens come back as ids where the server offers them (``return_token_ids``), else the text is tokenized
here.

Spec: ``http://host:port`` or several, comma-separated (``http://a:8000,http://b:8000``): requests go to
the least-loaded server, ties broken by a hash of the prompt's start so that one sequence's "Wait" rounds
tend to reach the server that already caches its prefix.

Example:
    >>> gen = Generator.load("http://127.0.0.1:8000", backend="openai", tokenizer="default")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import random
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from s1kit.backends.base import RoundResult, stop_suffix
from s1kit.errors import S1kitError
from s1kit.generation.sampling import SamplingParams
from s1kit.backends.tokenizer import HFTokenizer, Tokenizer

PromptKind = Literal["auto", "ids", "text"]
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def load_tokenizer(spec: str | os.PathLike[str]) -> Tokenizer:
    """A tokenizer from ``default`` (the embedded model), a ``.gguf`` file, or a transformers folder."""
    from s1kit.backends.models import resolve_model

    model = resolve_model(spec)
    if model.kind == "gguf":
        try:
            import llama_cpp
        except ImportError:
            raise S1kitError(
                "reading a GGUF tokenizer needs llama-cpp-python: pip install 's1kit[llamacpp]'"
            ) from None
        from s1kit.backends.llamacpp import LlamaTokenizer

        llm = llama_cpp.Llama(model_path=str(model.path), vocab_only=True, verbose=False)
        return LlamaTokenizer(llm)
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise S1kitError("reading a tokenizer folder needs transformers: pip install 's1kit[hf]'") from None
    try:
        return HFTokenizer(AutoTokenizer.from_pretrained(model.path))
    except (OSError, ValueError) as e:
        raise S1kitError(f"{model.path} holds no usable tokenizer: {str(e).splitlines()[0]}") from e


class OpenAIEngine:
    """Round-by-round generation over one or more OpenAI-compatible servers (``max_batch = 0``).

    Thread-safe: a caller may run many sequences from threads; at most ``max_in_flight`` requests are
    open at once across all servers.
    """

    name = "openai"
    max_batch = 0

    def __init__(
        self,
        urls: Sequence[str],
        tokenizer: Tokenizer,
        *,
        server_model: str,
        context_length: int,
        api_key: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_in_flight: int = 64,
        prompt_kind: PromptKind = "auto",
    ) -> None:
        if not urls:
            raise S1kitError("the openai backend needs at least one server URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.tokenizer = tokenizer
        self.server_model = server_model
        self.model_name = server_model
        self.context_length = context_length
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_in_flight = max_in_flight
        self.prompt_kind: PromptKind = prompt_kind
        self.requests_sent = 0  # every HTTP attempt, retries included
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        self._http = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), limits=limits
        )
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._in_flight = [0] * len(self.urls)

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        tokenizer: str | Tokenizer | None = None,
        api_key: str | None = None,
        server_model: str | None = None,
        n_ctx: int | None = None,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_in_flight: int = 64,
        prompt_kind: PromptKind = "auto",
        **_: Any,
    ) -> OpenAIEngine:
        """Connect to ``spec`` (comma-separated base URLs), asking the first for its model card.

        ``tokenizer``: a tokenizer object, ``default``, a ``.gguf`` file or a model folder; if omitted,
        ``$S1KIT_TOKENIZER``, else the server's model id or root when that is a local path (llama-cpp-python
        and vLLM serving a local path, ``s1kit serve``). ``api_key`` falls back to ``$S1KIT_API_KEY``.
        ``n_ctx`` is the context length when the server does not report ``max_model_len`` (default 4096).
        """
        urls = [u.strip() for u in spec.split(",") if u.strip()]
        for u in urls:
            if not u.startswith(("http://", "https://")):
                raise S1kitError(f"server URL {u!r} is invalid: expected http://host:port")
        urls = [u.rstrip("/").removesuffix("/v1") for u in urls]
        api_key = api_key or os.environ.get("S1KIT_API_KEY") or None
        card = _model_card(urls[0], api_key, server_model)
        model_id = server_model or str(card.get("id") or "default")
        if tokenizer is None:
            tokenizer = os.environ.get("S1KIT_TOKENIZER") or _local_path(card)
        if tokenizer is None:
            raise S1kitError(
                f"the server at {urls[0]} serves {model_id!r}, which is not a local path: "
                "pass tokenizer=<model folder, .gguf file or 'default'> (CLI: $S1KIT_TOKENIZER)"
            )
        tok = tokenizer if not isinstance(tokenizer, str | os.PathLike) else load_tokenizer(tokenizer)
        ctx = n_ctx or _positive_int(card.get("max_model_len")) or 4096
        return cls(
            urls,
            tok,
            server_model=model_id,
            context_length=ctx,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_in_flight=max_in_flight,
            prompt_kind=prompt_kind,
        )

    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> Any:
        raise S1kitError("the openai backend has no step-level access: use round-by-round forcing")

    def close(self) -> None:
        self._http.close()

    # -- one round ------------------------------------------------------------------------------------
    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult:
        """Generate until a stop, ``max_tokens`` or the server's limit; one request (plus retries)."""
        room = self.context_length - len(prompt)
        n = min(max_tokens, room)
        if n <= 0:
            return RoundResult([], length=True)
        body = self._body(list(prompt), n, stop, sampling)
        data = self._post(body, list(prompt))
        choice = _first_choice(data)
        text = choice.get("text")
        if not isinstance(text, str):
            raise S1kitError("the server's completion has no text")
        finish = choice.get("finish_reason")
        ids = choice.get("token_ids")
        tokens = _valid_ids(ids, self.tokenizer.vocab_size) if ids is not None else None
        if tokens is not None:
            if finish == "stop" and not stop_suffix(tokens, stop):
                return RoundResult(tokens, stopped=True)  # stopped on a stop the ids leave out
            # Otherwise a matched stop is in the ids: the forcing state sees it as the model wrote it.
            return RoundResult(tokens, length=finish == "length" and len(tokens) < n)
        tokens = self.tokenizer.encode(text) if text else []
        if finish == "stop":
            return RoundResult(tokens, stopped=True)
        return RoundResult(tokens[:n], length=len(tokens) < n and finish == "length")

    def _body(
        self, prompt: list[int], n: int, stop: Sequence[Sequence[int]], sampling: SamplingParams
    ) -> dict[str, Any]:
        dec = self.tokenizer.decode
        stops = list(dict.fromkeys(s for s in (dec(list(q)) for q in stop) if s))
        body: dict[str, Any] = {
            "model": self.server_model,
            "max_tokens": n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,  # 0: off (llama.cpp and vLLM)
            "min_p": 0.0,  # llama.cpp's server defaults to 0.05
            "repeat_penalty": 1.0,  # llama.cpp's server defaults to 1.1
            "stop": stops[:16],
            "stop_token_ids": sorted({q[0] for q in stop if len(q) == 1}),
            "return_token_ids": True,  # vLLM and s1kit serve return the generated ids
            "skip_special_tokens": False,
            "stream": False,
        }
        if sampling.logit_bias:  # OpenAI's, also taken by vLLM and llama.cpp's server (-100 bans)
            body["logit_bias"] = {str(t): max(-100.0, b) for t, b in sampling.logit_bias}
        if sampling.seed is not None:  # a different but reproducible seed for every round
            body["seed"] = (sampling.seed * 1_000_003 + len(prompt)) % (2**31)
        return body

    # -- transport ------------------------------------------------------------------------------------
    def _post(self, body: dict[str, Any], prompt: list[int]) -> dict[str, Any]:
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(30.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random()))
            idx = self._pick(prompt)
            body["prompt"] = prompt if self.prompt_kind != "text" else self.tokenizer.decode(prompt)
            try:
                with self._slots:
                    self.requests_sent += 1
                    r = self._http.post(f"{self.urls[idx]}/v1/completions", json=body)
            except httpx.TransportError as e:  # refused, reset, timed out, cut mid-body
                last = f"{type(e).__name__}: {e}"
                continue
            finally:
                with self._lock:
                    self._in_flight[idx] -= 1
            if r.status_code == 200:
                try:
                    data = r.json()
                except ValueError:
                    last = "a response that is not JSON"
                    continue
                if self.prompt_kind == "auto":
                    self.prompt_kind = "ids"
                return data
            if self.prompt_kind == "auto" and r.status_code in (400, 422, 500) and "prompt" in r.text:
                # No token-id prompts here (llama-cpp-python's server answers 500 to them): send text.
                self.prompt_kind = "text"
                return self._post(body, prompt)
            if r.status_code not in RETRY_STATUS:
                raise S1kitError(f"{self.urls[idx]} answered {r.status_code}: {_error_message(r)}")
            last = f"HTTP {r.status_code}: {_error_message(r)}"
        raise S1kitError(f"completion request failed after {self.max_retries + 1} attempts; last: {last}")

    def _pick(self, prompt: list[int]) -> int:
        """The least-loaded server; among equals, the one this prompt's start hashes to."""
        n = len(self.urls)
        home = zlib.crc32(repr(prompt[:64]).encode()) % n
        with self._lock:
            idx = min(range(n), key=lambda i: (self._in_flight[i], (i - home) % n))
            self._in_flight[idx] += 1
        return idx


def _model_card(url: str, api_key: str | None, wanted: str | None, retries: int = 5) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    for attempt in range(retries + 1):
        try:
            r = httpx.get(f"{url}/v1/models", headers=headers, timeout=10.0)
        except httpx.TransportError as e:
            if attempt == retries:
                raise S1kitError(f"cannot reach the server at {url}: {e}") from None
            time.sleep(0.2 * 2**attempt)
            continue
        if r.status_code in RETRY_STATUS and attempt < retries:
            time.sleep(0.2 * 2**attempt)
            continue
        if r.status_code != 200:
            raise S1kitError(f"{url}/v1/models answered {r.status_code}: {_error_message(r)}")
        break
    try:
        cards = [c for c in r.json().get("data", []) if isinstance(c, dict)]
    except (ValueError, AttributeError):
        cards = []
    if wanted is not None:
        cards = [c for c in cards if c.get("id") == wanted] or [{"id": wanted}]
    return cards[0] if cards else {}


def _local_path(card: dict[str, Any]) -> str | None:
    for key in ("root", "id"):
        value = card.get(key)
        if isinstance(value, str) and value and Path(value).expanduser().exists():
            return value
    return None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _first_choice(data: Any) -> dict[str, Any]:
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise S1kitError("the server's completion response has no choices")
    return choices[0]


def _valid_ids(ids: Any, vocab: int) -> list[int] | None:
    if not isinstance(ids, list) or not all(type(i) is int and 0 <= i < vocab for i in ids):
        return None
    return ids


def _error_message(r: httpx.Response) -> str:
    try:
        err = r.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err or r.json().get("detail")
    except (ValueError, AttributeError):
        msg = None
    text = str(msg) if msg else r.text
    return " ".join(text.split())[:300] or r.reason_phrase
