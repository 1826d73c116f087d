"""kernels/trig.py: the vectorised sine and cosine against math.sin / math.cos per element."""

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from moveo.kernels import trig


def reference(angle):
    """sin and cos one element at a time (NaN for NaN and ±inf, as numpy)."""
    s = np.array([math.sin(v) if math.isfinite(v) else math.nan for v in angle])
    c = np.array([math.cos(v) if math.isfinite(v) else math.nan for v in angle])
    return s, c


def ulps(got, want):
    """Largest difference in units of the last place of the reference."""
    ok = np.isfinite(want)
    if not ok.any():
        return 0.0
    diff = np.abs(got[ok] - want[ok])
    return float(np.max(diff / np.spacing(np.maximum(np.abs(want[ok]), 1e-300))))


def run(angle):
    a = np.asarray(angle, dtype=np.float64)
    s = np.full_like(a, -7.0)
    c = np.full_like(a, -7.0)
    trig.sincos(a, s, c)
    return s, c


angles = st.one_of(
    st.floats(-4 * math.pi, 4 * math.pi),
    st.floats(-2e6, 2e6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.pi / 4, math.pi / 2, math.pi, -math.pi, 1e6, 5e-324]),
)


@given(st.lists(angles, max_size=40))
@settings(max_examples=300, deadline=None)
def test_sincos_within_two_ulp_of_libm(values):
    s, c = run(values)
    ws, wc = reference(values)
    np.testing.assert_array_equal(np.isnan(s), np.isnan(ws))
    np.testing.assert_array_equal(np.isnan(c), np.isnan(wc))
    assert ulps(s, ws) <= 2.0
    assert ulps(c, wc) <= 2.0


def test_quadrants_signs_and_zero():
    k = np.arange(-8, 9) * (math.pi / 2)
    s, c = run(k)
    # at multiples of pi/2 one of them is (nearly) 0 and the other exactly +-1
    np.testing.assert_allclose(np.abs(s) + np.abs(c), 1.0, atol=1e-15)
    np.testing.assert_array_equal(np.sign(np.round(s)), np.sign(np.round(np.sin(k))))
    np.testing.assert_array_equal(np.sign(np.round(c)), np.sign(np.round(np.cos(k))))
    s0, c0 = run([-0.0])
    assert s0[0] == 0.0 and math.copysign(1.0, s0[0]) == -1.0 and c0[0] == 1.0


def test_many_headings_equal_numpy_closely():
    rng = np.random.default_rng(1)
    a = rng.uniform(-math.pi, math.pi, 100_000)
    a[::97] = np.nan
    s, c = run(a)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(s, np.sin(a), rtol=0, atol=3e-16, equal_nan=True)
        np.testing.assert_allclose(c, np.cos(a), rtol=0, atol=3e-16, equal_nan=True)


def test_empty_and_one_element():
    s, c = run([])
    assert s.shape == (0,) and c.shape == (0,)
    s, c = run([1.0])
    assert abs(s[0] - math.sin(1.0)) <= 2 * np.spacing(math.sin(1.0))


def test_cos_sin_keeps_the_shape():
    a = np.linspace(-3, 3, 12).reshape(3, 4)
    c, s = trig.cos_sin(a)
    assert c.shape == s.shape == (3, 4)
    np.testing.assert_allclose(c, np.cos(a), atol=3e-16)
    np.testing.assert_allclose(s, np.sin(a), atol=3e-16)


def _pi(digits=80):
    # Machin: pi = 16 atan(1/5) - 4 atan(1/239), in integers
    def atan_inv(x):
        power = 10**digits // x
        total, n, sign = power, 1, -1
        while power:
            power //= x * x
            total += sign * (power // (2 * n + 1))
            sign, n = -sign, n + 1
        return total

    return Fraction(16 * atan_inv(5) - 4 * atan_inv(239), 10**digits)


def test_the_split_of_half_pi():
    half = _pi() / 2
    rest = half - Fraction(trig._P1) - Fraction(trig._P2) - Fraction(trig._P3)
    assert abs(float(rest)) < 1e-36
    # the first two parts have at most 33 significant bits: k * part is exact for |k| < 2^20
    for part in (trig._P1, trig._P2):
        mantissa = Fraction(part) / Fraction(2) ** (math.frexp(part)[1] - 33)
        assert mantissa.denominator == 1
    assert trig._LIMIT / (math.pi / 2) < 2**20
