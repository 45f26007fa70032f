"""Forced text ("Wait", the answer primer) is tokenised as the model writes it: an added token in it is
that token, as in training; a control or delimiter token in it is never forced."""

from __future__ import annotations

import pytest
from tests.conftest import SMOL_TOKENIZER
from transformers import AutoTokenizer

from s1kit import Budget
from s1kit.backends.tokenizer import HFTokenizer
from s1kit.errors import ConfigError
from s1kit.forcing.formats import get_format
from s1kit.forcing.state import ForcingPlan, forced_ids


@pytest.fixture(scope="module")
def tok_with_words():
    raw = AutoTokenizer.from_pretrained(SMOL_TOKENIZER)
    raw.add_tokens(["<wait>", "</think>"])  # ordinary (non-special) added tokens, as a fine-tune adds them
    return raw, HFTokenizer(raw)


def test_an_added_word_is_forced_as_its_one_token(tok_with_words):
    raw, tok = tok_with_words
    wait = raw.convert_tokens_to_ids("<wait>")
    assert wait >= 49152  # a new token, outside the base vocabulary
    plan = ForcingPlan.build(Budget(ignore_strings=("<wait>", "<wait> no")), get_format("s1").ids(tok), tok)
    assert plan.ignore_ids[0] == (wait,)  # what the model saw in training, not "<", "wait", ">"
    assert plan.ignore_ids[1][0] == wait
    assert wait not in tok.encode_text("<wait>")  # client text keeps splitting added tokens


def test_control_and_delimiter_tokens_are_never_forced(tok_with_words):
    raw, tok = tok_with_words
    ids = get_format("r1").ids(tok)
    end = raw.convert_tokens_to_ids("</think>")
    im_end = raw.convert_tokens_to_ids("<|im_end|>")
    plan = ForcingPlan.build(Budget(ignore_strings=("</think>",), answer_primer="<|im_end|>"), ids, tok)
    assert end not in plan.ignore_ids[0] and im_end not in plan.primer_ids  # read as plain text
    assert tok.decode(list(plan.ignore_ids[0])) == "</think>"

    class Stubborn:  # a tokenizer whose plain-text encoding still gives the delimiter
        def encode(self, text):
            return [end]

        encode_text = encode

    with pytest.raises(ConfigError, match="ignore_strings"):
        forced_ids(Stubborn(), "</think>", control=frozenset({end}), field="ignore_strings")
