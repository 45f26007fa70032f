"""Run under ``accelerate launch --cpu --num_processes 2``: train a few steps, then write a hash of
this rank's weights, so the test can check that both replicas ended identical."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import transformers

from s1kit.backends.tokenizer import HFTokenizer
from s1kit.training.config import TrainConfig
from s1kit.training.data import load_examples
from s1kit.training.formatting import format_dataset
from s1kit.training.trainer import load_tokenizer, train


class HashWeights(transformers.TrainerCallback):
    def __init__(self, out: Path) -> None:
        self.out = out

    def on_train_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        h = hashlib.sha256()
        for name, p in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(p.detach().cpu().contiguous().numpy().tobytes())
        rank = os.environ.get("RANK", "0")
        (self.out / f"rank{rank}.json").write_text(
            json.dumps({"sha256": h.hexdigest(), "world_size": int(os.environ.get("WORLD_SIZE", "1"))})
        )


def main() -> None:
    data, model_dir, output = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    cfg = TrainConfig(
        block_size=128,
        epochs=1,
        max_steps=3,
        learning_rate=1e-2,
        global_batch_size=4,
        gradient_checkpointing=False,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        save_steps=1000,
    )
    tok = load_tokenizer(model_dir)
    examples, _ = load_examples(data)
    formatted, _ = format_dataset(HFTokenizer(tok), examples, cfg)
    output.mkdir(parents=True, exist_ok=True)
    train(
        cfg,
        model_dir=model_dir,
        tokenizer=tok,
        examples=formatted,
        output=output,
        callbacks=[HashWeights(output)],
    )


if __name__ == "__main__":
    main()
