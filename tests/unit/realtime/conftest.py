"""Fixtures shared by the realtime unit tests."""

from __future__ import annotations

import pytest

from reference.realtime import GateSource


@pytest.fixture
def gate_source():
    return GateSource(n_channels=4, fs=1000.0, chunk=10, seed=3)
