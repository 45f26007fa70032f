"""The s1 recipe in miniature (``s1kit toy``; docs/toy.md): a task where thinking is necessary, a tiny model
trained from scratch on a CPU, and the paper's test-time scaling experiments on it.

* :mod:`.problems`: the running-sum task, its worked traces (full, lazy, resumed after "Wait") and the pool;
* :mod:`.task`: the task as an evaluation task (``s1kit eval --task toy``);
* :mod:`.model`: the character tokenizer with the s1 delimiters and the random-init model folder;
* :mod:`.run`: the stages of ``s1kit toy run``; :mod:`.summary`: ``summary.json``.
"""
