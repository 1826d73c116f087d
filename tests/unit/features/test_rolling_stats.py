"""rolling-stats: hand-worked windows over gaps, on an upstream feature, bad input, vs the
reference.
"""

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.features import RollingStats, SpeedAngvel
from moveo.pipeline.types import Result
from reference import tracking as ref


def test_hand_worked_windows_and_gaps():
    df = pl.DataFrame(
        {
            "id": [0, 0, 0, 0, 1, 1],
            "frame": [0, 1, 5, 6, 0, 1],
            "speed": [1.0, 2.0, 3.0, np.nan, 10.0, 20.0],
        }
    )
    out = RollingStats(
        params={"columns": ["speed"], "window": 3, "stats": ["mean", "max", "sum", "min", "std"]}
    ).apply(df)
    assert out.columns == [
        "id",
        "frame",
        "speed_mean",
        "speed_max",
        "speed_sum",
        "speed_min",
        "speed_std",
    ]
    # frame 5's trailing window (frames 3..5) holds only itself; id 1 starts afresh
    np.testing.assert_allclose(out["speed_mean"].to_numpy(), [1.0, 1.5, 3.0, 3.0, 10.0, 15.0])
    np.testing.assert_allclose(out["speed_max"].to_numpy(), [1.0, 2.0, 3.0, 3.0, 10.0, 20.0])
    np.testing.assert_allclose(
        out["speed_std"].to_numpy(), [np.nan, np.sqrt(0.5), np.nan, np.nan, np.nan, np.sqrt(50)]
    )
    centred = RollingStats(
        params={
            "columns": ["speed"],
            "window": 3,
            "center": True,
            "min_periods": 2,
            "stats": ["mean"],
        }
    ).apply(df)
    np.testing.assert_allclose(
        centred["speed_mean"].to_numpy(), [1.5, 1.5, np.nan, np.nan, 15.0, 15.0]
    )


def test_on_speed_angvel_output():
    f = pl.DataFrame(
        {"id": [0] * 5, "frame": list(range(5)), "X": [0.0, 1.0, 3.0, 6.0, 10.0], "Y": [0.0] * 5}
    )
    speed = SpeedAngvel(params={"fps": 1.0}).apply(f)
    roll = RollingStats(
        params={"columns": ["speed", "vx"], "window": 2, "stats": ["mean"]},
        inputs=RollingStats.Inputs((Result(feature="speed-angvel"),)),
    )
    out = roll.apply(speed)
    np.testing.assert_allclose(out["speed_mean"].to_numpy(), [np.nan, 1.0, 1.5, 2.5, 3.5])
    assert out.columns == ["id", "frame", "speed_mean", "vx_mean"]


def test_bad_params_and_input():
    df = pl.DataFrame({"id": [0], "frame": [0], "X": [1.0], "name": ["a"]})
    with pytest.raises(ValueError, match="columns"):
        RollingStats()
    with pytest.raises(ValueError, match="duplicate"):
        RollingStats(params={"columns": ["X", "X"]})
    with pytest.raises(ValueError, match="stats"):
        RollingStats(params={"columns": ["X"], "stats": ["median"]})
    with pytest.raises(ValueError, match="min_periods=5 is larger than window=3"):
        RollingStats(params={"columns": ["X"], "window": 3, "min_periods": 5}).apply(df)
    with pytest.raises(
        ValueError, match=r"rolling-stats: missing column\(s\) \['speed'\].*run speed-angvel first"
    ):
        RollingStats(params={"columns": ["speed"]}).apply(df)
    with pytest.raises(TypeError, match="rolling-stats: column 'name' must be numeric"):
        RollingStats(params={"columns": ["name"]}).apply(df)
    with pytest.raises(ValueError, match=r"cannot summarise key column\(s\) \['frame'\]"):
        RollingStats(params={"columns": ["frame"]}).apply(df)


@given(
    table=ref.track_tables(),
    window=st.integers(1, 5),
    center=st.booleans(),
    seed=st.integers(0, 50),
)
def test_feature_matches_reference(table, window, center, seed):
    df = pl.DataFrame({"id": table["ids"], "frame": table["frames"], "X": table["x"]})
    perm = np.random.default_rng(seed).permutation(df.height)
    out = RollingStats(
        params={
            "columns": ["X"],
            "window": window,
            "center": center,
            "stats": ["mean", "std", "min", "max", "sum"],
        }
    ).apply(df[perm])
    for stat in ("mean", "std", "min", "max", "sum"):
        exp = ref.rolling(
            table["x"], table["offsets"], window, stat, center=center, positions=table["frames"]
        )
        np.testing.assert_allclose(
            out[f"X_{stat}"].to_numpy(), exp[perm], rtol=1e-9, atol=1e-9, err_msg=stat
        )
