"""Response bodies in the OpenAI shapes (plus vLLM's ``reasoning_content`` and s1kit's ``s1kit`` object)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from s1kit.serving.scheduler import Summary

ERROR_TYPES = {
    401: "authentication_error",
    404: "not_found_error",
    413: "invalid_request_error",
    503: "server_busy",
}


def error(
    status: int, message: str, *, param: str | None = None, code: str | None = None, kind: str | None = None
) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": kind
            or ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error"),
            "param": param,
            "code": code,
        }
    }
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


def sse(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


@dataclass(frozen=True)
class Meta:
    id: str
    created: int
    model: str


def usage(s: Summary) -> dict[str, Any]:
    return {
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "total_tokens": s.prompt_tokens + s.completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
    }


def extra(s: Summary) -> dict[str, Any]:
    return {
        "forced_end": s.forced_end,
        "ignored_stops": s.ignored_stops,
        "reasoning_tokens": s.reasoning_tokens,
    }


def models(name: str, context: int, root: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {"id": name, "object": "model", "created": int(time.time()), "owned_by": "s1kit"}
    card["max_model_len"] = context
    if root:
        card["root"] = root
    return {"object": "list", "data": [card]}


def chat(meta: Meta, s: Summary, with_ids: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": s.content}
    message["reasoning_content"] = s.reasoning or None
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": s.finish_reason,
        "logprobs": None,
    }
    if with_ids:
        choice["token_ids"] = list(s.token_ids)
    body = {"id": meta.id, "object": "chat.completion", "created": meta.created, "model": meta.model}
    return {**body, "choices": [choice], "usage": usage(s), "s1kit": extra(s)}


def completion(meta: Meta, s: Summary, with_ids: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "text": s.text, "finish_reason": s.finish_reason, "logprobs": None}
    choice["stop_reason"] = s.stop_reason
    if s.reasoning:
        choice["reasoning_content"] = s.reasoning
        choice["content"] = s.content
    if with_ids:
        choice["token_ids"] = list(s.token_ids)
    body = {"id": meta.id, "object": "text_completion", "created": meta.created, "model": meta.model}
    return {**body, "choices": [choice], "usage": usage(s), "s1kit": extra(s)}


class Chunks:
    """Server-sent events of one streamed response."""

    obj = ""

    def __init__(self, meta: Meta, include_usage: bool) -> None:
        self.meta = meta
        self.include_usage = include_usage

    def _chunk(self, choices: list[dict[str, Any]], **more: Any) -> str:
        m = self.meta
        return sse(
            {
                "id": m.id,
                "object": self.obj,
                "created": m.created,
                "model": m.model,
                "choices": choices,
                **more,
            }
        )

    def start(self) -> str:
        return ""

    def delta(self, role: str, text: str) -> str:
        raise NotImplementedError

    def end(self, s: Summary) -> str:
        raise NotImplementedError

    def _usage(self, s: Summary) -> str:
        return self._chunk([], usage=usage(s)) if self.include_usage else ""


class ChatChunks(Chunks):
    obj = "chat.completion.chunk"

    def start(self) -> str:
        return self._chunk(
            [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
        )

    def delta(self, role: str, text: str) -> str:
        if role == "delim":
            return ""
        key = "reasoning_content" if role in ("think", "ignore") else "content"
        return self._chunk([{"index": 0, "delta": {key: text}, "finish_reason": None}])

    def end(self, s: Summary) -> str:
        last = self._chunk([{"index": 0, "delta": {}, "finish_reason": s.finish_reason}], s1kit=extra(s))
        return last + self._usage(s)


class TextChunks(Chunks):
    obj = "text_completion"

    def delta(self, role: str, text: str) -> str:
        return self._chunk([{"index": 0, "text": text, "finish_reason": None}])

    def end(self, s: Summary) -> str:
        last = self._chunk([{"index": 0, "text": "", "finish_reason": s.finish_reason}], s1kit=extra(s))
        return last + self._usage(s)
