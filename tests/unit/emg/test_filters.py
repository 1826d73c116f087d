"""EMG filters: designs and streaming/zero-phase filtering match scipy, chunking is exact, NaN
is rejected.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

from moveo.emg import filters

FS = 2000.0


def _sos():
    return np.vstack(
        [filters.butter_bandpass(20.0, 450.0, FS), filters.notch(50.0, FS, harmonics=3)]
    )


def test_design_matches_scipy():
    np.testing.assert_allclose(
        filters.butter_bandpass(20.0, 450.0, FS, order=3),
        signal.butter(3, [20.0, 450.0], btype="bandpass", fs=FS, output="sos"),
    )
    np.testing.assert_allclose(
        filters.butter_highpass(10.0, FS),
        signal.butter(4, 10.0, btype="highpass", fs=FS, output="sos"),
    )
    np.testing.assert_allclose(
        filters.butter_lowpass(300.0, FS, order=5),
        signal.butter(5, 300.0, btype="lowpass", fs=FS, output="sos"),
    )


def test_notch_attenuates_mains_and_harmonics():
    sos = filters.notch(50.0, FS, harmonics=3, quality=30.0)
    assert sos.shape == (3, 6)
    for f in (50.0, 100.0, 150.0):
        _, h = signal.sosfreqz(sos, worN=[f], fs=FS)
        assert abs(h[0]) < 1e-6
    _, h = signal.sosfreqz(sos, worN=[300.0], fs=FS)
    assert abs(h[0]) > 0.95


def test_bandpass_passes_band_and_stops_outside():
    sos = filters.butter_bandpass(20.0, 450.0, FS)
    _, h = signal.sosfreqz(sos, worN=[5.0, 150.0, 900.0], fs=FS)
    assert abs(h[1]) > 0.99
    assert abs(h[0]) < 0.05
    assert abs(h[2]) < 0.05


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: filters.butter_bandpass(450.0, 20.0, FS), "low .* must be below high"),
        (lambda: filters.butter_bandpass(20.0, 1000.0, FS), "high=1000.0 Hz must lie strictly"),
        (lambda: filters.butter_lowpass(10.0, fs=-1.0), "fs must be the sampling rate"),
        (lambda: filters.butter_highpass(10.0, FS, order=0), "order must be a positive integer"),
        (
            lambda: filters.notch(50.0, 250.0, harmonics=3),
            "harmonic 3 of 50.0 Hz .* use harmonics <= 2",
        ),
        (lambda: filters.notch(50.0, FS, quality=0), "quality must be a positive"),
        (lambda: filters.StreamingFilter(np.zeros((2, 5)), 2), "sos must have shape"),
        (lambda: filters.StreamingFilter(_sos(), 0), "n_channels must be a positive"),
    ],
)
def test_bad_design_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streaming_matches_scipy_sosfilt(dtype):
    sos = _sos()
    x = np.random.default_rng(1).standard_normal((3000, 5)).astype(dtype)
    f = filters.StreamingFilter(sos, 5)
    out = np.concatenate([f.process(x[i : i + 10]) for i in range(0, 3000, 10)])
    assert out.dtype == dtype
    ref = signal.sosfilt(sos, x.astype(np.float64), axis=0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, ref, atol=tol)
    # and the state is scipy's zi
    _, zf = signal.sosfilt(sos, x.astype(np.float64), axis=0, zi=np.zeros((sos.shape[0], 2, 5)))
    np.testing.assert_allclose(f.state, zf, atol=1e-12)


@given(
    n=st.integers(0, 300),
    cuts=st.lists(st.integers(0, 300), max_size=8),
    n_ch=st.integers(1, 4),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_chunked_equals_one_call(n, cuts, n_ch, dtype, seed):
    sos = _sos()
    x = np.random.default_rng(seed).standard_normal((n, n_ch)).astype(dtype)
    whole = filters.StreamingFilter(sos, n_ch).process(x)
    chunked = filters.StreamingFilter(sos, n_ch)
    bounds = sorted({0, n, *(c for c in cuts if c <= n)})
    parts = [chunked.process(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    got = np.concatenate(parts) if parts else np.empty((0, n_ch), dtype=dtype)
    np.testing.assert_array_equal(got, whole)  # bit-identical, not just close
    np.testing.assert_array_equal(filters.filter(x, sos), whole)


def test_reset_and_in_place():
    sos = _sos()
    x = np.random.default_rng(2).standard_normal((200, 3))
    f = filters.StreamingFilter(sos, 3)
    first = f.process(x)
    f.reset()
    assert not f.state.any()
    buf = x.copy()
    again = f.process(buf, out=buf)
    assert again is buf
    np.testing.assert_array_equal(again, first)


def test_streaming_rejects_nan_and_keeps_state():
    f = filters.StreamingFilter(_sos(), 2)
    f.process(np.ones((20, 2)))
    before = f.state.copy()
    bad = np.ones((5, 2))
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="sample 3, channel 1"):
        f.process(bad)
    np.testing.assert_array_equal(f.state, before)
    with pytest.raises(ValueError, match="has 3 channels, the filter was built for 2"):
        f.process(np.ones((5, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        f.process(np.array([["a", "b"]]))


def test_zero_phase_matches_sosfiltfilt():
    sos = _sos()
    x = np.random.default_rng(3).standard_normal((2000, 3))
    np.testing.assert_allclose(
        filters.filter(x, sos, zero_phase=True), signal.sosfiltfilt(sos, x, axis=0), atol=1e-10
    )
    one = filters.filter(x[:, 0].astype(np.float32), sos, zero_phase=True)
    assert one.shape == (2000,) and one.dtype == np.float32
    with pytest.raises(ValueError, match="needs more than"):
        filters.filter(x[:10], sos, zero_phase=True)


def test_zero_phase_has_no_lag():
    # a low-passed slow sine keeps its phase with zero_phase, lags without
    t = np.arange(4000) / FS
    x = np.sin(2 * np.pi * 5.0 * t)[:, None]
    sos = filters.butter_lowpass(40.0, FS)
    zp = filters.filter(x, sos, zero_phase=True)[1000:3000, 0]
    causal = filters.filter(x, sos)[1000:3000, 0]
    assert np.max(np.abs(zp - x[1000:3000, 0])) < 1e-3
    assert np.max(np.abs(causal - x[1000:3000, 0])) > 1e-2
