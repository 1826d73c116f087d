"""Shared fixtures. Randomness is seeded; hypothesis has no deadline (JIT compiles)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "moveo",
    deadline=None,
    max_examples=int(os.environ.get("MOVEO_HYPOTHESIS_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("moveo")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator (seed 12345)."""
    return np.random.default_rng(12345)


@pytest.fixture
def tmp_dataset(tmp_path):
    """An empty tracking dataset at 30 fps in a temporary folder."""
    from moveo import Dataset

    return Dataset.create(tmp_path / "ds", fps=30.0)
