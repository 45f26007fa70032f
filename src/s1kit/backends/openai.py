"""OpenAI-compatible HTTP backend: budget forcing round by round against a server's ``/v1/completions``.

Budget forcing has to resume a half-written assistant turn, which chat endpoints cannot do, so the chat
template is applied here with the model's tokenizer and the raw completions endpoint continues the text.
Token-id prompts are sent where the server takes them (vLLM, ``s1kit serve``) so nothing drifts through
re-tokenisation; servers that only take text (llama-cpp-python's) get the decoded prompt. Generated
tokens come back as ids where the server offers them (``return_token_ids``), else the text is tokenized
here.

Spec: ``http://host:port`` or several, comma-separated (``http://a:8000,http://b:8000``): requests go to
the least-loaded server that is up, and a server that dies is set aside while its requests are retried
on the others (:mod:`s1kit.backends.server_pool`). At start the client checks that the servers serve one
model and that its tokenizer matches theirs (a probe text encoded on both sides, and the vocabulary's
last id accepted).

Example:
    >>> gen = Generator.load("http://127.0.0.1:8000", backend="openai", tokenizer="default")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from s1kit.backends.base import RoundResult, stop_suffix
from s1kit.backends.server_pool import RETRY_STATUS, ServerPool, error_message
from s1kit.backends.tokenizer import HFTokenizer, Tokenizer
from s1kit.errors import S1kitError
from s1kit.generation.sampling import SamplingParams

PromptKind = Literal["auto", "ids", "text"]
PROBE = "Budget forcing: 12 + 30 = 42, <think> Wait </think> naïve café ∑ 東京"


def round_seed(seed: int, prompt_length: int) -> int:
    """The seed of one round: different for every round of a sequence, reproducible, and the same in
    every backend that forces round by round (vLLM in process and a vLLM server draw the same samples)."""
    return (seed * 1_000_003 + prompt_length) % (2**31)


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
        return LlamaTokenizer(llm, source=model.path)
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
        self.pool = ServerPool(
            urls,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_in_flight=max_in_flight,
        )
        self.urls = self.pool.urls
        self.tokenizer = tokenizer
        self.server_model = server_model
        self.model_name = server_model
        self.context_length = context_length
        self.max_in_flight = max_in_flight
        self.prompt_kind: PromptKind = prompt_kind

    @property
    def requests_sent(self) -> int:
        """Every HTTP attempt, retries included."""
        return self.pool.requests_sent

    def server_report(self) -> dict[str, Any]:
        """Per-server requests, failures, completion tokens and tokens/s (written to the run folder)."""
        return self.pool.report()

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
        tokenizer_check: bool = True,
        **_: Any,
    ) -> OpenAIEngine:
        """Connect to ``spec`` (comma-separated base URLs), asking each for its model card.

        Servers that cannot be reached are set aside (retried later); none reachable, servers that
        serve different models, or a tokenizer that does not match the served model is an error.

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
        cards, down = _model_cards(urls, api_key, server_model)
        card = next(iter(cards.values()))
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
        engine = cls(
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
        for i, why in down.items():
            engine.pool.mark_down(i, why)
        if tokenizer_check:
            _check_tokenizer(engine, next(iter(cards)))
        return engine

    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> Any:
        raise S1kitError("the openai backend has no step-level access: use round-by-round forcing")

    def close(self) -> None:
        self.pool.close()

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
        idx, data = self._post(body, list(prompt))
        choice = _first_choice(data)
        text = choice.get("text")
        if not isinstance(text, str):
            raise S1kitError("the server's completion has no text")
        finish = choice.get("finish_reason")
        ids = choice.get("token_ids")
        tokens = _valid_ids(ids, self.tokenizer.vocab_size) if ids is not None else None
        self.pool.count(idx, len(tokens) if tokens is not None else _usage_tokens(data))
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
            body["seed"] = round_seed(sampling.seed, len(prompt))
        return body

    # -- transport ------------------------------------------------------------------------------------
    def _post(self, body: dict[str, Any], prompt: list[int]) -> tuple[int, dict[str, Any]]:
        """Send one completion (failing over between servers); the index of the server that answered
        and its JSON."""

        def with_prompt() -> dict[str, Any]:
            text = self.prompt_kind == "text"
            return {**body, "prompt": self.tokenizer.decode(prompt) if text else prompt}

        def refuses_ids(r: httpx.Response) -> bool:
            # No token-id prompts here (llama-cpp-python's server answers 500 to them): send text.
            return self.prompt_kind == "auto" and r.status_code in (400, 422, 500) and "prompt" in r.text

        key = repr(prompt[:64]).encode()
        idx, r = self.pool.send("/v1/completions", with_prompt, key=key, final=refuses_ids)
        if r.status_code == 200:
            if self.prompt_kind == "auto":
                self.prompt_kind = "ids"
            return idx, r.json()
        if refuses_ids(r):
            self.prompt_kind = "text"
            return self._post(body, prompt)
        raise S1kitError(f"{self.urls[idx]} answered {r.status_code}: {error_message(r)}")


def _model_cards(
    urls: Sequence[str], api_key: str | None, wanted: str | None
) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """The model card of every reachable server (by index), and why the others could not be reached.

    One server unreachable is tolerated (a sharded sweep resumed while a server is down); none
    reachable, or servers serving different models, is an error.
    """
    cards: dict[int, dict[str, Any]] = {}
    down: dict[int, str] = {}
    for i, url in enumerate(urls):
        try:
            cards[i] = _model_card(url, api_key, wanted, retries=5 if len(urls) == 1 else 1)
        except S1kitError as e:
            if not str(e).startswith("cannot reach"):
                raise
            down[i] = str(e)
    if not cards:
        raise S1kitError(f"cannot reach any of the servers: {'; '.join(down.values())}")
    ids = {urls[i]: c.get("id") for i, c in cards.items()}
    if len(set(ids.values())) > 1:
        served = ", ".join(f"{u} serves {m!r}" for u, m in ids.items())
        raise S1kitError(f"the servers serve different models ({served}): expected one model on every server")
    return cards, down


def _check_tokenizer(engine: OpenAIEngine, idx: int) -> None:
    """Refuse a tokenizer that does not match the served model: the server must accept the last id of
    the local vocabulary, and (where it reports prompt ids) encode a probe text as the tokenizer does."""
    tok, url = engine.tokenizer, engine.urls[idx]
    probe = tok.encode(PROBE)
    body = {"model": engine.server_model, "max_tokens": 1, "temperature": 0.0, "return_token_ids": True}
    try:
        r = engine.pool.http.post(f"{url}/v1/completions", json={**body, "prompt": [tok.vocab_size - 1]})
        if r.status_code in (400, 422) and "vocab" in r.text.lower():
            raise S1kitError(
                f"the tokenizer does not match the model at {url}: it has {tok.vocab_size} tokens and the "
                f"server refuses id {tok.vocab_size - 1} ({error_message(r)}); pass --tokenizer for the served model"
            )
        r = engine.pool.http.post(
            f"{url}/v1/completions", json={**body, "prompt": PROBE, "add_special_tokens": False}
        )
    except httpx.TransportError:
        return  # the server went away: the sweep's own requests will fail over
    if r.status_code != 200:
        return
    try:
        choice = r.json()["choices"][0]
        served = choice.get("prompt_token_ids") or r.json().get("prompt_token_ids")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return
    if isinstance(served, list) and served and served[-len(probe) :] != probe:
        raise S1kitError(
            f"the tokenizer does not match the model at {url}: a probe text encodes to {len(probe)} ids "
            f"here and {len(served)} there (first differing at {_first_diff(probe, served)}); "
            "pass --tokenizer for the served model"
        )


def _first_diff(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _usage_tokens(data: dict[str, Any]) -> int:
    usage = data.get("usage") if isinstance(data, dict) else None
    n = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return n if isinstance(n, int) and n >= 0 else 0


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
            raise S1kitError(f"{url}/v1/models answered {r.status_code}: {error_message(r)}")
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
