"""The harness itself: a memcpy against a Python loop, so the ratio table always has a row."""

import numpy as np
import pytest


@pytest.mark.parametrize("impl", ["numpy-copyto", "python-loop"])
def test_copy_roofline(benchmark, tag, bench_size, impl):
    n = bench_size(small=10_000, full=1_000_000)
    src = np.arange(n, dtype=np.float64)
    dst = np.empty_like(src)

    def loop():
        for i in range(n):
            dst[i] = src[i]

    fn = {"numpy-copyto": lambda: np.copyto(dst, src), "python-loop": loop}[impl]
    tag(benchmark, "harness: copy", ours=impl == "numpy-copyto", target=">=10")
    benchmark(fn)
    np.testing.assert_array_equal(dst, src)
