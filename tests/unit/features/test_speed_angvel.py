"""speed-angvel: known speeds, fps sources, step/smooth columns, order and segments, NaN, bad
input, vs the reference.
"""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.features import SpeedAngvel, get_feature
from moveo.schema import Columns
from reference import tracking as ref


def tracks(n_ids=2, n_frames=6, vx=3.0, vy=4.0, fps=10.0, angle_step=0.5):
    rows = []
    for ident in range(n_ids):
        for f in range(n_frames):
            rows.append(
                {
                    "id": ident,
                    "frame": f,
                    "time": f / fps,
                    "X": ident * 100 + vx * f,
                    "Y": vy * f,
                    "ANGLE": math.remainder(angle_step * f, 2 * math.pi),
                }
            )
    return pl.DataFrame(rows)


def test_protocol_and_registry():
    f = SpeedAngvel(params={"fps": 30.0})
    assert get_feature("speed-angvel") is SpeedAngvel
    assert (f.name, f.parallelizable, f.scope_dependent) == ("speed-angvel", True, False)
    assert f.params.fps == 30.0
    assert SpeedAngvel(params=SpeedAngvel.Params(fps=5.0)).params.fps == 5.0
    assert f.inputs.is_tracks_only()
    assert f.load_state(None, {}, {}) is True


def test_constant_velocity_and_circle():
    out = SpeedAngvel(params={"fps": 10.0}).apply(tracks())
    assert out.columns == ["id", "frame", "speed", "vx", "vy", "angvel"]
    first = out["frame"] == 0
    assert out.filter(first)["speed"].is_nan().all()
    rest = out.filter(~first)
    np.testing.assert_allclose(rest["speed"].to_numpy(), 50.0)
    np.testing.assert_allclose(rest["vx"].to_numpy(), 30.0)
    # heading turns 0.5 rad per frame, wrapping across +-pi: 5 rad/s
    np.testing.assert_allclose(rest["angvel"].to_numpy(), 5.0, rtol=1e-12)


def test_fps_from_dataset_defaults_or_time():
    df = tracks(fps=10.0)
    by_time = SpeedAngvel().apply(df)
    np.testing.assert_allclose(by_time["speed"].to_numpy()[1:6], 50.0)
    f = SpeedAngvel()
    f.set_dataset_defaults(fps=20.0)
    np.testing.assert_allclose(f.apply(df)["speed"].to_numpy()[1:6], 100.0)
    # params win over the dataset
    g = SpeedAngvel(params={"fps": 10.0})
    g.set_dataset_defaults(fps=20.0)
    np.testing.assert_allclose(g.apply(df)["speed"].to_numpy()[1:6], 50.0)


def test_step_and_smooth_columns():
    df = tracks().with_columns(
        pl.when(pl.col("frame") == 3).then(float("nan")).otherwise(pl.col("X")).alias("X")
    )
    out = SpeedAngvel(params={"fps": 10.0, "step_size": 2, "smooth_window": 3}).apply(df)
    assert out.columns[-3:] == ["speed_step", "angvel_step", "speed_smooth"]
    one = out.filter(pl.col("id") == 0)
    # step 2: frames 2 (vs 0) and 4 (vs 2) are clean, 3 and 5 touch the NaN
    np.testing.assert_allclose(
        one["speed_step"].to_numpy(), [np.nan, np.nan, 50, np.nan, 50, np.nan]
    )
    np.testing.assert_allclose(one["angvel_step"].to_numpy()[2:], 5.0)
    # speed is NaN at frames 0, 3, 4; the centred mean over 3 frames skips NaN
    np.testing.assert_allclose(one["speed_smooth"].to_numpy(), [50, 50, 50, 50, 50, 50])
    assert one["speed"].is_nan().sum() == 3


def test_without_angle_there_is_no_angvel():
    out = SpeedAngvel(params={"fps": 1.0, "step_size": 1}).apply(tracks().drop("ANGLE"))
    assert "angvel" not in out.columns and "angvel_step" not in out.columns


def test_keys_order_and_unsorted_input():
    df = tracks(n_ids=3).with_columns(pl.lit("g").alias("group"), pl.lit("s").alias("sequence"))
    df = df.select("group", "sequence", *[c for c in df.columns if c not in ("group", "sequence")])
    f = SpeedAngvel(params={"fps": 10.0})
    expected = f.apply(df)
    assert expected.columns[:4] == ["group", "sequence", "id", "frame"]
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=4)
    got = f.apply(shuffled)
    # same rows as the input, in the input's order
    assert got.select("id", "frame").rows() == shuffled.select("id", "frame").rows()
    joined = got.join(expected, on=["id", "frame"], suffix="_sorted")
    np.testing.assert_allclose(joined["speed"].to_numpy(), joined["speed_sorted"].to_numpy())


def test_sequences_are_separate_segments():
    a = tracks(n_ids=1).with_columns(pl.lit("s1").alias("sequence"))
    b = tracks(n_ids=1).with_columns(pl.lit("s2").alias("sequence"), pl.col("X") + 1000)
    out = SpeedAngvel(params={"fps": 10.0}).apply(pl.concat([a, b]))
    speed = out["speed"].to_numpy()
    assert np.isnan(speed[[0, 6]]).all()  # each sequence starts fresh
    np.testing.assert_allclose(np.delete(speed, [0, 6]), 50.0)


def test_nulls_are_nan_and_custom_column_names():
    df = pl.DataFrame(
        {"animal": [7, 7, 7], "t": [0, 1, 2], "x": [0.0, None, 2.0], "y": [0, 0, 0]},
        schema_overrides={"y": pl.Int32},
    )
    cols = Columns(id_col="animal", frame_col="t", x_col="x", y_col="y")
    out = SpeedAngvel(params={"fps": 1.0}, columns=cols).apply(df)
    assert out.columns[:2] == ["animal", "t"]
    assert out["vx"].is_nan().all()  # row 1 is NaN, row 2's previous is NaN
    f = SpeedAngvel(params={"fps": 1.0})
    f.set_dataset_defaults(columns=cols)
    assert f.apply(df).columns[:2] == ["animal", "t"]


@pytest.mark.parametrize(
    ("params", "frame", "exc", "match"),
    [
        ({"fps": 0.0}, None, ValueError, "fps"),
        ({"fps": -3.0}, None, ValueError, "fps"),
        ({"smooth_window": 1}, None, ValueError, "smooth_window"),
        ({"nonsense": 1}, None, ValueError, "nonsense"),
        (
            {"fps": 1.0},
            "drop_x",
            ValueError,
            r"speed-angvel: missing column\(s\) \['X'\]; they come from the tracks",
        ),
        ({}, "drop_time", ValueError, r"missing column\(s\) \['time'\].*set params fps"),
        ({"fps": 1.0}, "text_x", TypeError, "speed-angvel: column 'X' must be numeric"),
        ({"fps": 1.0}, "float_frame", TypeError, "column 'frame' must be integers"),
        ({"fps": 1.0}, "dup", ValueError, r"duplicate rows for id=0, frame=1"),
        (
            {"fps": 1.0, "smooth_window": 7},
            None,
            ValueError,
            r"smooth_window=7 is longer than individual id=0, which has 6 row",
        ),
    ],
)
def test_bad_input_is_named(params, frame, exc, match):
    df = tracks()
    if frame == "drop_x":
        df = df.drop("X")
    elif frame == "drop_time":
        df = df.drop("time")
    elif frame == "text_x":
        df = df.with_columns(pl.col("X").cast(pl.String))
    elif frame == "float_frame":
        df = df.with_columns(pl.col("frame").cast(pl.Float64))
    elif frame == "dup":
        df = pl.concat([df, df[1:2]])
    with pytest.raises(exc, match=match):
        SpeedAngvel(params=params).apply(df)


def test_dataset_fps_must_be_positive():
    with pytest.raises(ValueError, match="speed-angvel: dataset: fps must be a positive number"):
        SpeedAngvel().set_dataset_defaults(fps=0.0)


def test_empty_and_single_row():
    empty = tracks().head(0)
    out = SpeedAngvel(params={"fps": 10.0, "step_size": 1, "smooth_window": 2}).apply(empty)
    assert out.height == 0 and "speed_smooth" in out.columns
    one = SpeedAngvel(params={"fps": 10.0}).apply(tracks().head(1))
    assert one["speed"].is_nan().all()


@given(table=ref.track_tables(), seed=st.integers(0, 1000), use_fps=st.booleans())
def test_feature_matches_reference_on_shuffled_tables(table, seed, use_fps):
    df = pl.DataFrame(
        {
            "id": table["ids"],
            "frame": table["frames"],
            "time": table["time"],
            "X": table["x"],
            "Y": table["y"],
            "ANGLE": table["angle"],
        }
    )
    exp = ref.speed_angvel(
        table["x"],
        table["y"],
        table["frames"] if use_fps else table["time"],
        table["offsets"],
        table["angle"],
        25.0 if use_fps else None,
    )
    perm = np.random.default_rng(seed).permutation(df.height)
    out = SpeedAngvel(params={"fps": 25.0} if use_fps else {}).apply(df[perm])
    for key in ("speed", "vx", "vy", "angvel"):
        np.testing.assert_allclose(out[key].to_numpy(), exp[key][perm], rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(out["id"].to_numpy(), table["ids"][perm])


@pytest.mark.parametrize("fps", [30.0, None])
def test_pipeline_reads_only_the_needed_columns_with_the_same_values(tmp_path, fps):
    # the pipeline reads input_columns() (no pose keypoints); the output equals
    # apply on the whole entry, also without an fps (the time column is read then)
    from moveo import Dataset
    from moveo.io.synthetic import add_rigid_pose, random_walk
    from moveo.pipeline import read_feature, run_feature
    from moveo.schema import PoseConfig

    ds = Dataset.create(tmp_path / "ds", fps=fps, pose=PoseConfig(pose_n=7))
    for s in ("s0", "s1"):
        ds.add_tracks(add_rigid_pose(random_walk(3, 40, sequence=s, seed=len(s))))
    feature = SpeedAngvel()
    res = run_feature(ds, feature)
    cols = feature.input_columns()
    assert not any(c.startswith("pose") for c in cols)
    assert ("time" in cols) == (fps is None)
    for g, s in ds.entries():
        direct = SpeedAngvel(params={"fps": fps} if fps else None)
        expected = direct.apply(ds.read(g, s))
        assert read_feature(ds, res, g, s).equals(expected, null_equal=True)
