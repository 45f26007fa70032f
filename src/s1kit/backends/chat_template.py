"""Chat templates: one sandboxed Jinja environment for every backend, and what a template tells us.

Hugging Face chat templates are Jinja programs shipped with the model (``tokenizer_config.json``,
``chat_template.jinja``, or a GGUF file's ``tokenizer.chat_template``). They are rendered here, for
transformers and GGUF models alike, in the environment transformers itself uses: an immutable sandbox
with ``trim_blocks``/``lstrip_blocks``, loop controls (``{% break %}``, ``{% continue %}``), the
``{% generation %}`` block, a ``tojson`` filter that keeps non-ASCII text, and the globals
``raise_exception`` and ``strftime_now``. So the same weights render the same prompt on every backend.

A model without a template gets :func:`plain_prompt`: the messages' contents separated by blank lines.

Example:
    >>> render_chat("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
    ...             "{% if add_generation_prompt %}<assistant>{% endif %}", [{"role": "user", "content": "Hi"}])
    '<user>Hi<assistant>'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from s1kit.errors import S1kitError

PROBE_QUESTION = "s1kit probe question"
PROBE_ANSWER = "s1kit probe answer"


def _raise_exception(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def _tojson(
    x: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=32)
def compile_template(source: str) -> Any:
    """Compile ``source`` once in the sandbox; a one-line error if it is not valid Jinja."""
    try:
        import jinja2
        from jinja2 import nodes
        from jinja2.ext import Extension, loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise S1kitError("rendering a chat template needs jinja2: pip install jinja2") from None

    class Generation(Extension):
        """``{% generation %}…{% endgeneration %}`` (marks assistant text for training masks): renders its body."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Callable[[], str]) -> str:
            return caller()

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise S1kitError(f"the chat template is not valid Jinja (line {e.lineno}): {e.message}") from None


def render_chat(
    source: str, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = True, **variables: Any
) -> str:
    """Render a chat template; ``variables`` are the special-token strings and template options."""
    from jinja2.exceptions import TemplateError

    try:
        return compile_template(source).render(
            messages=list(messages), add_generation_prompt=add_generation_prompt, **variables
        )
    except TemplateError as e:
        raise S1kitError(f"the chat template refused these messages: {str(e)[:200]}") from None


def plain_prompt(messages: Sequence[dict[str, Any]], *, bos: str = "") -> str:
    """The prompt of a model without a chat template: ``bos``, then each message's text and a blank line.

    A base model sees ``question\\n\\n`` followed by the format's thinking start; it was never trained on
    that layout and rarely follows it, so callers warn.
    """
    return bos + "".join(f"{str(m.get('content') or '').strip()}\n\n" for m in messages)


def _first_special_after_answer(
    render: Callable[..., str], encode: Callable[[str], list[int]], special_ids: frozenset[int], follow: bool
) -> int | None:
    user = {"role": "user", "content": PROBE_QUESTION}
    answer = {"role": "assistant", "content": PROBE_ANSWER}
    try:
        text = render([user, answer, user] if follow else [user, answer], add_generation_prompt=False)
    except S1kitError:
        return None
    at = text.find(PROBE_ANSWER)
    if at < 0:
        return None
    tail = encode(text[at + len(PROBE_ANSWER) :])
    return next((t for t in tail if t in special_ids), None)


def final_end_token(
    render: Callable[..., str], encode: Callable[[str], list[int]], special_ids: frozenset[int]
) -> int | None:
    """The special token the template writes after a final assistant answer (what training ends on)."""
    return _first_special_after_answer(render, encode, special_ids, follow=False)


def end_of_turn_tokens(
    render: Callable[..., str], encode: Callable[[str], list[int]], special_ids: frozenset[int]
) -> frozenset[int]:
    """The special tokens a chat template writes right after an assistant message (its end of turn).

    The template is rendered with a probe answer, as the last message and followed by another user
    turn (harmony templates end the two differently); the first special token after the answer in
    each rendering is an end of turn. Templates that refuse the probe contribute nothing.
    """
    found = (_first_special_after_answer(render, encode, special_ids, follow) for follow in (False, True))
    return frozenset(t for t in found if t is not None)


def generation_prompt(render: Callable[..., str]) -> str:
    """What the template writes for the assistant after a user question (its generation prompt)."""
    user = {"role": "user", "content": PROBE_QUESTION}
    full = render([user], add_generation_prompt=True)
    at = full.find(PROBE_QUESTION)
    return full[at + len(PROBE_QUESTION) :] if at >= 0 else full
