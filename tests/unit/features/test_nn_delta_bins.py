"""nn-delta-bins: mosaic's long table (1-D turn / speed means, 2-D sums and counts) on
hand-worked neighbours, the category groups (focal x group size, per neighbour
category; neighbour-only tables; category_specs; exclude_cols), the empty table with
every column when there is nothing to group, clear errors, and the chain tracks ->
nn-delta-response -> nn-delta-bins through run_feature (cached)."""

import numpy as np
import polars as pl
import pytest

import moveo
from moveo.features import NearestNeighbor, NNDeltaBins, NNDeltaResponse, SpeedAngvel, get_feature

COLUMNS = [
    "dim",
    "metric",
    "center_category",
    "neighbor_category",
    "bin_idx",
    "bin_x",
    "bin_y",
    "value",
    "sum_value",
    "count",
    "Exp",
    "Trial",
    "group_size",
]
SMALL = {"nbins": 5, "binmax": 4.0}  # edges -4, -2, 0, 2, 4: 4 bins in 1-D


def responses():
    # focal 1: neighbour 2 ahead, 1 left (dangle 0.5); focal 1 again: 1 ahead, 1 right
    # (dangle -0.25); a non-focal: neighbour 3 behind (dspeed -1); one row missing dangle
    return pl.DataFrame(
        {
            "id": [1, 1, 2, 2],
            "frame": [0, 1, 0, 1],
            "neighbor_x": [2.0, 1.0, -3.0, 0.0],
            "neighbor_y": [1.0, -1.0, 0.0, 0.0],
            "dangle": [0.5, -0.25, 0.2, np.nan],
            "dspeed": [0.0, 2.0, -1.0, 5.0],
            "Focal_fish": [True, True, False, False],
            "neighbor_focal": [False, False, True, True],
        }
    )


def rows(out, **where):
    expr = pl.lit(True)
    for k, v in where.items():
        expr = expr & (pl.col(k) == v)
    return out.filter(expr)


def test_registered_and_defaults():
    assert get_feature("nn-delta-bins") is NNDeltaBins
    p = NNDeltaBins().params
    assert (p.nbins, p.binmax, p.max_for_avg, p.antisymm) == (45, 14.0, 5.0, True)
    out = NNDeltaBins().apply(responses())
    assert out.columns == COLUMNS
    # per group: 44 + 44 one-dimensional rows, 2 x 44 x 45 two-dimensional rows
    per = 2 * 44 + 2 * 44 * 45
    # groups: (focal 0 | 1) x (all neighbours, neighbour category 0 | 1)
    assert out.height == 4 * per
    assert out.group_by("center_category", "neighbor_category").len().height == 4


def test_hand_worked_bins():
    out = NNDeltaBins(SMALL).apply(responses())
    focal = rows(out, center_category=1, neighbor_category="all")
    turn = rows(focal, dim="1d", metric="turn").sort("bin_idx")["value"].to_list()
    # y=1 -> bin 2 ([0, 2)) with 0.5, y=-1 -> bin 1 with -0.25; mirrored copies
    # (-y, -dangle) add -0.5 to bin 1 and 0.25 to bin 2: means -0.375 and 0.375
    assert turn[1] == pytest.approx(-0.375) and turn[2] == pytest.approx(0.375)
    assert np.isnan(turn[0]) and np.isnan(turn[3])
    speed = rows(focal, dim="1d", metric="speed").sort("bin_idx")["value"].to_list()
    assert speed[2] == 2.0 and speed[3] == 0.0  # x=1 -> bin 2, x=2 -> bin 3
    two = rows(focal, dim="2d", metric="speed")
    assert two["count"].sum() == 4 and two["sum_value"].sum() == 4.0
    assert two["bin_idx"].null_count() == two.height and two["value"].null_count() == two.height
    assert rows(focal, dim="1d")["count"].null_count() == 2 * 4
    # the non-focal's row with a NaN dangle was dropped: only x=-3 is left (bin 0)
    other = rows(out, center_category=0, neighbor_category="all", dim="1d", metric="speed")
    assert other.sort("bin_idx")["value"].to_list()[0] == -1.0
    assert rows(out, center_category=0, dim="2d", metric="speed")["count"].sum() == 2 * 2


def test_group_size_exp_trial_and_specs():
    df = responses().with_columns(
        group_size=pl.Series([2, 3, 2, 3]),
        Exp=pl.lit("e1"),
        Trial=pl.lit(7),
        score=pl.Series([1.0, 2.0, 3.0, 4.0]),
    )
    out = NNDeltaBins(SMALL).apply(df)
    assert out.schema["group_size"] == pl.Int64 and sorted(out["group_size"].unique()) == [2, 3]
    assert out["Exp"].unique().to_list() == ["e1"] and out["Trial"].unique().to_list() == [7]
    # a derived focal category: score above its 0.5 quantile (2.5) -> rows 3 and 4
    spec = {"source_col": "score", "new_col": "big", "quantile": 0.5}
    out = NNDeltaBins({**SMALL, "category_specs": [spec], "focal_category_col": "big"}).apply(df)
    assert sorted(out["center_category"].unique()) == [0, 1]
    with pytest.raises(ValueError, match="category_specs needs column 'nope'"):
        NNDeltaBins({"category_specs": [{"source_col": "nope", "new_col": "x"}]}).apply(df)
    # exclude_cols drops the flagged rows: only focal rows remain
    out = NNDeltaBins(SMALL | {"exclude_cols": ["neighbor_focal"]}).apply(responses())
    assert out["center_category"].unique().to_list() == [1]


def test_neighbour_only_and_empty_tables():
    df = responses().drop("Focal_fish")
    out = NNDeltaBins(SMALL).apply(df)
    assert out["center_category"].null_count() == out.height
    assert sorted(out["neighbor_category"].unique()) == ["0", "1"]
    # no category column at all: nothing to group by -> an empty table with every column
    empty = NNDeltaBins().apply(df.drop("neighbor_focal"))
    assert empty.height == 0 and empty.columns == COLUMNS
    with pytest.raises(ValueError, match="nn-delta-response"):
        NNDeltaBins().apply(responses().drop("dspeed"))


def test_chain_through_run_feature(tmp_path):
    rng = np.random.default_rng(0)
    n, m = 40, 3
    tracks = pl.DataFrame(
        {
            "id": np.repeat(np.arange(m), n),
            "frame": np.tile(np.arange(n), m),
            "X": np.cumsum(rng.normal(size=(m, n)), axis=1).ravel() + np.repeat([0, 5, 10], n),
            "Y": np.cumsum(rng.normal(size=(m, n)), axis=1).ravel(),
            "ANGLE": rng.uniform(-np.pi, np.pi, m * n),
            "Focal_fish": np.repeat([True, False, False], n),
        }
    )
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(tracks, group="g", sequence="s")
    moveo.run_feature(ds, SpeedAngvel())
    moveo.run_feature(ds, NearestNeighbor())
    resp = moveo.run_feature(ds, NNDeltaResponse({"speed_col": "speed"}))
    bins = moveo.run_feature(ds, NNDeltaBins(inputs=(resp,)))
    out = moveo.read_feature(ds, bins, "g", "s")
    assert out.columns == ["group", "sequence", *COLUMNS]
    src = moveo.read_feature(ds, resp, "g", "s")
    # every response row with a neighbour in range is counted once per group it is in
    total = rows(out, center_category=1, neighbor_category="all", dim="2d", metric="speed")
    inside = src.filter(
        pl.col("Focal_fish")
        & (pl.col("neighbor_x").abs() <= 14.0)
        & (pl.col("neighbor_y").abs() <= 14.0)
        & pl.col("dangle").is_not_nan()
        & pl.col("dspeed").is_not_nan()
    )
    assert total["count"].sum() == 2 * inside.height
    assert moveo.run_feature(ds, NNDeltaBins(inputs=(resp,))).run_id == bins.run_id
