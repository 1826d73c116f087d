"""to_movement / from_movement: movement's xarray layout, built and read with xarray only.

Proves the layout (dims, coords, attrs, values at known places), that a moveo
table survives table -> movement -> table unchanged (pose and centroid-only
data, named and unnamed individuals, time in seconds or frames, gaps), that
datasets with movement's older dim order read the same, and clear errors.
"""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moveo.io import from_movement, synthetic, to_movement
from moveo.schema import PoseConfig

xr = pytest.importorskip("xarray")


def pose_table(n=6, ids=(0, 1), names=("alice", "bob"), n_kp=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, name in zip(ids, names, strict=True):
        for f in range(10, 10 + n):
            row = {"group": "g", "sequence": "s", "id": i, "individual": name, "frame": f}
            xs, ys = rng.uniform(0, 100, n_kp), rng.uniform(0, 100, n_kp)
            if f == 12:
                xs[0] = ys[0] = np.nan
            row["X"], row["Y"] = float(np.nanmean(xs)), float(np.nanmean(ys))
            for k in range(n_kp):
                row[f"poseX{k}"], row[f"poseY{k}"] = float(xs[k]), float(ys[k])
                row[f"poseP{k}"] = float(rng.uniform())
            rows.append(row)
    return pl.DataFrame(rows)


def test_layout_dims_coords_attrs():
    table = pose_table()
    pose = PoseConfig(pose_n=3, keypoint_names=["nose", "body", "tail"])
    ds = to_movement(table, fps=25.0, pose=pose)
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    assert ds["position"].shape == (6, 2, 3, 2)
    assert list(ds["space"].values) == ["x", "y"]
    assert list(ds["keypoints"].values) == ["nose", "body", "tail"]
    assert list(ds["individuals"].values) == ["alice", "bob"]
    np.testing.assert_allclose(ds["time"].values, np.arange(10, 16) / 25.0)
    assert ds.attrs["fps"] == 25.0 and ds.attrs["time_unit"] == "seconds"
    assert ds.attrs["source_software"] == "moveo" and ds.attrs["ds_type"] == "poses"
    row = table.filter((pl.col("id") == 1) & (pl.col("frame") == 13))
    assert ds["position"].sel(individuals="bob", keypoints="tail", space="y").values[3] == \
        row["poseY2"][0]
    assert ds["confidence"].sel(individuals="alice", keypoints="nose").values[0] == \
        table["poseP0"][0]


@pytest.mark.parametrize("fps", [None, 30.0])
def test_roundtrip_pose_table(fps):
    table = pose_table()
    ds = to_movement(table, fps=fps)
    back, info = from_movement(ds, group="g", sequence="s", return_info=True)
    assert back.equals(table.select(back.columns))
    assert set(back.columns) == set(table.columns)
    assert info.fps == fps and info.pose.keypoint_names == ["kp0", "kp1", "kp2"]
    assert info.individuals == {0: "alice", 1: "bob"}


def test_roundtrip_centroid_only_unnamed_ids():
    table = synthetic.circles(n_individuals=3, n_frames=20, fps=30.0).select(
        "group", "sequence", "id", "frame", "X", "Y").with_columns(pl.col("id") + 4)
    ds = to_movement(table, fps=30.0)
    assert list(ds["keypoints"].values) == ["centroid"]
    assert list(ds["individuals"].values) == ["id_4", "id_5", "id_6"]
    back = from_movement(ds, group=table["group"][0], sequence=table["sequence"][0])
    assert back.columns == ["group", "sequence", "id", "individual", "frame", "X", "Y"]
    assert back.drop("individual").equals(table)


def test_gaps_become_nan_and_dropna_restores_rows():
    table = pose_table().filter(~((pl.col("id") == 1) & pl.col("frame").is_in([11, 14])))
    ds = to_movement(table)
    assert np.isnan(ds["position"].sel(individuals="bob").values[1]).all()
    dense = from_movement(ds)
    assert dense.height == 12
    back = from_movement(ds, dropna=True, group="g", sequence="s")
    assert back.equals(table.select(back.columns))


def test_older_dim_order_and_dataset_from_scratch():
    rng = np.random.default_rng(3)
    pos = rng.uniform(size=(5, 2, 4, 2))  # time, individuals, keypoints, space (movement < 0.1)
    conf = rng.uniform(size=(5, 2, 4))
    ds = xr.Dataset(
        {"position": (("time", "individuals", "keypoints", "space"), pos),
         "confidence": (("time", "individuals", "keypoints"), conf)},
        coords={"time": np.arange(5) / 50.0, "individuals": ["m1", "m2"],
                "keypoints": ["a", "b", "c", "d"], "space": ["x", "y"]},
        attrs={"fps": 50.0, "time_unit": "seconds", "source_software": "DeepLabCut",
               "source_file": "/data/v.h5"},
    )
    table, info = from_movement(ds, return_info=True)
    assert table["frame"].to_list() == list(range(5)) * 2
    assert table.filter(pl.col("id") == 1)["poseX3"].to_list() == pos[:, 1, 3, 0].tolist()
    assert table.filter(pl.col("id") == 0)["poseP2"].to_list() == conf[:, 0, 2].tolist()
    np.testing.assert_allclose(table.filter(pl.col("id") == 0)["X"].to_numpy(),
                               pos[:, 0, :, 0].mean(axis=1))
    assert info.source_software == "DeepLabCut" and info.source_file == "/data/v.h5"
    assert info.pose.keypoint_names == ["a", "b", "c", "d"]


def test_errors():
    table = pose_table()
    two = pl.concat([table, table.with_columns(pl.lit("s2").alias("sequence"))])
    with pytest.raises(ValueError, match="holds 2 entries"):
        to_movement(two)
    assert to_movement(two, sequence="s2")["position"].shape == (6, 2, 3, 2)
    with pytest.raises(ValueError, match="duplicate"):
        to_movement(pl.concat([table, table]))
    with pytest.raises(ValueError, match="fps must be"):
        to_movement(table, fps=0)
    with pytest.raises(ValueError, match="empty"):
        to_movement(table.head(0))
    with pytest.raises(TypeError, match="expected an xarray.Dataset"):
        from_movement(table)
    with pytest.raises(ValueError, match="no 'position' variable"):
        from_movement(xr.Dataset({"speed": ("time", np.zeros(3))}))
    ds = to_movement(table, fps=10.0)
    with pytest.raises(ValueError, match="moveo reads 2-D"):
        from_movement(ds.assign_coords(space=["x", "z"]))
    no_fps = ds.copy()
    no_fps.attrs = {"time_unit": "seconds"}
    with pytest.raises(ValueError, match="no fps"):
        from_movement(no_fps)
    with pytest.raises(ValueError, match="not whole frames"):
        from_movement(ds.assign_coords(time=ds["time"].values + 0.031))


@settings(max_examples=40)
@given(
    n_frames=st.integers(1, 15),
    ids=st.lists(st.integers(0, 20), min_size=1, max_size=4, unique=True),
    n_kp=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    fps=st.sampled_from([None, 25.0, 29.97]),
)
def test_roundtrip_any_sparse_table(n_frames, ids, n_kp, seed, fps):
    rng = np.random.default_rng(seed)
    rows = []
    for i in sorted(ids):
        for f in range(100, 100 + n_frames):
            if rng.uniform() < 0.3:
                continue  # no row: a gap
            xs = rng.uniform(-5, 5, n_kp)
            ys = rng.uniform(-5, 5, n_kp)
            lost = rng.uniform(size=n_kp) < 0.3
            lost[rng.integers(n_kp)] = False  # keep one finite keypoint: dropna keeps the row
            xs[lost] = ys[lost] = np.nan
            row = {"id": i, "frame": f, "X": float(np.nanmean(xs)), "Y": float(np.nanmean(ys))}
            for k in range(n_kp):
                row |= {f"poseX{k}": xs[k], f"poseY{k}": ys[k], f"poseP{k}": rng.uniform()}
            rows.append(row)
    if not rows:
        return
    table = pl.DataFrame(rows)
    back = from_movement(to_movement(table, fps=fps), dropna=True)
    assert back.drop("individual").equals(table.select(back.drop("individual").columns))
