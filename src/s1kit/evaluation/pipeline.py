"""Several batches of a sweep in flight at once, their records written as each batch completes.

On an engine with step-level decoding (llama.cpp, transformers) the batches' rows share one running
batch (:meth:`~s1kit.generation.generator.Generator.sharing`): when a row finishes, a row of the next
batch takes its place at once, instead of the engine running down to the batch's longest row, and a
batch is graded while the next one decodes. Over HTTP the next batch's requests fill the slots the
last requests of this one leave free (the engine still bounds the requests in flight). vLLM in process
takes one batch at a time. Records do not depend on the width: each row samples from its own stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

B = TypeVar("B")


def pipeline_width(generator: Any, config: Any) -> int:
    """How many batches to keep in flight: enough to refill the engine's batch as rows finish."""
    engine = getattr(generator, "engine", None)
    if engine is None or not hasattr(generator, "sharing"):
        return 1  # a caller's own generator object: one batch at a time
    if getattr(engine, "complete_batch", None):
        return 1  # vLLM in process: one engine call at a time
    if getattr(engine, "max_batch", 0):
        if config.mode != "loop":
            return 1  # rounds on a local engine call it directly, from one thread
        return max(2, -(-engine.max_batch // max(1, config.batch_size)) + 1)
    return 2 if getattr(engine, "max_in_flight", 0) else 1


def run_pipelined(
    batches: Sequence[B],
    run: Callable[[B], list[dict]],
    write: Callable[[list[dict]], None],
    generator: Any,
    width: int,
) -> None:
    """``run`` every batch, ``width`` at a time, and ``write`` each one's records as it completes.

    Records of completed batches are written even when another batch fails; the first failure is then
    raised. An interrupt stops the other threads' decoding at their next step.
    """
    if width <= 1:
        for b in batches:
            write(run(b))
        return
    with generator.sharing() as shared, ThreadPoolExecutor(width, thread_name_prefix="s1kit-batch") as pool:
        todo = iter(batches)
        running: set[Future] = set()
        error: BaseException | None = None

        def fill() -> None:
            while error is None and len(running) < width:
                b = next(todo, None)
                if b is None:
                    return
                running.add(pool.submit(run, b))

        try:
            fill()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    running.discard(fut)
                    exc = fut.exception()
                    if exc is not None:
                        error = error or exc
                    else:
                        write(fut.result())
                fill()
        except BaseException as exc:  # an interrupt: the other threads stop at their next step
            if shared is not None:
                shared.abort(exc)
            for fut in running:
                fut.cancel()
            raise
        if error is not None:
            raise error
