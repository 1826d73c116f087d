"""FeaturePlan.window's realtime fast path (kernels.emg_onepass.fast_window) vs the general path.

The fast path (the compiled entry point of fast_window, called without numba's
argument typing) is taken exactly for writeable, aligned, channel-contiguous native
float windows of a one-pass-only plan, and gives the general path's and the loop
reference's values.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import moveo.kernels.emg as k
import moveo.kernels.emg_onepass as onepass
from moveo.emg import FeaturePlan
from moveo.emg._catalogue import PAIR_CODES, SPECS, min_size
from reference.emg import reference_extract

FS = 1000.0
ONE_PASS = sorted(code for code, i in k.FEATURE_IDS.items() if i in k.FAST_IDS)


@pytest.fixture
def fast_calls(monkeypatch):
    """Count the calls that reach kernels.emg_onepass.fast_window's entry point (the fast path)."""
    calls = []
    real = onepass.fast_window_entry

    def entry(dtype, plan):
        compiled = real(dtype, plan)

        def counting(*args):
            calls.append(args[0].shape)
            return compiled(*args)

        return counting

    monkeypatch.setattr(onepass, "fast_window_entry", entry)
    return calls


@st.composite
def ring_window(draw):
    """A writeable C-ordered ring buffer's newest ``size`` samples, channels first."""
    n_ch = draw(st.integers(1, 6))
    size = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "integers", "scaled"]))
    if kind == "normal":
        data = rng.standard_normal((size + 5, n_ch))
    elif kind == "integers":
        data = rng.integers(-3, 4, size=(size + 5, n_ch)) * 0.5  # exact zeros, ties
    else:
        data = rng.standard_normal((size + 5, n_ch)) * draw(st.sampled_from([1e-30, 1e-3, 1e20]))
    if draw(st.booleans()):  # a constant channel (zero or not)
        data[:, draw(st.integers(0, n_ch - 1))] = draw(st.sampled_from([0.0, 1.5, -2.0]))
    if draw(st.booleans()):  # a NaN in one channel's window
        data[draw(st.integers(5, size + 4)), draw(st.integers(0, n_ch - 1))] = np.nan
    buffer = np.ascontiguousarray(data, dtype=draw(st.sampled_from([np.float32, np.float64])))
    return buffer[-size:].T


@given(
    win=ring_window(),
    features=st.one_of(
        st.sampled_from(["HTD", "TDPSD", ["HTD", "TDPSD"], "LS4"]),
        st.lists(st.sampled_from(ONE_PASS), min_size=1, max_size=6, unique=True),
    ),
    threshold=st.sampled_from([0.0, 0.5]),
)
def test_fast_path_equals_general_path_and_reference(win, features, threshold):
    n_ch, size = win.shape
    probe = FeaturePlan(features, fs=FS, n_channels=max(n_ch, 2), size=max(size, 8))
    codes = [
        c
        for c in probe.codes
        if size >= min_size(c, SPECS[c].params) and (n_ch >= 2 or c not in PAIR_CODES)
    ]
    if not codes:
        return
    params = {c: {"threshold": threshold} for c in ("ZC", "SSC", "WAMP") if c in codes}
    plan = FeaturePlan(codes, fs=FS, n_channels=n_ch, size=size, params=params)
    if plan._window_args is None:  # LS (whole-window) makes a plan without the fast path
        return
    out = np.full(plan.n_columns, -7.0)
    got = plan.window(win, out)
    assert got is out
    general = plan.transform(np.ascontiguousarray(win)[None])[0]
    np.testing.assert_allclose(got, general, rtol=1e-12, atol=1e-14, equal_nan=True)
    ref = reference_extract(win[None], list(plan.codes), FS, params)
    split = plan.split(got[None])
    for code in plan.codes:
        np.testing.assert_allclose(
            split[code], ref[code], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=code
        )


@pytest.mark.parametrize("group", ["HTD", "TDPSD"])
def test_fast_path_is_taken_for_ring_windows_only(group, fast_calls):
    rng = np.random.default_rng(2)
    buffer = rng.standard_normal((300, 8)).astype(np.float32)
    plan = FeaturePlan(group, fs=FS, n_channels=8, size=100)
    out = np.empty(plan.n_columns)
    expected = plan.transform(np.ascontiguousarray(buffer[-100:].T)[None])[0]
    plan.window(buffer[-100:].T, out)
    assert fast_calls == [(8, 100)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # read-only, channel rows contiguous, strided, float16 or big-endian: general path
    readonly = buffer[-100:].T.copy(order="F")
    readonly.flags.writeable = False
    wide = np.zeros((100, 16), dtype=np.float32)
    wide[:, ::2] = buffer[-100:]
    others = [
        readonly,
        np.ascontiguousarray(buffer[-100:].T),
        wide[:, ::2].T,  # same values, channels strided
        buffer[-100:].T.astype(np.float16),
        buffer[-100:].astype(">f4").T,
    ]
    for win in others:
        got = plan.window(win)
        np.testing.assert_allclose(got, expected, rtol=1e-3 if win.dtype == np.float16 else 1e-12)
    assert len(fast_calls) == 1
    # a plan with whole-window features never takes it
    mixed = FeaturePlan([group, "MNF"], fs=FS, n_channels=8, size=100)
    mixed.window(buffer[-100:].T)
    assert len(fast_calls) == 1


def test_fast_path_nan_and_constant_windows():
    buffer = np.zeros((50, 4), dtype=np.float32)
    buffer[:, 1] = 2.5  # constant, nonzero
    buffer[:, 2] = np.linspace(-1.0, 1.0, 50)
    buffer[30, 3] = np.nan
    plan = FeaturePlan(["HTD", "TDPSD"], fs=FS, n_channels=4, size=50)
    got = plan.split(plan.window(buffer.T, np.empty(plan.n_columns))[None])
    ref = reference_extract(buffer.T[None], list(plan.codes), FS)
    for code in plan.codes:
        np.testing.assert_allclose(got[code], ref[code], rtol=1e-12, equal_nan=True, err_msg=code)
        assert np.isnan(got[code][0, 3])  # the channel holding a NaN
    # hand-worked: a zero channel and a constant channel
    assert got["MAV"][0, :2].tolist() == [0.0, 2.5]
    assert got["ZC"][0, :2].tolist() == [0.0, 0.0]
    assert got["WL"][0, :2].tolist() == [0.0, 0.0]
    # zero channel: stage one ln m̃0 = -inf, stage two (ln ε, constant) finite: f = 0
    assert got["M0"][0, 0] == 0.0
    # constant 2.5: a = ln m̃0 of x, b = ln m̃0 of ln(2.5² + ε) (m̃2 = m̃4 = 0 in both)
    a = np.log((np.sqrt(50 * 2.5**2) / 49) ** 0.1 / 0.1)
    b = np.log((np.sqrt(50) * abs(np.log(2.5**2 + 2.0**-52)) / 49) ** 0.1 / 0.1)
    for code in ("M0", "M2", "M4"):
        assert got[code][0, 1] == pytest.approx(-2 * a * b / (a * a + b * b), rel=1e-14)
    assert got["SPARSI"][0, 1] == 0.0  # ln 1 in both stages
    assert got["IRF"][0, 1] == -1.0 and got["WLF"][0, 1] == -1.0  # -inf in both stages


def test_out_is_the_callers_and_checked():
    buffer = np.random.default_rng(4).standard_normal((20, 3))
    plan = FeaturePlan("HTD", fs=FS, n_channels=3, size=20)
    first = plan.window(buffer.T)
    second = plan.window(buffer.T)
    assert first is not second  # without out= each call returns a new array
    np.testing.assert_array_equal(first, second)
    out = np.empty(plan.n_columns)
    assert plan.window(buffer.T, out=out) is out
    for bad in (np.empty(plan.n_columns + 1), np.empty(plan.n_columns, np.float32),
                np.empty(2 * plan.n_columns)[::2], [0.0] * plan.n_columns):
        with pytest.raises(ValueError, match=r"out must be a contiguous float64 array of shape"):
            plan.window(buffer.T, out=bad)
