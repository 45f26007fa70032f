"""Test-time scaling methods side by side (the s1 paper's Table 3 and Figure 4, and beyond).

Each method is a function ``fn(generator, rendered_prompts, setting, samplings, config)`` returning
one Completion per prompt, registered in :mod:`s1kit.methods.registry` (lazy ``module:function`` entries,
the one place). None has its own decoding loop: they call
:meth:`~s1kit.generate.Generator.generate_batch`, some with a per-step ``monitor``.

========================  ==================================================  =========================
method                    what it does                                        needs
========================  ==================================================  =========================
``budget_forcing``        the core method (the reference point)               any backend
``majority_vote``         N samples; maj@k for k = 1, 2, 4 … N from one run   any backend
``best_of_n``             N samples, scored; best-of-k and weighted vote      log-prob scorers:
                                                                              llamacpp or hf
``grid``                  N samples × budgets; iso-compute curves             any backend
``token_conditional``     the prompt states the token budget (± forcing)     any backend
``step_conditional``      step budget + remaining-step markers (± forcing)    llamacpp or hf (loop)
``class_conditional``     "think briefly" / "think thoroughly" (± forcing)   any backend
``rejection_sampling``    resample until the thinking fits                    any backend
``early_exit``            probe every K tokens, stop when M probes agree      llamacpp or hf (loop)
========================  ==================================================  =========================
"""

from __future__ import annotations

from s1kit.methods.registry import METHODS, check_method, register_method

__all__ = ["METHODS", "check_method", "register_method"]
