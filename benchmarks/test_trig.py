"""Per-row headings: the vectorised sin / cos of kernels/trig.py vs numpy's.

Sizes: 100k angles (small) / 10M (full), uniform in [-pi, pi) with 1 % NaN, as
the ANGLE column of a tracking table.
"""

import numpy as np
import pytest

from moveo.kernels import trig


@pytest.fixture(scope="module")
def angles(bench_size):
    rng = np.random.default_rng(0)
    a = rng.uniform(-np.pi, np.pi, bench_size(small=100_000, full=10_000_000))
    a[rng.random(a.shape[0]) < 0.01] = np.nan
    trig.sincos(a[:8], np.empty(8), np.empty(8))  # compiled before timing
    return a


def _numpy(a, s, c):
    np.sin(a, out=s)
    np.cos(a, out=c)


@pytest.mark.parametrize("impl", ["moveo", "numpy"])
def test_sincos_vs_numpy(benchmark, tag, angles, impl):
    s = np.empty_like(angles)
    c = np.empty_like(angles)
    fn = trig.sincos if impl == "moveo" else _numpy
    tag(benchmark, "sin and cos of per-row headings", ours=impl == "moveo", target=">=3")
    with np.errstate(invalid="ignore"):
        benchmark(fn, angles, s, c)
        np.testing.assert_allclose(s, np.sin(angles), atol=3e-16, equal_nan=True)
        np.testing.assert_allclose(c, np.cos(angles), atol=3e-16, equal_nan=True)
