"""The loss mask, checked token by token on the real SmolLM2 tokenizer."""

from __future__ import annotations

import pytest

from s1kit.errors import S1kitError
from s1kit.training.config import TrainConfig
from s1kit.training.data import Example
from s1kit.training.formatting import IGNORE, format_dataset, format_example

CFG = TrainConfig(block_size=512)


def prompt_text(hf_tok, question: str, think_start: str = "<|im_start|>think\n") -> str:
    messages = [{"role": "user", "content": question}]
    return hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + think_start


def test_mask_covers_exactly_thinking_delimiter_answer_and_end_of_turn(tok, hf_tok):
    ex = Example("What is 2+2?", "  Two and two make four.  ", "4")
    f = format_example(tok, ex, CFG)
    n_prompt = len(tok.encode(prompt_text(hf_tok, ex.question)))
    assert f.prompt_tokens == n_prompt
    for i, (tid, label) in enumerate(zip(f.input_ids, f.labels, strict=True)):
        if i < n_prompt:
            assert label == IGNORE, f"prompt token {i} ({tok.decode([tid])!r}) is trained"
        else:
            assert label == tid, f"target token {i} ({tok.decode([tid])!r}) is masked"
    trained = tok.decode([t for t in f.labels if t != IGNORE])
    assert trained == "Two and two make four.\n<|im_start|>answer\n4<|im_end|>"
    # The prompt, decoded, is exactly the chat template plus the thinking opener: nothing of it trained.
    assert tok.decode(f.input_ids[:n_prompt]) == prompt_text(hf_tok, ex.question)
    # The ids are the pieces' ids concatenated, never a re-tokenisation of the joined string.
    pieces = (
        tok.encode(prompt_text(hf_tok, ex.question))
        + tok.encode("Two and two make four.\n")
        + tok.encode("<|im_start|>answer\n")
        + tok.encode("4")
        + tok.encode("<|im_end|>")
    )
    assert list(f.input_ids) == pieces
    assert f.trained_tokens == len(pieces) - n_prompt


def test_template_markers_inside_the_question_stay_masked(tok, hf_tok):
    # A string-search mask would find this "<|im_start|>think" in the question and train on the prompt.
    ex = Example(
        "Explain the tag <|im_start|>think\n and <|im_start|>answer\n please", "It is a tag.", "A tag."
    )
    f = format_example(tok, ex, CFG)
    n_prompt = len(tok.encode(prompt_text(hf_tok, ex.question)))
    assert all(label == IGNORE for label in f.labels[:n_prompt])
    assert all(label != IGNORE for label in f.labels[n_prompt:])
    assert (
        tok.decode([t for t in f.labels if t != IGNORE])
        == "It is a tag.\n<|im_start|>answer\nA tag.<|im_end|>"
    )


def test_r1_format_uses_its_own_delimiters(tok, hf_tok):
    f = format_example(tok, Example("Q?", "think", "ans"), CFG.replace(format="r1"))
    trained = tok.decode([t for t in f.labels if t != IGNORE])
    assert trained == "think\n</think>\n\nans<|im_end|>"
    assert tok.decode(f.input_ids[: f.prompt_tokens]) == prompt_text(hf_tok, "Q?", "<think>\n")


def test_overlong_rows_are_reported_then_skipped_or_truncated(tok):
    short = Example("Q?", "short", "a")
    long = Example("Q?", "word " * 300, "a")
    kept, report = format_dataset(tok, [short, long, short], CFG.replace(block_size=128, overlong="skip"))
    assert report.kept == len(kept) == 2
    assert [i for i, _ in report.overlong] == [1]
    assert report.overlong[0][1] > 128 and report.longest == report.overlong[0][1]
    assert "1 of 3 rows" in report.summary() and "skipped" in report.summary()
    kept, report = format_dataset(tok, [short, long], CFG.replace(block_size=128, overlong="truncate"))
    assert report.kept == 2 and len(kept[1].input_ids) == 128 and kept[1].truncated
    assert "truncated" in report.summary()
    assert kept[1].labels[-1] != IGNORE  # the cut falls inside the trained part


def test_block_size_below_the_prompt_is_an_error_naming_the_row(tok):
    with pytest.raises(S1kitError, match=r"row 1: block_size=40 is below the prompt length"):
        format_dataset(tok, [Example("Q", "t", "a"), Example("Q" * 50, "t", "a")], CFG.replace(block_size=40))


def test_all_rows_too_long_with_skip_is_an_error(tok):
    with pytest.raises(S1kitError, match="all 1 rows are longer"):
        format_dataset(tok, [Example("Q?", "word " * 100, "a")], CFG.replace(block_size=60))


def test_empty_dataset_is_an_error(tok):
    with pytest.raises(S1kitError, match="empty"):
        format_dataset(tok, [], CFG)


@pytest.mark.parametrize("unit", ["steps", "tokens"])
def test_remaining_budget_markers(tok, unit):
    thinking = " ".join(f"w{i}" for i in range(120))
    n_think = len(tok.encode(thinking))
    cfg = CFG.replace(markers=unit, marker_every=40)
    f = format_example(tok, Example("Q?", thinking, "a"), cfg)
    prompt = tok.decode(f.input_ids[: f.prompt_tokens])
    trained = tok.decode([t for t in f.labels if t != IGNORE])
    steps = -(-n_think // 40)
    if unit == "steps":
        assert f"Think for up to {steps} steps." in prompt
        expected = [f"<|im_start|>{k} steps left\n" for k in range(steps, -1, -1)]
    else:
        assert f"Think for up to {n_think} tokens." in prompt
        expected = [f"<|im_start|>{n_think - 40 * i} tokens left\n" for i in range(steps)]
        expected.append("<|im_start|>0 tokens left\n")
    positions = [trained.index(m) for m in expected]
    assert positions == sorted(positions) and positions[0] == 0
    assert trained.count(" tokens left" if unit == "tokens" else " steps left") == len(expected)
    # Without the markers the thinking is the original text, in order.
    plain = trained
    for m in expected:
        plain = plain.replace(m, "", 1)
    assert plain.startswith(thinking) and plain.endswith("<|im_start|>answer\na<|im_end|>")


def test_collator_pads_ids_and_masks_labels():
    from s1kit.training.trainer import PaddingCollator

    batch = PaddingCollator(pad_id=2)(
        [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [9], "labels": [9]}]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [9, 2, 2]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [9, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
