"""Signal-view kernels: per-column min/max and the envelope raster match slow references.

Hypothesis draws NaN samples, empty and single-row inputs, columns partly or wholly
outside the data and bands thinner than a pixel; hand-worked cases pin the layout
(channel 0 on top, a value of 1/gain at a band's edge, connected columns).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moveo.kernels.display import envelope_raster, minmax_buckets
from reference.realtime import envelope_raster_ref, minmax_buckets_ref

_values = st.one_of(st.floats(-5, 5, width=32), st.just(float("nan")))


@st.composite
def sample_blocks(draw):
    n = draw(st.integers(0, 40))
    n_ch = draw(st.integers(1, 4))
    data = draw(hnp.arrays(np.float32, (n, n_ch), elements=_values))
    first = draw(st.integers(0, 50))
    spb = draw(st.integers(1, 7))
    n_cols = draw(st.integers(1, 12))
    col0 = draw(st.integers(first // spb - 3, (first + n) // spb + 1))
    return data, first, spb, col0, n_cols


@given(sample_blocks())
def test_minmax_buckets_matches_reference(block):
    data, first, spb, col0, n_cols = block
    lo = np.full((data.shape[1], n_cols), np.nan, np.float32)
    hi = lo.copy()
    minmax_buckets(data, first, spb, col0, lo, hi)
    ref_lo, ref_hi = minmax_buckets_ref(data, first, spb, col0, n_cols)
    np.testing.assert_array_equal(lo, ref_lo)
    np.testing.assert_array_equal(hi, ref_hi)


@given(sample_blocks(), st.data())
def test_minmax_buckets_in_pieces_equals_at_once(block, data):
    samples, first, spb, col0, n_cols = block
    cut = data.draw(st.integers(0, samples.shape[0]))
    lo = np.full((samples.shape[1], n_cols), np.nan, np.float32)
    hi = lo.copy()
    minmax_buckets(samples[:cut], first, spb, col0, lo, hi)
    minmax_buckets(samples[cut:], first + cut, spb, col0, lo, hi)
    ref_lo, ref_hi = minmax_buckets_ref(samples, first, spb, col0, n_cols)
    np.testing.assert_array_equal(lo, ref_lo)
    np.testing.assert_array_equal(hi, ref_hi)


def test_minmax_buckets_hand_worked():
    data = np.array([[1.0], [3.0], [np.nan], [-2.0], [5.0]], np.float32)
    lo = np.full((1, 3), np.nan, np.float32)
    hi = lo.copy()
    # samples 4..8, two per column, column 0 = samples 4-5
    minmax_buckets(data, 4, 2, 2, lo, hi)
    np.testing.assert_array_equal(lo, [[1.0, -2.0, 5.0]])
    np.testing.assert_array_equal(hi, [[3.0, -2.0, 5.0]])


@st.composite
def envelopes(draw):
    n_ch = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 10))
    lo = draw(hnp.arrays(np.float32, (n_ch, n_cols), elements=_values))
    spread = draw(hnp.arrays(np.float32, (n_ch, n_cols), elements=st.floats(0, 3, width=32)))
    hi = (lo + spread).astype(np.float32)
    height = draw(st.integers(1, 30))
    gain = draw(st.floats(0.05, 4.0))
    colors = draw(hnp.arrays(np.uint8, (n_ch, 4)))
    return lo, hi, gain, colors, height


@given(envelopes())
def test_envelope_raster_matches_reference(env):
    lo, hi, gain, colors, height = env
    out = np.full((height, lo.shape[1], 4), 77, np.uint8)  # stale content is overwritten
    envelope_raster(lo, hi, gain, colors, out)
    np.testing.assert_array_equal(out, envelope_raster_ref(lo, hi, gain, colors, height))


def test_envelope_raster_hand_worked():
    # 2 channels in 8 rows: bands of 4 rows, centres at rows 2 and 6; gain 1 means a
    # value of 1 reaches the band's top edge (2 rows above the centre)
    lo = np.array([[0.0, -1.0, np.nan, 0.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    hi = np.array([[0.0, 1.0, np.nan, 0.5], [0.0, 0.0, 0.0, 9.0]], np.float32)
    colors = np.array([[255, 0, 0, 255], [0, 255, 0, 255]], np.uint8)
    out = np.zeros((8, 4, 4), np.uint8)
    envelope_raster(lo, hi, 1.0, colors, out)
    lit = out[:, :, 3] > 0
    expected = np.array([
        # col: 0  1  2  3
        [0, 1, 0, 0],
        [0, 1, 0, 1],  # col 3: 0.5 -> row 1; col 2 is NaN so col 3 does not connect
        [1, 1, 0, 1],
        [0, 1, 0, 0],  # col 1: -1 -> row 4 clamped to the band's last row 3
        [0, 0, 0, 1],  # channel 1, col 3: 9 clamped to the band's first row 4
        [0, 0, 0, 1],
        [1, 1, 1, 1],
        [0, 0, 0, 0],
    ], bool)
    np.testing.assert_array_equal(lit, expected)
    assert (out[lit & (np.arange(8)[:, None] < 4)] == colors[0]).all()
    assert (out[lit & (np.arange(8)[:, None] >= 4)] == colors[1]).all()


def test_envelope_raster_connects_columns():
    # a step from -1 to +1 between two columns: the second column reaches back down
    lo = np.array([[-1.0, 1.0]], np.float32)
    hi = lo.copy()
    out = np.zeros((11, 2, 4), np.uint8)
    envelope_raster(lo, hi, 1.0, np.full((1, 4), 255, np.uint8), out)
    lit = out[:, :, 3] > 0
    assert lit[:, 0].tolist() == [False] * 10 + [True]  # -1 at the band's bottom row
    assert lit[:, 1].all()  # from +1 (top row) all the way back down to -1
