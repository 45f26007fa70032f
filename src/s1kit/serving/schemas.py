"""Request models for the OpenAI-compatible API, with s1kit's thinking-budget fields.

Types are strict (``"5"`` is not a number, ``true`` is not an integer) and every list and string is
bounded, so a hostile body is refused with a 400 naming the field before anything reaches the model.
Unknown fields are ignored, as OpenAI clients send many optional ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from s1kit.forcing.budget import Budget

Text = Annotated[StrictStr, Field(max_length=200)]
Number = StrictFloat | StrictInt
TokenId = Annotated[StrictInt, Field(ge=0)]

THINKING_FIELDS = (
    "max_thinking_tokens",
    "min_thinking_tokens",
    "num_ignore",
    "ignore_strings",
    "answer_primer",
    "reasoning_format",
    "budget_message",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class TextPart(_Strict):
    type: Literal["text"]
    text: StrictStr


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: StrictStr | Annotated[list[TextPart], Field(max_length=64)]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class StreamOptions(_Strict):
    include_usage: StrictBool = False


class GenerationRequest(_Strict):
    """Fields shared by chat and text completions."""

    model: Annotated[StrictStr, Field(max_length=512)]
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    temperature: Annotated[Number, Field(ge=0, le=2)] | None = None
    top_p: Annotated[Number, Field(gt=0, le=1)] | None = None
    top_k: Annotated[StrictInt, Field(ge=-1)] | None = None
    seed: StrictInt | None = None
    stop: Text | Annotated[list[Text], Field(max_length=16)] | None = None
    stop_token_ids: Annotated[list[TokenId], Field(max_length=64)] | None = None
    # OpenAI's: {"token id": bias in [-100, 100]}, added to the logits of every sampled token (forced
    # tokens such as "Wait" or the end of thinking are not sampled); ids are checked by the server
    logit_bias: (
        Annotated[dict[Annotated[StrictStr, Field(max_length=12)], Number], Field(max_length=1024)] | None
    ) = None
    n: Annotated[StrictInt, Field(ge=1, le=1)] = 1
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    return_token_ids: StrictBool = False
    # s1kit's budget forcing (any of them turns the thinking section on)
    max_thinking_tokens: Annotated[StrictInt, Field(ge=0)] | None = None
    min_thinking_tokens: Annotated[StrictInt, Field(ge=0)] | None = None
    num_ignore: Annotated[StrictInt, Field(ge=0, le=64)] | None = None
    ignore_strings: (
        Annotated[
            list[Annotated[StrictStr, Field(min_length=1, max_length=200)]],
            Field(min_length=1, max_length=16),
        ]
        | None
    ) = None
    answer_primer: Text | None = None
    budget_message: Annotated[StrictStr, Field(max_length=1000)] | None = None  # forced at the cap
    reasoning_format: Annotated[StrictStr, Field(max_length=32)] | None = None

    @property
    def thinking(self) -> bool:
        return any(getattr(self, f) is not None for f in THINKING_FIELDS)

    def answer_limit(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default

    def budget(self, *, answer_tokens: int, thinking_cap: int, budget_message: str = "") -> Budget:
        """The request's budget; an unset maximum is the server's cap. Raises ConfigError when invalid."""
        kw: dict[str, Any] = {
            "max_thinking_tokens": thinking_cap
            if self.max_thinking_tokens is None
            else self.max_thinking_tokens,
            "min_thinking_tokens": self.min_thinking_tokens or 0,
            "num_ignore": self.num_ignore or 0,
            "max_answer_tokens": answer_tokens,
        }
        if self.ignore_strings is not None:
            kw["ignore_strings"] = tuple(self.ignore_strings)
        if self.answer_primer is not None:
            kw["answer_primer"] = self.answer_primer
        message = self.budget_message if self.budget_message is not None else budget_message
        if message:
            kw["budget_message"] = message  # the request's, else the server's --budget-message
        return Budget(**kw)


class ChatRequest(GenerationRequest):
    messages: Annotated[list[Message], Field(min_length=1, max_length=256)]
    # accepted only to be refused by name (OpenAI clients send them; a silent null would mislead)
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = None


class CompletionRequest(GenerationRequest):
    # text, token ids, or a one-element list of either (batched prompts are refused); token ids are
    # checked against the vocabulary by the server, which knows its size
    prompt: Any
    echo: Literal[False] = False
    logprobs: None = None
    suffix: None = None

    @field_validator("prompt", mode="plain")
    @classmethod
    def _prompt(cls, p: Any) -> str | list[int]:
        if isinstance(p, str):
            return p
        if isinstance(p, list) and len(p) == 1 and isinstance(p[0], str | list):
            p = p[0]  # one prompt in a list
            if isinstance(p, str):
                return p
        elif isinstance(p, list) and len(p) > 1 and all(isinstance(x, str | list) for x in p):
            raise ValueError("one prompt per request: batched prompts are not supported")
        if isinstance(p, list) and p and all(type(x) is int for x in p):
            return p
        raise ValueError(
            "expected a string or a non-empty list of token ids (integers in [0, vocabulary size))"
        )

    def prompt_value(self) -> str | list[int]:
        return self.prompt  # type: ignore[no-any-return]
