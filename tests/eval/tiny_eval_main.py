"""Run an eval with the tiny random model in a subprocess (the resumption tests kill it).

Usage: python tests/eval/tiny_eval_main.py OUT_DIR CONFIG_JSON [BATCH_DELAY_S]
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from tests.conftest import SMOL_TOKENIZER, tiny_llama
    from transformers import AutoTokenizer

    from s1kit.backends.hf import HFEngine
    from s1kit.evaluation.runner import EvalConfig, run_eval
    from s1kit.generation.generator import Generator

    out, cfg = sys.argv[1], json.loads(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    tok = AutoTokenizer.from_pretrained(SMOL_TOKENIZER)
    gen = Generator(HFEngine.from_objects(tiny_llama(tok, eos_boost=3.0), tok, model_name="tiny"), "s1")
    if delay:
        inner = gen.generate_batch

        def slow(*args, **kwargs):  # widen the window in which the test kills this process
            time.sleep(delay)
            return inner(*args, **kwargs)

        gen.generate_batch = slow  # type: ignore[method-assign]
    print("started", flush=True)
    run_eval(EvalConfig(**cfg), out, generator=gen)


if __name__ == "__main__":
    main()
