"""One grading pool for the tests of this folder (each start imports sympy and math-verify: seconds)."""

from __future__ import annotations

import pytest

from s1kit.grading.pool import GradingPool


@pytest.fixture(scope="module")
def grading_pool():
    with GradingPool(workers=2, timeout=5.0) as pool:
        yield pool
