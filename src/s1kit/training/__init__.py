"""Supervised fine-tuning on s1K-style data (the s1 paper's SFT stage).

The pieces: :mod:`~s1kit.training.data` reads rows, :mod:`~s1kit.training.formatting` turns them into
ids and loss masks, :mod:`~s1kit.training.config` holds the recipe, :mod:`~s1kit.training.trainer`
runs transformers' ``Trainer``, :mod:`~s1kit.training.estimate` sizes a run before it starts and
:mod:`~s1kit.training.launch` builds the ``accelerate launch`` command for many GPUs. Heavy imports
(torch, transformers) happen inside the functions that need them.
"""

from s1kit.training.config import TrainConfig, recipe_names
from s1kit.training.data import Example, load_examples
from s1kit.training.formatting import FormatReport, FormattedExample, format_dataset, format_example

__all__ = [
    "Example",
    "FormatReport",
    "FormattedExample",
    "TrainConfig",
    "format_dataset",
    "format_example",
    "load_examples",
    "recipe_names",
]
