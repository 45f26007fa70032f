"""Rows from many threads decoding in one running batch.

An evaluation sweep runs several of its batches at once, each from its own thread, and every thread's
rows join one :class:`~s1kit.generation.loop.Decoder`: a row that finishes early is replaced at once by
a waiting row of the next batch, so the engine's batch stays full instead of running down to its longest
row, and one batch's grading overlaps the next batch's decoding. There is no decoding thread of its own:
each caller steps the shared decoder, under a lock, until its own rows have left, so whichever thread is
waiting moves every thread's rows. A row's tokens do not depend on what it is batched with (per-row
sampling streams; batch-invariant kernels on llama.cpp), so records are the same as one batch at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from s1kit.errors import S1kitError
from s1kit.generation.loop import Decoder, Row


class SharedDecoder:
    """One :class:`Decoder` that any number of threads feed rows to with :meth:`run`.

    Example:
        >>> shared = SharedDecoder(engine)                      # doctest: +SKIP
        >>> threading.Thread(target=shared.run, args=(rows_a,)).start()  # doctest: +SKIP
        >>> shared.run(rows_b)  # both threads' rows decode in one batch  # doctest: +SKIP
    """

    def __init__(self, engine: Any, *, capacity: int | None = None) -> None:
        self.decoder = Decoder(engine, capacity=capacity)
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    def run(self, rows: Sequence[Row]) -> None:
        """Decode ``rows`` to the end, alongside whatever other threads have submitted."""
        rows = list(rows)
        self._check()
        # Not under the step lock: a thread that keeps stepping would keep others from joining. The
        # waiting queue is a deque, whose appends are atomic; the stepping thread admits from it.
        self.decoder.submit(rows)
        while True:
            with self._lock:
                self._check()
                if all(r.left for r in rows):
                    return
                try:
                    self.decoder.step()
                except BaseException as exc:
                    self._error = exc  # the batch's state is unknown now: every caller stops
                    raise
            time.sleep(0)  # let the other threads run (and submit) between steps

    def abort(self, exc: BaseException) -> None:
        """Make every caller's next step raise (an interrupted sweep stops its other threads)."""
        self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise S1kitError(f"the shared decoding batch stopped: {self._error!r}") from self._error

    def close(self) -> None:
        with self._lock:
            self.decoder.close()


__all__ = ["SharedDecoder"]
