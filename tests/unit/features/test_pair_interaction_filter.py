"""pair-interaction-filter: hand-worked face-to-face interactions with mosaic's defaults,
the position columns it reads (X/Y, x_pixels, a head keypoint, px_scale), the empty
table for one individual, clear errors, random unsorted tables against the reference,
and caching / staleness through run_feature and Pipeline."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moveo
from moveo.features import PairInteractionFilter, get_feature
from moveo.pipeline import FeatureStep, Pipeline
from reference import pairs as ref

COLUMNS = [
    "frame",
    "id1",
    "id2",
    "perspective",
    "interaction_id",
    "interaction_start",
    "interaction_end",
]


def face_to_face(n=300, gap_at=None):
    """A at x=0 heading +x, B at x=30 heading -x; B leaves from frame ``gap_at``."""
    f = np.arange(n)
    xb = np.full(n, 30.0) if gap_at is None else np.where(f < gap_at, 30.0, 400.0)
    return pl.DataFrame(
        {
            "id": np.repeat([1, 2], n),
            "frame": np.tile(f, 2),
            "X": np.r_[np.zeros(n), xb],
            "Y": np.zeros(2 * n),
            "ANGLE": np.r_[np.zeros(n), np.full(n, math.pi)],
        }
    )


def test_registered_under_mosaics_name():
    assert get_feature("pair-interaction-filter") is PairInteractionFilter
    p = PairInteractionFilter().params
    assert (p.shift_dist, p.max_dist, p.min_run_frames, p.frame_padding) == (15.0, 40.0, 250, 10)
    assert (p.morphological_structure_size, p.max_inv_orientation_diff_deg) == (25, 80.0)
    assert p.require_facing and p.use_pixel_coords and p.pose_head_index is None


def test_face_to_face_with_the_defaults():
    out = PairInteractionFilter().apply(face_to_face())
    assert out.columns == COLUMNS
    assert out.height == 600  # every frame, both perspectives
    assert out["interaction_id"].unique().to_list() == [0]
    assert out["interaction_start"].unique().to_list() == [0]
    assert out["interaction_end"].unique().to_list() == [299]
    assert out.filter(pl.col("id1") == 2)["perspective"].unique().to_list() == [1]
    assert out.select("id1", "id2", "frame").is_unique().all()
    # 260 frames together, then apart: the run is 0..259, padded by 10 to 0..269
    out = PairInteractionFilter().apply(face_to_face(gap_at=260))
    assert out.height == 2 * 270 and out["interaction_end"].unique().to_list() == [269]
    # 240 frames is shorter than min_run_frames=250: no interaction (an empty table)
    assert PairInteractionFilter().apply(face_to_face(gap_at=240)).height == 0


def test_position_columns_and_px_scale():
    df = face_to_face(n=30)
    p = {"min_run_frames": 10, "morphological_structure_size": 0}
    # x_pixels (preferred with use_pixel_coords) puts them 100 apart: no interaction
    far = df.with_columns(x_pixels=pl.col("X") * 10.0, y_pixels=pl.col("Y"))
    assert PairInteractionFilter(p).apply(far).height == 0
    assert PairInteractionFilter({**p, "use_pixel_coords": False}).apply(far).height == 60
    # ... unless px_scale scales the distances up: shift 150, max 400
    assert PairInteractionFilter({**p, "px_scale": 10.0}).apply(far).height == 60
    # a head keypoint
    head = df.with_columns(poseX3=pl.col("X") * 10.0, poseY3=pl.col("Y"))
    assert PairInteractionFilter({**p, "pose_head_index": 3}).apply(head).height == 0
    with pytest.raises(ValueError, match="poseX3"):
        PairInteractionFilter({**p, "pose_head_index": 3}).apply(df)


def test_one_individual_and_missing_columns():
    one = face_to_face().filter(pl.col("id") == 1)
    out = PairInteractionFilter().apply(one)
    assert out.columns == COLUMNS and out.height == 0
    with pytest.raises(ValueError, match="ANGLE"):
        PairInteractionFilter().apply(face_to_face().drop("ANGLE"))


@st.composite
def small_tracks(draw):
    ids = draw(st.lists(st.integers(0, 9), min_size=0, max_size=3, unique=True))
    rows = []
    for ident in ids:
        frames = draw(st.sets(st.integers(0, 40), min_size=1, max_size=41))
        for f in frames:
            x = draw(st.one_of(st.floats(-20, 20), st.just(math.nan)))
            h = draw(st.sampled_from([0.0, math.pi, 1.0, -2.5, math.nan]))
            rows.append({"id": ident, "frame": f, "X": x, "Y": 0.0, "ANGLE": h})
    return rows


@settings(max_examples=40, deadline=None)
@given(rows=small_tracks(), seed=st.integers(0, 100))
def test_unsorted_tables_match_the_reference(rows, seed):
    rng = np.random.default_rng(seed)
    rng.shuffle(rows)
    schema = {
        "id": pl.Int64,
        "frame": pl.Int64,
        "X": pl.Float64,
        "Y": pl.Float64,
        "ANGLE": pl.Float64,
    }
    df = pl.DataFrame(rows, schema=schema)
    params = {"shift_dist": 2.0, "max_dist": 15.0, "min_run_frames": 3, "frame_padding": 2}
    params["morphological_structure_size"] = 3
    out = PairInteractionFilter(params).apply(df)
    t = df.sort("id", "frame")
    offsets = np.r_[0, np.cumsum(t.group_by("id", maintain_order=True).len()["len"].to_numpy())]
    frames = t["frame"].to_numpy()
    ids = t["id"].to_numpy()
    want = ref.interaction_rows(
        frames,
        offsets,
        t["X"].to_numpy(),
        t["Y"].to_numpy(),
        t["ANGLE"].to_numpy(),
        2.0,
        15.0,
        True,
        80.0,
        3,
        2,
        3,
    )
    expected = [
        (int(frames[a]), int(ids[a]), int(ids[b]), int(ids[a] > ids[b]), lab, s, e)
        for a, b, lab, s, e in want
    ]
    assert out.rows() == expected


def test_run_feature_and_pipeline_cache_and_staleness(tmp_path):
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(face_to_face(), group="g", sequence="s")
    first = moveo.run_feature(ds, PairInteractionFilter())
    table = moveo.read_feature(ds, first, "g", "s")
    assert table.columns[:2] == ["group", "sequence"] and table.height == 600
    assert moveo.run_feature(ds, PairInteractionFilter()).run_id == first.run_id
    step = Pipeline(name="inter").add(FeatureStep("inter", PairInteractionFilter))
    step.run(ds)
    assert step.status(ds)["state"].to_list() == ["cached"]
    ds.add_tracks(face_to_face(gap_at=260), group="g", sequence="s", overwrite=True)
    assert step.status(ds)["state"].to_list() == ["stale"]
    again = step.run(ds)["inter"]
    assert moveo.read_feature(ds, again, "g", "s").height == 540
