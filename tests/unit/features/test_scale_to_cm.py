"""scale-to-cm: mosaic's modes, names and length classification (recorded from
mosaic-behavior 0.17), every calibration source (parameter, TRex's cm_per_pixel
column, dataset metadata per dataset / group / entry, idtracker.ai body_length),
refusal without one, units in the parquet field metadata, and a recalibration
making the run stale."""

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import ScaleToCm, SpeedAngvel
from moveo.features.scale_to_cm import length_columns, set_calibration
from moveo.io.synthetic import constant_velocity


def _trex_row_table():
    n = 3
    f = np.arange(n)
    ones = np.ones(n)
    return pl.DataFrame(
        {
            "group": "g",
            "sequence": "s",
            "id": [1] * n,
            "frame": f,
            "time": f / 30.0,
            "X": f * 1.0,
            "Y": f * 2.0,
            "ANGLE": np.zeros(n),
            "X#wcentroid": f * 1.0,
            "Y#wcentroid": f * 1.0,
            "poseX0": f * 3.0,
            "poseY0": f * 4.0,
            "poseP0": ones,
            "cm_per_pixel": np.full(n, 0.5),
            "frame_rate": np.full(n, 30.0),
            "SPEED": ones,
            "speed": ones,
            "vx": ones,
            "area": ones,
            "missing": np.zeros(n),
            "num_pixels": ones,
            "BORDER_DISTANCE": ones,
            "MIDLINE_LENGTH": ones,
            "foo": ones,
        }
    )


def test_modes_and_columns_observed_from_mosaic():
    df = _trex_row_table()
    out = ScaleToCm({"cm_per_pixel": 0.1}).apply(df)
    # mosaic-behavior 0.17 on this table: these scaled columns (its order: the scaled
    # ones first, then frame, group, id, sequence, time)
    scaled = [
        "X_cm",
        "Y_cm",
        "X#wcentroid_cm",
        "Y#wcentroid_cm",
        "poseX0_cm",
        "poseY0_cm",
        "SPEED_cm",
        "speed_cm",
        "vx_cm",
        "BORDER_DISTANCE_cm",
    ]
    assert out.columns == ["group", "sequence", "id", "frame", "time", *scaled]
    np.testing.assert_allclose(out["Y_cm"].to_numpy(), [0.0, 0.2, 0.4])
    np.testing.assert_allclose(out["poseX0_cm"].to_numpy(), [0.0, 0.3, 0.6])
    np.testing.assert_allclose(out["SPEED_cm"].to_numpy(), 0.1)
    conv = ScaleToCm({"cm_per_pixel": 0.1, "mode": "convert"}).apply(df)
    assert conv.columns == df.columns
    np.testing.assert_allclose(conv["poseY0"].to_numpy(), [0.0, 0.4, 0.8])
    for untouched in ("ANGLE", "poseP0", "cm_per_pixel", "area", "MIDLINE_LENGTH", "foo"):
        assert conv[untouched].equals(df[untouched])
    only = ScaleToCm({"cm_per_pixel": 0.1, "columns": ["foo"]}).apply(df)
    assert only.columns == ["group", "sequence", "id", "frame", "time", "foo_cm"]


def test_length_classification_matches_mosaic():
    names = [
        "X",
        "Y",
        "x",
        "y",
        "vx",
        "vy",
        "VX",
        "VY",
        "SPEED",
        "SPEED#wcentroid",
        "ACCELERATION",
        "angvel",
        "AB_dist",
        "A_speed",
        "dist",
        "MIDLINE_LENGTH",
        "MIDLINE_OFFSET",
        "BORDER_DISTANCE",
        "midline_x",
        "midline_length",
        "midline_offset",
        "ANGULAR_V",
        "poseX10",
        "poseY3",
        "poseP1",
        "scale",
        "X_cm",
        "X#pcentroid",
        "poseX0_smooth",
        "VX#wcentroid",
        "dx",
        "AX",
        "AY",
        "area",
        "tsne_x",
    ]
    # what mosaic-behavior 0.17's scale-to-cm scaled of these names
    mosaic = [
        "X",
        "Y",
        "vx",
        "vy",
        "VX",
        "VY",
        "SPEED",
        "SPEED#wcentroid",
        "ACCELERATION",
        "BORDER_DISTANCE",
        "midline_x",
        "midline_offset",
        "poseX10",
        "poseY3",
        "X#pcentroid",
        "poseX0_smooth",
        "VX#wcentroid",
        "AX",
        "AY",
    ]
    assert length_columns(names) == mosaic
    # moveo's own length outputs are lengths too (mosaic does not know them)
    extra = ["speed_step", "speed_smooth", "nn_dist", "nn_delta_x_ego", "nn3_dist", "nn_id"]
    assert length_columns(extra) == extra[:-1]


def test_calibration_sources_and_refusal(tmp_dataset):
    df = _trex_row_table()
    # the tracks' own cm_per_pixel column (TRex), per row
    out = ScaleToCm().apply(df.with_columns(cm_per_pixel=pl.Series([0.5, 0.5, 0.25])))
    np.testing.assert_allclose(out["X_cm"].to_numpy(), [0.0, 0.5, 0.5])
    plain = df.drop("cm_per_pixel")
    with pytest.raises(
        ValueError, match=r"no scale for \(group='g', sequence='s'\).*set_calibration"
    ):
        ScaleToCm().apply(plain)
    f = ScaleToCm()
    f.set_dataset_meta({"cm_per_pixel": {"*": 0.2, "g": 0.3, "g/s": 0.4}})
    assert f.scale(plain) == (0.4, "dataset")
    f.set_dataset_meta({"cm_per_pixel": {"*": 0.2, "g": 0.3, "g/other": 0.4}})
    assert f.scale(plain) == (0.3, "dataset")
    f.set_dataset_meta({"cm_per_pixel": 0.2})
    assert f.scale(plain) == (0.2, "dataset")
    # idtracker.ai: body length in pixels, with the animals' length in cm
    body = ScaleToCm({"body_length_cm": 3.0})
    body.set_dataset_meta({"body_length": {"g": 60.0}})
    assert body.scale(plain) == (0.05, "body_length")
    no_cm = ScaleToCm()
    no_cm.set_dataset_meta({"body_length": 60.0})
    with pytest.raises(ValueError, match="body_length=60.0 px .* pass body_length_cm="):
        no_cm.scale(plain)
    # a parameter wins over everything
    assert ScaleToCm({"cm_per_pixel": 0.7}).scale(df) == (0.7, "param")
    with pytest.raises(ValidationError, match="takes no suffix"):
        ScaleToCm({"mode": "convert", "suffix": "_mm"})
    with pytest.raises(ValidationError):
        ScaleToCm({"cm_per_pixel": 0.0})
    with pytest.raises(ValueError, match=r"input has no column\(s\) \['nope'\]"):
        ScaleToCm({"cm_per_pixel": 1.0, "columns": ["nope"]}).apply(df)
    with pytest.raises(ValueError, match="must be a positive number"):
        set_calibration(tmp_dataset, -1.0)


def test_pipeline_units_staleness_and_chaining(tmp_dataset):
    ds = tmp_dataset
    # 30 px/s in x at 30 fps
    ds.add_tracks(constant_velocity(n_individuals=1, n_frames=10, fps=30.0, velocity=(30.0, 0.0)))
    ((g, s),) = ds.entries()
    with pytest.raises(Exception, match="no scale for"):
        run_feature(ds, ScaleToCm())
    set_calibration(ds, 0.1)
    first = run_feature(ds, ScaleToCm())
    path = ds.features_root / "scale-to-cm" / first.run_id / g / f"{s}.parquet"
    meta = pq.read_schema(path).field("X_cm").metadata
    assert meta == {
        b"unit": b"cm",
        b"scaled_from": b"px",
        b"cm_per_pixel": b"0.1",
        b"scale_source": b"dataset",
    }
    assert pq.read_schema(path).field("frame").metadata is None
    # recalibrating changes the run id (mosaic keeps serving the old output)
    set_calibration(ds, 0.2, group=g, sequence=s)
    assert ds.meta["cm_per_pixel"] == {"*": 0.1, f"{g}/{s}": 0.2}
    second = run_feature(ds, ScaleToCm())
    assert second.run_id != first.run_id
    cm = pl.read_parquet(ds.features_root / "scale-to-cm" / second.run_id / g / f"{s}.parquet")
    np.testing.assert_allclose(np.diff(cm["X_cm"].to_numpy()), 0.2)
    # convert mode is track-shaped: speed-angvel on it reports cm/s
    conv = run_feature(ds, ScaleToCm({"mode": "convert"}))
    speed = run_feature(ds, SpeedAngvel(inputs=(conv,)))
    out = pl.read_parquet(ds.features_root / "speed-angvel" / speed.run_id / g / f"{s}.parquet")
    np.testing.assert_allclose(out["speed"].to_numpy()[1:], 30.0 * 0.2)


def test_field_metadata_is_checked(tmp_path):
    from moveo.dataset import atomic_write_parquet

    df = pl.DataFrame({"id": [0], "X_cm": [1.0]})
    atomic_write_parquet(df, tmp_path / "a.parquet", field_metadata={"X_cm": {"unit": "cm"}})
    assert pq.read_schema(tmp_path / "a.parquet").field("X_cm").metadata == {b"unit": b"cm"}
    assert pl.read_parquet(tmp_path / "a.parquet").equals(df)
    with pytest.raises(ValueError, match=r"names column\(s\) \['Y_cm'\] not in the table"):
        atomic_write_parquet(df, tmp_path / "b.parquet", field_metadata={"Y_cm": {"unit": "cm"}})
    assert not (tmp_path / "b.parquet").exists()
