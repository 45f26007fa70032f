"""Reading one API request: JSON content type, a byte bound, valid JSON text, then strict validation.

Every mistake is an :class:`ApiError` (an OpenAI-style 4xx); nothing a client sends reaches a tokenizer
unchecked: a lone UTF-16 surrogate (``"\\ud800"``, valid JSON but not text) is refused here, naming the
field, for every field at once.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

_SURROGATE = re.compile("[\ud800-\udfff]")
BIG_BODY = 64 << 10  # bytes; larger bodies are parsed in a worker thread


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


async def read_request(request: Request, model: type[BaseModel], max_bytes: int) -> Any:
    """The body of ``request`` validated as ``model``; raises :class:`ApiError`."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(
            415,
            f"expected Content-Type: application/json, got {media[:60] or 'none'!r}",
            code="unsupported_media_type",
        )
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise ApiError(413, f"request body over {max_bytes} bytes")
    body, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body over {max_bytes} bytes")
        body.append(chunk)
    raw = b"".join(body)
    if size > BIG_BODY:  # parsing a large body takes milliseconds: off the event loop, /health stays quick
        return await asyncio.to_thread(_decode, raw, model)
    return _decode(raw, model)


def _decode(raw: bytes, model: type[BaseModel]) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    bad = bad_text(data)
    if bad is not None:
        raise ApiError(
            400,
            f"{bad}: the text holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character",
            param=bad.split(".")[0],
        )
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith(("function-", "list[")))
        msg = err["msg"].removeprefix("Value error, ")
        raise ApiError(400, f"{loc}: {msg}", param=loc.split(".")[0] or None) from None
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply") from None


def bad_text(data: Any) -> str | None:
    """The path of the first string (key or value) holding a lone UTF-16 surrogate, which no tokenizer
    can encode. The walk is iterative (the JSON parser already bounds nesting)."""
    todo: list[tuple[Any, str]] = [(data, "")]
    while todo:
        x, at = todo.pop()
        if isinstance(x, str):
            if _SURROGATE.search(x):
                return at or "body"
        elif isinstance(x, dict):
            for k, v in x.items():
                if _SURROGATE.search(k):
                    return f"{at}.{k!r}".lstrip(".")
                todo.append((v, f"{at}.{k}".lstrip(".")))
        elif isinstance(x, list):
            todo.extend((v, f"{at}.{i}".lstrip(".")) for i, v in enumerate(x))
    return None
