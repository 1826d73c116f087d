"""kernels/emg_vmath.py: vlog / vexp / log_square_eps equal numpy within 2 ulp.

Hypothesis draws over the whole double range (subnormals, 0, inf, NaN) plus dense
sweeps and hand-worked values.
"""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moveo.kernels.emg_vmath import log_abs, log_square_eps, vexp, vlog

SMALLEST_SUBNORMAL = 5e-324
MIN_NORMAL = 2.2250738585072014e-308


def _ulps(got, want):
    """Distance in units of the last place of ``want`` (finite, nonzero ``want``)."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def _run(fn, x, *, in_place=False):
    x = np.ascontiguousarray(x, dtype=np.float64)
    if in_place:
        out = x.copy()
        fn(out, out)
        return out
    out = np.full_like(x, -7.0)
    fn(x, out)
    return out


def _check_log(x, got):
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.log(x)
    finite = np.isfinite(want) & (want != 0.0)
    assert _ulps(got[finite], want[finite]).max(initial=0.0) <= 2.0
    # log(1) = 0, log(0) = -inf, log(inf) = inf, log(<0) = nan, nan -> nan: exactly numpy's
    np.testing.assert_array_equal(got[~finite], want[~finite])


def _check_exp(y, got):
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(y)
    normal = np.isfinite(want) & (want >= MIN_NORMAL)
    assert _ulps(got[normal], want[normal]).max(initial=0.0) <= 2.0
    sub = np.isfinite(want) & (want < MIN_NORMAL) & (want > 0.0)
    # subnormal results carry fewer bits: within one smallest subnormal
    assert np.abs(got[sub] - want[sub]).max(initial=0.0) <= SMALLEST_SUBNORMAL
    rest = ~(normal | sub)
    np.testing.assert_array_equal(got[rest], want[rest])


any_double = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
positive_double = st.floats(min_value=0.0, allow_nan=False, allow_infinity=True)
tiny_double = st.floats(min_value=0.0, max_value=1e-300, allow_subnormal=True)


@given(
    x=hnp.arrays(
        np.float64,
        st.integers(0, 70),
        elements=st.one_of(positive_double, tiny_double, any_double),
    ),
    in_place=st.booleans(),
)
def test_vlog_matches_numpy_over_every_double(x, in_place):
    _check_log(x, _run(vlog, x, in_place=in_place))


@given(
    y=hnp.arrays(
        np.float64,
        st.integers(0, 70),
        elements=st.one_of(
            st.floats(-800.0, 800.0),
            st.floats(-40.0, 40.0),  # what the TD-PSD moments use: |λ/2 log S| < 38
            st.floats(-1e-10, 1e-10),
            any_double,
        ),
    ),
    in_place=st.booleans(),
)
def test_vexp_matches_numpy_over_its_range(y, in_place):
    _check_exp(y, _run(vexp, y, in_place=in_place))


def test_vlog_dense_sweep_and_edges():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.exp(rng.uniform(-744.0, 709.0, 20_000)),
            rng.uniform(0.5, 2.0, 5_000),  # around the reduction boundaries sqrt(1/2), sqrt(2)
            1.0 + rng.uniform(-1e-9, 1e-9, 1_000),
            [SMALLEST_SUBNORMAL, 1e-310, MIN_NORMAL, np.nextafter(MIN_NORMAL, 0.0)],
            [math.sqrt(0.5), np.nextafter(math.sqrt(0.5), 0.0), math.sqrt(2.0)],
            [np.finfo(np.float64).max, 0.0, -0.0, -1.0, np.inf, -np.inf, np.nan],
        ]
    )
    _check_log(x, _run(vlog, x))


def test_vexp_dense_sweep_and_edges():
    rng = np.random.default_rng(1)
    y = np.concatenate(
        [
            rng.uniform(-746.0, 710.0, 20_000),
            [709.78, 709.79, -708.39, -708.4, -745.1, -745.2, -746.0, 0.0, -0.0],
            [np.inf, -np.inf, np.nan, 1e300, -1e300],
        ]
    )
    _check_exp(y, _run(vexp, y))


def test_hand_worked_values():
    np.testing.assert_array_equal(_run(vlog, [1.0, 0.0, np.inf]), [0.0, -np.inf, np.inf])
    np.testing.assert_allclose(
        _run(vlog, [math.e, 2.0, 1024.0]), [1.0, math.log(2), 10 * math.log(2)], rtol=3e-16
    )
    np.testing.assert_array_equal(_run(vexp, [0.0, -np.inf, np.inf]), [1.0, 0.0, np.inf])
    np.testing.assert_allclose(
        _run(vexp, [1.0, math.log(2.0), -1.0]), [math.e, 2.0, 1 / math.e], rtol=3e-16
    )
    assert np.isnan(_run(vlog, [-1.0, np.nan])).all()
    assert np.isnan(_run(vexp, [np.nan])).all()


@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=40),
        elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    )
)
def test_log_square_eps_matches_numpy(x):
    y = np.full_like(x, -7.0)
    log_square_eps(x, y)
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.log(x * x + 2.0**-52)  # x² + ε > 0: finite or inf, NaN for NaN
    finite = np.isfinite(want)
    # 2 ulp of the logarithm, plus the argument's own rounding (x² + ε may be fused,
    # one ulp of an argument near 1 is 2^-52 absolute in its logarithm)
    err = np.abs(y[finite] - want[finite])
    assert (err <= 2 * np.spacing(np.abs(want[finite])) + 2.0**-52).all()
    np.testing.assert_array_equal(y[~finite], want[~finite])


@given(
    x=hnp.arrays(
        st.sampled_from([np.float64, np.float32]),
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=40),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=32),
    )
)
def test_log_abs_matches_numpy(x):
    # LD's logarithms: vlog's result for |x| (2 ulp of numpy), ln 0 = -inf, inf, NaN
    y = np.full(x.shape, -7.0)
    log_abs(x, y)
    with np.errstate(divide="ignore"):
        want = np.log(np.abs(x.astype(np.float64)))
    finite = np.isfinite(want)
    assert (np.abs(y[finite] - want[finite]) <= 2 * np.spacing(np.abs(want[finite]))).all()
    np.testing.assert_array_equal(y[~finite], want[~finite])
    check = np.full(x.size, -7.0)
    vlog(np.abs(x.astype(np.float64)).reshape(-1), check)
    np.testing.assert_array_equal(y.reshape(-1), check)  # the same numbers as vlog
