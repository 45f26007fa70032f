"""Evaluation: the run configuration, the run folder, the runner, metrics, plots and the paper's figures.

=================  ======================================================================
module             job
=================  ======================================================================
``config``         :class:`Setting`, :class:`EvalConfig` (validated when built)
``rundir``         the run folder: config.yaml, records.jsonl (resumable), summary.json
``runner``         :func:`run_eval`: batches, generation, grading, records
``metrics``        accuracy, Control / Scaling / Performance, pass@k, maj@k
``plots``          PNG plots (matplotlib, never changing the caller's backend)
``paper``          the paper's published figures, for comparison
=================  ======================================================================

Names load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "run_eval": "s1kit.evaluation.runner",
    "write_summary": "s1kit.evaluation.runner",
    "plan_batches": "s1kit.evaluation.runner",
    "EvalConfig": "s1kit.evaluation.config",
    "Setting": "s1kit.evaluation.config",
    "read_records": "s1kit.evaluation.rundir",
    "CONFIG": "s1kit.evaluation.rundir",
    "RECORDS": "s1kit.evaluation.rundir",
    "SUMMARY": "s1kit.evaluation.rundir",
    "summarize": "s1kit.evaluation.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 's1kit.evaluation' has no attribute {name!r}")


__all__ = sorted(_LAZY)
