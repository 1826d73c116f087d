"""read_lightning_pose on prediction csvs in Lightning Pose's layout.

Lightning Pose writes predictions with pandas: a DeepLabCut single-animal header
(scorer = the model, bodyparts, coords x/y/likelihood) over frame-indexed rows;
ensemble/Kalman-smoother outputs add coords such as ``x_ens_var``. The tests write
files so and check values against the row-by-row reference, the extra coords, NaN
gaps, the default sequence name, and clear errors for other files.
"""

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.io import read_lightning_pose
from reference.io import dlc_long

pd = pytest.importorskip("pandas")

BODYPARTS = ["paw1LH_top", "paw2LF_top", "nose_top"]


def lp_frame(n, coords=("x", "y", "likelihood"), seed=0):
    rng = np.random.default_rng(seed)
    cols = pd.MultiIndex.from_tuples(
        [("heatmap_tracker", bp, co) for bp in BODYPARTS for co in coords],
        names=["scorer", "bodyparts", "coords"],
    )
    df = pd.DataFrame(rng.uniform(0, 400, size=(n, len(cols))), columns=cols)
    df.iloc[3, 0:2] = np.nan
    return df


def test_predictions_match_reference(tmp_path):
    df = lp_frame(9)
    path = tmp_path / "mouse" / "test_vid_predictions.csv"
    path.parent.mkdir()
    df.to_csv(path)
    table, info = read_lightning_pose(path, return_info=True)
    assert set(table["sequence"]) == {"test_vid"} and set(table["group"]) == {"mouse"}
    assert table.equals(dlc_long(df, group="mouse", sequence="test_vid"))
    assert np.isnan(table["poseX0"][3])
    assert info.source_software == "LightningPose" and info.extra["scorer"] == "heatmap_tracker"
    assert info.pose.keypoint_names == BODYPARTS
    ds = Dataset.create(tmp_path / "ds", fps=60.0, pose=info.pose)
    ds.add_tracks(table)
    assert ds.read("mouse", "test_vid").select(table.columns).equals(table)


def test_ensemble_coords_become_columns(tmp_path):
    coords = ("x", "y", "likelihood", "x_ens_var", "y_ens_var")
    df = lp_frame(4, coords=coords)
    path = tmp_path / "eks.csv"
    df.to_csv(path)
    table, info = read_lightning_pose(path, return_info=True, likelihood_threshold=0.0)
    assert info.extra["extra_coords"] == ["x_ens_var", "y_ens_var"]
    for k, bp in enumerate(BODYPARTS):
        np.testing.assert_array_equal(table[f"x_ens_var{k}"].to_numpy(),
                                      df[("heatmap_tracker", bp, "x_ens_var")].to_numpy())
    assert table.filter(pl.col("frame") == 0)["poseX1"][0] == df.iloc[0, 5]


def test_other_files(tmp_path):
    generic = tmp_path / "metrics.csv"
    generic.write_text("frame,pixel_error\n0,1.5\n")
    with pytest.raises(ValueError, match=r"metrics\.csv: not a LightningPose CSV"):
        read_lightning_pose(generic)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x93NUMPY\x01\x00\xff\xfe")
    with pytest.raises(ValueError, match=r"b\.csv: not a text file"):
        read_lightning_pose(binary)
    h5 = tmp_path / "p.h5"
    h5.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"p\.h5: unknown suffix"):
        read_lightning_pose(h5)
