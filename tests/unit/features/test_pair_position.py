"""pair-position and pair-egocentric: mosaic's names, keys and columns; values equal
mosaic-behavior 0.17's on a small table (literal numbers recorded from it); pair
selection row counts; hand-worked geometry; clear errors."""

import math

import numpy as np
import polars as pl
import pytest

from moveo.features import PairEgocentric, PairPosition, get_feature
from moveo.kernels.pairs import PAIR_POSITION_COLUMNS

KEYS = ["group", "sequence", "frame", "id1", "id2", "perspective"]


def small_tracks() -> pl.DataFrame:
    """Three individuals x 12 frames; id 3 misses X at frames 3-4 and ANGLE at 7."""
    f = np.arange(12)
    a1 = 0.2 * f - 3.0
    a2 = np.angle(np.exp(1j * (2.5 + 0.15 * f)))  # wraps through pi
    x3 = np.full(12, 10.0)
    x3[3:5] = np.nan
    a3 = np.full(12, 1.0)
    a3[7] = np.nan
    return pl.DataFrame(
        {
            "group": "g",
            "sequence": "s",
            "id": np.repeat([1, 2, 3], 12),
            "frame": np.tile(f, 3),
            "X": np.r_[3 * f + 0.1 * f**2, 20.0 - f, x3],
            "Y": np.r_[2 * np.sin(f / 3), 5 + np.cos(f / 2), -4 + 0.5 * f],
            "ANGLE": np.r_[a1, a2, a3],
        }
    )


# Observed from mosaic-behavior 0.17.0, PairPositionFeatures().apply(small_tracks()) (its
# output is float32): (frame, id1, id2) -> the 15 columns in PAIR_POSITION_COLUMNS order.
MOSAIC_PAIR_POSITION = {
    (0, 1, 2): [
        95.04947662353516,
        -94.8397216796875,
        -6.311057090759277,
        6.0,
        -0.9899924993515015,
        -0.14112000167369843,
        20.880613327026367,
        -20.646570205688477,
        -3.1175549030303955,
        0.7086697816848755,
        -0.7055402994155884,
        30.223955154418945,
        21.83640480041504,
        20.89638328552246,
        4.5,
    ],
    (4, 2, 1): [
        32.726741790771484,
        29.430253982543945,
        14.314321517944336,
        4.5,
        -0.9991351366043091,
        0.04158066213130951,
        3.5678398609161377,
        2.2881524562835693,
        2.73748779296875,
        0.5543743371963501,
        0.8322674632072449,
        114.09349822998047,
        -70.8228530883789,
        89.4508285522461,
        6.0,
    ],
    (4, 3, 1): [
        15.0,
        12.622064590454102,
        8.104534149169922,
        0.0,
        0.5403022766113281,
        0.8414709568023682,
        5.339864730834961,
        5.263745307922363,
        -0.8984103798866272,
        -0.9982947707176208,
        0.05837414413690567,
        114.09349822998047,
        -70.8228530883789,
        89.4508285522461,
        6.0,
    ],
    (11, 1, 3): [
        154.13157653808594,
        119.96946716308594,
        96.76709747314453,
        6.0,
        0.6967067122459412,
        -0.7173560857772827,
        35.1890983581543,
        -26.2496280670166,
        -23.435651779174805,
        -0.22720208764076233,
        0.9738476276397705,
        15.0,
        12.622064590454102,
        8.104534149169922,
        0.0,
    ],
    (7, 3, 2): [
        15.0,
        12.622064590454102,
        8.104534149169922,
        0.0,
        0.5403022766113281,
        0.8414709568023682,
        5.4613118171691895,
        5.460996150970459,
        -0.05871998146176338,
        -0.8300535082817078,
        0.5576837062835693,
        30.421281814575195,
        25.5289306640625,
        -16.54473114013672,
        4.5,
    ],
}


def test_registry_and_columns():
    assert get_feature("pair-position") is PairPosition
    assert get_feature("pair-egocentric") is PairEgocentric
    out = PairPosition().apply(small_tracks())
    assert out.columns == KEYS + list(PAIR_POSITION_COLUMNS)
    assert out.height == 72  # 3 x 2 ordered pairs x 12 frames, as mosaic
    assert out.select(KEYS).is_unique().all()
    assert out.equals(out.sort(["id1", "id2", "frame"]))
    assert (out["perspective"] == (out["id1"] > out["id2"]).cast(pl.Int64)).all()
    p = PairPosition().params
    assert (p.interpolation.linear_interp_limit, p.interpolation.edge_fill_limit) == (10, 3)
    assert p.interpolation.max_missing_fraction == 0.1
    assert (p.sampling.fps_default, p.sampling.smooth_win) == (30.0, 0)


def test_values_equal_mosaic():
    out = PairPosition().apply(small_tracks())
    for (frame, a, b), expected in MOSAIC_PAIR_POSITION.items():
        row = out.filter((pl.col("frame") == frame) & (pl.col("id1") == a) & (pl.col("id2") == b))
        got = row.select(PAIR_POSITION_COLUMNS).row(0)
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6, err_msg=str((frame, a, b)))


def test_input_order_and_several_sequences():
    df = small_tracks()
    ref = PairPosition().apply(df)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=3)
    assert PairPosition().apply(shuffled).equals(ref)
    two = pl.concat([df, df.with_columns(sequence=pl.lit("t"))])
    both = PairPosition().apply(two)
    assert both.height == 2 * ref.height
    assert both.filter(pl.col("sequence") == "t").drop("sequence").equals(ref.drop("sequence"))


def test_one_individual_gives_an_empty_table():
    out = PairPosition().apply(small_tracks().filter(pl.col("id") == 1))
    assert out.height == 0
    assert out.columns == KEYS + list(PAIR_POSITION_COLUMNS)
    assert out.schema["id1"] == pl.Int64 and out.schema["A_speed"] == pl.Float64


def test_fps_sources():
    df = small_tracks()
    base = PairPosition().apply(df)["A_speed"].to_numpy()
    f = PairPosition()
    f.set_dataset_defaults(fps=60.0)
    np.testing.assert_allclose(f.apply(df)["A_speed"].to_numpy(), 2 * base)
    # an fps column with one value wins (as mosaic)
    np.testing.assert_allclose(
        f.apply(df.with_columns(fps=pl.lit(15.0)))["A_speed"].to_numpy(), base / 2
    )
    slow = PairPosition({"sampling": {"fps_default": 10.0}}).apply(df)["A_speed"].to_numpy()
    np.testing.assert_allclose(slow, base / 3)


def test_pair_selection_row_counts():
    rng = np.random.default_rng(0)
    n_ids, n_frames = 8, 20
    df = pl.DataFrame(
        {
            "id": np.repeat(np.arange(n_ids), n_frames),
            "frame": np.tile(np.arange(n_frames), n_ids),
            "X": rng.uniform(0, 100, n_ids * n_frames),
            "Y": rng.uniform(0, 100, n_ids * n_frames),
            "ANGLE": rng.uniform(-3, 3, n_ids * n_frames),
        }
    )
    full = PairPosition().apply(df)
    assert full.height == n_frames * n_ids * (n_ids - 1)
    for k in (1, 3):
        near = PairPosition({"pairs": {"mode": "nearest", "k": k}}).apply(df)
        per_frame = near.group_by("frame").len()["len"].to_numpy()
        assert (per_frame >= n_ids * k).all() and (per_frame <= 2 * n_ids * k).all()
        # a subset of the full table with identical values
        joined = near.join(full, on=["frame", "id1", "id2"], suffix="_full")
        assert joined.height == near.height
        np.testing.assert_array_equal(joined["AB_dist"], joined["AB_dist_full"])
        # symmetric: every row's mirror is present
        mirror = near.select(pl.col("id2").alias("id1"), pl.col("id1").alias("id2"), "frame")
        assert mirror.join(near, on=["frame", "id1", "id2"], how="anti").height == 0
    within = PairPosition({"pairs": {"mode": "radius", "radius": 30.0}}).apply(df)
    assert within.height == full.filter(pl.col("AB_dist") <= 30.0).height
    assert (within["AB_dist"] <= 30.0).all()
    with pytest.raises(ValueError, match="radius"):
        PairPosition({"pairs": {"mode": "radius"}})


def test_missing_columns_and_bad_params():
    with pytest.raises(ValueError, match=r"pair-position: missing column\(s\) \['ANGLE'\]"):
        PairPosition().apply(small_tracks().drop("ANGLE"))
    with pytest.raises(ValueError, match="odd"):
        PairPosition({"sampling": {"smooth_win": 4}})
    with pytest.raises(ValueError, match="extra"):
        PairPosition({"interpolation": {"limit": 3}})


def test_gradient_does_not_cross_a_partner_gap():
    # id 2 is absent at frames 3..6; A's speed at frame 2 comes from A's own frames
    # 1 and 3 (mosaic differentiates the joined pair rows, i.e. across the gap)
    f = np.arange(10)
    df = pl.DataFrame(
        {
            "id": np.r_[np.ones(10), np.full(6, 2)].astype(int),
            "frame": np.r_[f, [0, 1, 2, 7, 8, 9]],
            "X": np.r_[f**2 * 1.0, np.zeros(6)],
            "Y": np.zeros(16),
            "ANGLE": np.zeros(16),
        }
    )
    out = PairPosition().apply(df).filter(pl.col("id1") == 1)
    assert out["frame"].to_list() == [0, 1, 2, 7, 8, 9]
    np.testing.assert_allclose(out["A_v_para"].to_numpy(), 30.0 * np.array([1, 2, 4, 14, 16, 17]))


def pose_animal(cx, cy, heading, n_kp=7, spacing=1.0):
    """Keypoints on a line through (cx, cy) along ``heading``: 0 at the front."""
    out = {}
    for k in range(n_kp):
        off = (3 - k) * spacing
        out[f"poseX{k}"] = cx + off * np.cos(heading)
        out[f"poseY{k}"] = cy + off * np.sin(heading)
    return out


def test_pair_egocentric_hand_worked():
    # A centred at (0, 0) facing +y, B centred at (0, 5) facing -y: B is 5 ahead of A,
    # relative heading pi; the neck (3) is at the centre, the tail base (6) behind it.
    frames = np.arange(3)
    rows = []
    for ident, (cy, h) in {1: (0.0, math.pi / 2), 2: (5.0, -math.pi / 2)}.items():
        for fr in frames:
            rows.append({"id": ident, "frame": int(fr), **pose_animal(0.0, cy, h)})
    out = PairEgocentric().apply(pl.DataFrame(rows))
    a_b = out.filter((pl.col("id1") == 1) & (pl.col("frame") == 1)).row(0, named=True)
    assert a_b["AB_dist"] == pytest.approx(5.0)
    assert a_b["AB_dx_egoA"] == pytest.approx(5.0)
    assert a_b["AB_dy_egoA"] == pytest.approx(0.0, abs=1e-12)
    assert a_b["A_heading_sin"] == pytest.approx(1.0)
    assert a_b["rel_heading_cos"] == pytest.approx(-1.0)
    assert a_b["A_speed"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="neck_idx=9"):
        PairEgocentric({"neck_idx": 9}).apply(pl.DataFrame(rows))
