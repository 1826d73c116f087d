"""The mixed-radix FFT and the paired real power spectra vs numpy.fft (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.emg import extract, windows
from moveo.kernels.emg_spectral import fft, fft_plan, power_spectra
from reference.emg import reference_extract

# every radix path: powers of two (radix 4 + 2), 3, 5, other primes, mixtures
SIZES = st.one_of(
    st.integers(1, 300),
    st.sampled_from([128, 200, 243, 256, 625, 1000, 1024, 2 * 3 * 5 * 7 * 11]),
)


@given(n=SIZES, seed=st.integers(0, 2**32 - 1))
def test_fft_matches_numpy(n, seed):
    rng = np.random.default_rng(seed)
    re = rng.standard_normal(n)
    im = rng.standard_normal(n)
    ref = np.fft.fft(re + 1j * im)
    fft(re, im, *fft_plan(n))
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(re + 1j * im, ref, rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize(
    ("n", "radices"),
    [(1, []), (2, [2]), (8, [4, 2]), (200, [4, 2, 5, 5]), (97, [97]), (90, [2, 3, 3, 5])],
)
def test_fft_plan_radices(n, radices):
    wre, wim, factors = fft_plan(n)
    assert factors.tolist() == radices
    assert int(np.prod(factors)) == n
    # W_n^k table first, then the stage twiddles, all on the unit circle
    np.testing.assert_allclose(wre[:n] + 1j * wim[:n], np.exp(-2j * np.pi * np.arange(n) / n))
    np.testing.assert_allclose(np.hypot(wre, wim), 1.0)


def test_fft_of_an_impulse_and_a_constant():
    # hand-worked: DFT(δ) = 1 everywhere, DFT(1) = n at k = 0
    n = 20
    re = np.zeros(n)
    re[0] = 1.0
    im = np.zeros(n)
    fft(re, im, *fft_plan(n))
    np.testing.assert_allclose(re, 1.0, atol=1e-15)
    np.testing.assert_allclose(im, 0.0, atol=1e-15)
    re = np.ones(n)
    im = np.zeros(n)
    fft(re, im, *fft_plan(n))
    assert re[0] == pytest.approx(20.0)
    np.testing.assert_allclose(re[1:], 0.0, atol=1e-13)


@given(
    n=SIZES,
    n_ch=st.integers(1, 6),
    zero=st.lists(st.booleans(), min_size=6, max_size=6),
    skip=st.lists(st.booleans(), min_size=6, max_size=6),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_power_spectra_match_rfft(n, n_ch, zero, skip, scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_ch, n)) * scale
    x[np.array(zero[:n_ch])] = 0.0
    skipped = np.array(skip[:n_ch])
    power = np.full((n_ch, n // 2 + 1), -1.0)
    power_spectra(x, skipped, *fft_plan(n), power)
    ref = np.abs(np.fft.rfft(x, axis=1)) ** 2
    for c in range(n_ch):
        if skipped[c]:
            assert (power[c] == -1.0).all()  # left untouched
        elif zero[c]:
            assert (power[c] == 0.0).all()  # exactly zero, not its partner's rounding
        else:
            np.testing.assert_allclose(power[c], ref[c], rtol=0, atol=1e-12 * ref[c].max())


@given(
    order=st.sampled_from([0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 0.5, 1.5, 2.5]),
    size=st.integers(2, 64),
    seed=st.integers(0, 2**32 - 1),
)
def test_spectral_moment_integer_and_fractional_orders_match_reference(order, size, seed):
    # small integer orders take the product path, others the pow path: both match
    data = np.random.default_rng(seed).standard_normal((3 * size, 2))
    w = windows(data, size, max(1, size // 2))
    params = {"SM": {"order": order}}
    ours = extract(w, "SM", fs=500.0, params=params)["SM"]
    ref = reference_extract(w, ["SM"], 500.0, params)["SM"]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
