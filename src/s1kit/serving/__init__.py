"""``s1kit serve``: an OpenAI-compatible server with per-request thinking budgets.

Example:
    >>> from s1kit.serving import ServerConfig, create_app
    >>> app = create_app(Generator.load("default", backend="hf"), ServerConfig())  # doctest: +SKIP
"""

from __future__ import annotations

from s1kit.serving.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
