"""kernels/emg_onepass.py: the sample-major path, the transposing path and the loop kinds agree.

Each equals the loop reference (tests/reference/emg.py) on hypothesis-drawn windows
(NaN, exact zeros, float32/float64); every loop kind gives the same values.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import moveo.kernels.emg as ids
import moveo.kernels.emg_onepass as k
from moveo.emg import FeaturePlan, windows
from moveo.emg.extraction import _sample_major
from reference.emg import reference_extract

FS = 1000.0
ONE_PASS = sorted(code for code, i in ids.FEATURE_IDS.items() if i in ids.FAST_IDS)


@st.composite
def sample_major_case(draw):
    n_ch = draw(st.integers(1, 5))
    size = draw(st.integers(3, 30))
    inc = draw(st.integers(1, size + 2))
    n = draw(st.integers(size, 120))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        data = rng.integers(-3, 4, size=(n, n_ch)) * 0.5  # exact zeros: the ZC recount
    else:
        data = rng.standard_normal((n, n_ch))
    if draw(st.booleans()):
        data[draw(st.integers(0, n - 1)), draw(st.integers(0, n_ch - 1))] = np.nan
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return np.ascontiguousarray(data, dtype=dtype), size, inc


@given(
    case=sample_major_case(),
    codes=st.lists(st.sampled_from(ONE_PASS), min_size=1, max_size=6, unique=True),
    threshold=st.sampled_from([0.0, 0.5]),
)
def test_sample_major_path_equals_transposing_path_and_reference(case, codes, threshold):
    data, size, inc = case
    if data.shape[1] < 2:
        codes = [c for c in codes if c not in ("RMSPHASOR", "WLPHASOR")] or ["MAV"]
    w = windows(data, size, inc)
    flat, increment = _sample_major(w)
    assert increment == (inc if w.shape[0] > 1 else 1)
    assert flat.flags.c_contiguous and not flat.flags.writeable
    params = {c: {"threshold": threshold} for c in ("ZC", "SSC", "WAMP") if c in codes}
    plan = FeaturePlan(codes, fs=FS, n_channels=w.shape[1], size=size, params=params)
    rows = np.full((w.shape[0], plan.n_columns), -7.0)
    k.fast_rows(flat, increment, w.shape[0], plan._fast, rows)
    generic = np.full_like(rows, -7.0)
    k.fast_windows(np.asfortranarray(w), plan._fast, generic)
    np.testing.assert_array_equal(rows, generic)
    ref = reference_extract(w, codes, FS, params)
    got = plan.split(rows)
    for code in codes:
        np.testing.assert_allclose(got[code], ref[code], rtol=1e-9, atol=1e-9, equal_nan=True)


def test_sample_major_detection():
    data = np.zeros((50, 3))
    assert _sample_major(windows(data, 10, 4))[1] == 4
    assert _sample_major(windows(np.asfortranarray(data), 10, 4)) is None
    assert _sample_major(np.zeros((2, 3, 10))) is None  # windows stored channel rows first
    one = data[:10].T[None]
    flat, inc = _sample_major(one)
    assert inc == 1 and flat.shape == (10, 3)
    assert _sample_major(windows(data, 60, 1)) is None  # no window at all


@pytest.mark.parametrize("layout", ["ring-view", "C-copy", "F-strided", "float32-ring"])
def test_window_any_layout_equals_transform(layout):
    rng = np.random.default_rng(11)
    buffer = rng.standard_normal((400, 6))
    buffer[::37, 2] = 0.0
    win = {
        "ring-view": buffer[-100:].T,
        "C-copy": np.ascontiguousarray(buffer[-100:].T),
        "F-strided": np.asfortranarray(buffer)[-200::2].T,
        "float32-ring": buffer[-100:].astype(np.float32).T,
    }[layout]
    plan = FeaturePlan(["HTD", "TDPSD", "RMS", "MNF", "AR"], fs=FS, n_channels=6, size=100)
    expected = plan.transform(np.ascontiguousarray(win)[None])[0]
    np.testing.assert_allclose(plan.window(win), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("codes", "kind"),
    [
        (["MAV", "RMS", "MPK", "MEAN"], k.KIND_AMP),
        (["MAV", "ZC", "SSC", "WL"], k.KIND_HTD),
        (["M0", "M2", "M4", "SPARSI", "IRF", "WLF", "RMS"], k.KIND_TDPSD),
        (["WAMP"], k.KIND_FULL),
        (["MAV", "MPK", "WL"], k.KIND_FULL),
    ],
)
def test_sums_kind_is_the_leanest_loop(codes, kind):
    assert k.sums_kind([ids.FEATURE_IDS[c] for c in codes]) == kind


def test_every_loop_kind_gives_the_same_values():
    # a feature computed in its lean loop equals the same feature from the full loop
    data = np.random.default_rng(5).standard_normal((300, 4))
    w = windows(data, 60, 20)
    flat, inc = _sample_major(w)
    for code in ("MAV", "RMS", "WL", "ZC", "SSC", "M0", "IRF", "WLF"):
        plan = FeaturePlan(code, fs=FS, n_channels=4, size=60)
        lean = np.empty((w.shape[0], plan.n_columns))
        full = np.empty_like(lean)
        k.fast_rows(flat, inc, w.shape[0], plan._fast, lean)
        k.fast_rows(flat, inc, w.shape[0], plan._fast._replace(kind=k.KIND_FULL), full)
        np.testing.assert_array_equal(lean, full, err_msg=code)


def test_one_pass_plan_build_fixes_types_and_checks_shapes():
    plan = k.OnePassPlan.build([ids.FEATURE_IDS["MAV"]], [0], thr_zc=1)
    assert plan.codes.dtype == np.int64 and plan.offs.dtype == np.int64
    assert plan.kind == k.KIND_AMP and isinstance(plan.thr_zc, float)
    with pytest.raises(ValueError, match="codes and offs must be 1-D of one length"):
        k.OnePassPlan.build([0, 1], [0])


@pytest.mark.parametrize("n_ch", [1, 3, 8, 31, 32, 40])
def test_windows_side_by_side_equal_the_direct_path(n_ch):
    # Below LANES_WIDTH channels fast_rows sums several windows side by side; every
    # window (full groups, the short last group of a block, several blocks) is bit for
    # bit what the one-window path computes, for every one-pass code at once.
    rng = np.random.default_rng(n_ch)
    size, inc = 50, 7
    per_block = k._block(n_ch, size, inc)
    n_w = 2 * per_block + 5
    data = rng.standard_normal(((n_w - 1) * inc + size, n_ch))
    data[::13, 0] = 0.0  # the ZC recount and LD's zero
    data[40:45, -1] = np.nan
    w = windows(data, size, inc)
    codes = ONE_PASS if n_ch > 1 else [c for c in ONE_PASS if "PHASOR" not in c]
    plan = FeaturePlan(codes, fs=FS, n_channels=n_ch, size=size)
    assert (k._lanes(n_ch) > 1) == (n_ch < k.LANES_WIDTH)
    flat, increment = _sample_major(w)
    rows = np.full((n_w, plan.n_columns), -7.0)
    k.fast_rows(flat, increment, n_w, plan._fast, rows)
    par = np.full_like(rows, -7.0)
    k.fast_rows_parallel(flat, increment, n_w, plan._fast, par)
    one = np.full_like(rows, -7.0)
    for i in range(n_w):
        k.fast_window(np.asfortranarray(w[i]), plan._fast, one[i])
    np.testing.assert_array_equal(rows, one)
    np.testing.assert_array_equal(par, one)
    assert not (rows == -7.0).any()


def test_ld_edges_in_the_one_pass_kernel():
    # LD = exp(mean ln|x|): 0 with a zero sample (also beside an infinite one), inf
    # with an infinite one, NaN with a NaN; the realtime window agrees with the batch
    cases = {
        "ones": ([1.0] * 6, 1.0),
        "zero-and-inf": ([0.0, np.inf, 1.0, 2.0, 3.0, 4.0], 0.0),
        "inf": ([np.inf, 1.0, 2.0, 3.0, 4.0, 5.0], np.inf),
        "nan": ([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0], np.nan),
        "geometric": ([1.0, -2.0, 4.0, -8.0, 16.0, -32.0], 2.0**2.5),
    }
    for name, (values, want) in cases.items():
        data = np.array(values)[:, None]
        plan = FeaturePlan("LD", fs=FS, n_channels=1, size=6)
        batch = plan.transform(windows(data, 6, 1))[0, 0]
        ring = np.ascontiguousarray(data)
        realtime = plan.window(ring[-6:].T)[0]
        np.testing.assert_allclose(batch, want, rtol=1e-15, err_msg=name)
        np.testing.assert_array_equal(realtime, batch, err_msg=name)
