"""temporal-stack: mosaic's parameters, column names (``c__t-05``, ``c__pool_mean``),
order and float32 dtype; values recorded from mosaic-behavior 0.17; segment-aware
(never across individuals, unlike mosaic); frames not rows; run on an upstream Result."""

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import SpeedAngvel, TemporalStack
from moveo.features.temporal_stack import lag_name
from moveo.io.synthetic import random_walk


def _impulse(n=12, at=5):
    a = np.zeros(n)
    a[at] = 1.0
    return pl.DataFrame(
        {"id": [1] * n, "frame": np.arange(n), "b": np.arange(n, dtype=float), "a": a}
    )


def test_defaults_and_column_names_are_mosaics():
    p = TemporalStack.Params()
    assert (p.half, p.skip, p.sigma_stack, p.sigma_pool, p.win_sec, p.pool_stats) == (
        60,
        5,
        30.0,
        30.0,
        0.5,
        ("mean",),
    )
    assert p.use_temporal_stack and p.add_pool
    df = _impulse(200).with_columns(time=pl.col("frame") / 30.0)
    out = TemporalStack().apply(df)
    offsets = list(range(-60, 61, 5))
    stacked = [lag_name(c, d) for d in offsets for c in ("a", "b")]
    assert out.columns == ["id", "frame", "time", *stacked, "a__pool_mean", "b__pool_mean"]
    assert len(stacked) == 50 and stacked[:3] == ["a__t-60", "b__t-60", "a__t-55"]
    assert "a__t+00" in stacked and "b__t+05" in stacked
    assert {out[c].dtype for c in out.columns[3:]} == {pl.Float32}
    stats = TemporalStack({"pool_stats": ["STD", "mean", "Variance"]}).apply(df)
    assert stats.columns[-6:] == [
        "a__pool_mean",
        "b__pool_mean",
        "a__pool_var",
        "b__pool_var",
        "a__pool_std",
        "b__pool_std",
    ]
    passthrough = TemporalStack({"use_temporal_stack": False, "add_pool": False}).apply(df)
    assert passthrough.columns == ["id", "frame", "time", "a", "b"]


def test_values_observed_from_mosaic():
    df = _impulse()
    plain = TemporalStack({"half": 2, "skip": 1, "sigma_stack": 0.0, "add_pool": False}).apply(df)
    assert plain.columns[2:] == [
        "a__t-02",
        "b__t-02",
        "a__t-01",
        "b__t-01",
        "a__t+00",
        "b__t+00",
        "a__t+01",
        "b__t+01",
        "a__t+02",
        "b__t+02",
    ]
    assert plain["b__t+02"].to_list() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 11]
    assert plain["b__t-02"].to_list() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    smooth = TemporalStack({"half": 2, "skip": 1, "sigma_stack": 1.0, "add_pool": False}).apply(df)
    # mosaic-behavior 0.17, sigma_stack=1: the smoothed impulse and the clamped ramp
    np.testing.assert_allclose(
        smooth["a__t+00"].to_numpy()[3:8],
        [0.053991, 0.241971, 0.398943, 0.241971, 0.053991],
        atol=1e-6,
    )
    np.testing.assert_allclose(smooth["b__t-02"][0], 0.363785, atol=1e-6)
    np.testing.assert_allclose(smooth["b__t+01"][0], 1.063256, atol=1e-6)
    # pooled mean of an impulse: the normalised weights; mosaic: radius 8 and centre
    # 0.3989423 at sigma_pool=1, radius 30 and centre 0.019252753 at sigma_pool=30
    long = _impulse(81, 40)
    for sigma, centre, reach in ((1.0, 0.3989423, 8), (30.0, 0.019252753, 30)):
        out = TemporalStack(
            {"half": 0, "sigma_stack": 0.0, "sigma_pool": sigma, "fps": 30.0}
        ).apply(long)
        m = out["a__pool_mean"].to_numpy()
        assert m[40] == pytest.approx(centre, rel=1e-6)
        nz = np.flatnonzero(m > 0)
        assert (nz.min() - 40, nz.max() - 40) == (-reach, reach)


def test_segment_aware_unlike_mosaic():
    # mosaic pads the whole table, so id 1's last rows read id 2's first values;
    # moveo clamps every individual to its own ends
    df = pl.concat(
        [_impulse(), _impulse().with_columns(id=pl.lit(2, dtype=pl.Int64), b=-pl.col("b"))]
    )
    out = TemporalStack({"half": 2, "skip": 1, "sigma_stack": 1.0, "add_pool": False}).apply(df)
    one = TemporalStack({"half": 2, "skip": 1, "sigma_stack": 1.0, "add_pool": False}).apply(
        _impulse()
    )
    assert out.filter(pl.col("id") == 1).equals(one)
    plain = TemporalStack({"half": 2, "skip": 1, "sigma_stack": 0.0, "add_pool": False})
    got = plain.apply(df).filter(pl.col("id") == 1)["b__t+02"].to_list()
    assert got[-2:] == [11.0, 11.0]  # mosaic gave -0.0 and -1.0 (id 2's values)
    # several sequences in one frame are kept apart too
    two = pl.concat(
        [
            _impulse().with_columns(sequence=pl.lit("s0")),
            _impulse().with_columns(sequence=pl.lit("s1")),
        ]
    )
    out = plain.apply(two)
    assert out.filter(pl.col("sequence") == "s0")["b__t+02"].to_list()[-1] == 11.0


def test_frames_not_rows_and_nan():
    # frames 0, 1, 3, 4: one frame later than frame 1 is frame 2, which is missing (NaN)
    df = pl.DataFrame({"id": [0] * 4, "frame": [0, 1, 3, 4], "v": [0.0, 1.0, 3.0, 4.0]})
    out = TemporalStack({"half": 1, "skip": 1, "sigma_stack": 0.0, "add_pool": False}).apply(df)
    np.testing.assert_array_equal(out["v__t+01"].to_numpy(), [1.0, np.nan, 4.0, 4.0])
    np.testing.assert_array_equal(out["v__t-01"].to_numpy(), [0.0, 0.0, np.nan, 3.0])
    # a NaN reaches as far as the smoothing does
    nan = _impulse(30).with_columns(
        pl.when(pl.col("frame") == 15).then(None).otherwise(pl.col("b")).alias("b")
    )
    out = TemporalStack({"half": 0, "sigma_stack": 1.0, "add_pool": False}).apply(nan)
    assert np.flatnonzero(np.isnan(out["b__t+00"].to_numpy())).tolist() == list(range(11, 20))


def test_bad_params_and_columns():
    with pytest.raises(ValidationError, match=r"unknown pool statistic\(s\) \['var'\]"):
        TemporalStack({"pool_stats": ["mean", "var"]})
    df = _impulse()
    with pytest.raises(ValueError, match=r"\['frame'\] are identity or bookkeeping columns"):
        TemporalStack({"columns": ["frame"]}).apply(df)
    with pytest.raises(ValueError, match=r"input has no column\(s\) \['speed'\]"):
        TemporalStack({"columns": ["speed"]}).apply(df)
    with pytest.raises(ValueError, match="no numeric payload columns"):
        TemporalStack().apply(df.select("id", "frame"))
    # the order and repeats of the names do not change the run
    assert TemporalStack({"columns": ["b", "a", "b"]}).params.columns == ["a", "b"]


def test_runs_on_speed_angvel(tmp_dataset):
    ds = tmp_dataset
    ds.add_tracks(random_walk(2, 150, seed=3, group="g0", sequence="s0"))
    speed = run_feature(ds, SpeedAngvel())
    res = run_feature(
        ds, TemporalStack({"half": 10, "skip": 5, "columns": ["speed"]}, inputs=(speed,))
    )
    out = pl.read_parquet(ds.features_root / "temporal-stack" / res.run_id / "g0" / "s0.parquet")
    assert out.columns == [
        "group",
        "sequence",
        "id",
        "frame",
        "speed__t-10",
        "speed__t-05",
        "speed__t+00",
        "speed__t+05",
        "speed__t+10",
        "speed__pool_mean",
    ]
    assert out.height == 300
