"""ffgroups: mosaic-observed values, keys, dtypes and the pipeline.

Proves: the feature reproduces values observed from mosaic-behavior 0.17.0's
FFGroups on a fixed 5 x 8 table (recorded literally below), one row per input
row with Int32/Int64 columns, sequences of one entry are grouped separately,
and bad parameters fail at construction.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import Dataset
from moveo.features import get_feature
from moveo.features.ffgroups import FFGroups, FFGroupsMetrics
from moveo.pipeline.run import read_feature, run_feature

_X = {0: [0, 1, 2, 3, 4, 5, 6, 7], 1: [3, 3, 4, 9, 14, 19, 24, 24],
      2: [50, 45, 40, 20, 8, 6, 6, 7], 3: [0, 0, 1, math.nan, 3, 3, 60, 60],
      4: [100, 100, 100, 100, 100, 100, 30, 26]}  # fmt: skip
_Y = {0: [0, 0, 1, 1, 2, 2, 3, 3], 1: [1, 2, 2, 3, 3, 4, 4, 5], 2: [0, 0, 0, 0, 1, 1, 2, 2],
      3: [5, 5, 6, 6, 7, 7, 8, 8], 4: [0] * 8}  # fmt: skip


def table() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "group": "g",
                "sequence": "s",
                "id": i,
                "frame": f,
                "X": float(_X[i][f]),
                "Y": float(_Y[i][f]),
            }  # fmt: skip
            for i in range(5)
            for f in range(8)
        ]
    )


def _grid(out, col):
    return out.sort("id", "frame")[col].to_numpy().reshape(5, 8).tolist()


def test_matches_mosaic_observed_values():
    # observed from mosaic-behavior 0.17.0: FFGroups(params=...).apply(table)
    out = FFGroups({"distance_cutoff": 10.0, "window_size": 3}).apply(table())
    assert _grid(out, "group_membership") == [
        [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 2, 2, 2], [2, 2, 2, 2, 2, 3, 3, 1],
    ]  # fmt: skip
    assert _grid(out, "group_size") == [
        [3, 3, 3, 3, 3, 2, 2, 2], [3, 3, 3, 3, 1, 1, 1, 2], [1, 1, 1, 1, 3, 2, 2, 2],
        [3, 3, 3, 3, 3, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 2],
    ]  # fmt: skip
    assert _grid(out, "event") == [
        [0, 0, 0, 0, -1, 1, 1, 1], [0, 0, 0, 0, 2, 2, 2, -1], [3, 3, 3, 3, -1, 1, 1, 1],
        [0, 0, 0, 0, -1, 4, 4, 4], [5, 5, 5, 5, 5, 5, 5, -1],
    ]  # fmt: skip
    out = FFGroups({"distance_cutoff": 10.0, "window_size": 1, "min_event_duration": 2}).apply(
        table()
    )
    assert _grid(out, "group_size") == [
        [3, 3, 3, 2, 4, 3, 2, 2], [3, 3, 3, 2, 4, 1, 2, 2], [1, 1, 1, 1, 4, 3, 2, 2],
        [3, 3, 3, 1, 4, 3, 1, 1], [1, 1, 1, 1, 1, 1, 2, 2],
    ]  # fmt: skip
    assert _grid(out, "event") == [
        [0, 0, 0, -1, -1, -1, -1, -1], [0, 0, 0, -1, -1, -1, -1, -1],
        [1, 1, 1, 1, -1, -1, -1, -1], [0, 0, 0, -1, -1, -1, -1, -1],
        [2, 2, 2, 2, 2, 2, -1, -1],
    ]  # fmt: skip


def test_one_row_per_input_row_in_input_order():
    df = table().sample(fraction=1.0, shuffle=True, seed=3)
    out = FFGroups({"distance_cutoff": 10.0}).apply(df)
    assert out.columns == ["group", "sequence", "id", "frame", "group_membership",
                           "group_size", "event"]  # fmt: skip
    assert out.select("id", "frame").rows() == df.select("id", "frame").rows()
    assert out.schema["group_membership"] == pl.Int32
    assert out.schema["group_size"] == pl.Int32
    assert out.schema["event"] == pl.Int64


def test_sequences_are_grouped_separately():
    a = table()
    both = pl.concat([a, a.with_columns(pl.lit("t").alias("sequence"), pl.col("X") * 100)])
    out = FFGroups({"distance_cutoff": 10.0}).apply(both)
    alone_s = FFGroups({"distance_cutoff": 10.0}).apply(a)
    alone_t = FFGroups({"distance_cutoff": 10.0}).apply(both.filter(pl.col("sequence") == "t"))
    assert out.filter(pl.col("sequence") == "s").equals(alone_s)
    assert out.filter(pl.col("sequence") == "t").equals(alone_t)


def test_parameters():
    assert get_feature("ffgroups") is FFGroups
    p = FFGroups().params
    assert (p.distance_cutoff, p.window_size, p.min_event_duration) == (50.0, 5, 1)
    with pytest.raises(ValidationError, match="odd"):
        FFGroups({"window_size": 4})
    with pytest.raises(ValidationError):
        FFGroups({"distance_cutoff": 0.0})
    with pytest.raises(ValueError, match="missing column"):
        FFGroups().apply(table().drop("Y"))


def test_through_run_feature(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(table())
    res = run_feature(ds, FFGroups({"distance_cutoff": 10.0, "window_size": 3}))
    out = read_feature(ds, res, "g", "s")
    assert _grid(out, "group_size")[0] == [3, 3, 3, 3, 3, 2, 2, 2]
    np.testing.assert_array_equal(out["frame"].to_numpy(), np.tile(np.arange(8), 5))


def _metrics_table() -> pl.DataFrame:
    X = {0: [0, 1, 2, 3, 4, 5], 1: [2, 2, 3, 9, 9, 9], 2: [7, 6, 6, 1, math.nan, 1],
         3: [40, 40, 41, 42, 43, 44]}  # fmt: skip
    Y = {0: [0, 0, 1, 1, 1, 2], 1: [1, 3, 2, 0, 1, 1], 2: [0, 1, 0, 5, 5, 5], 3: [0] * 6}
    GS = {0: [3, 3, 3, 2, 2, 2], 1: [3, 3, 3, 1, 1, 1], 2: [3, 3, 3, 2, 2, 2], 3: [1] * 6}
    EV = {0: [0, 0, 0, 1, 1, 1], 1: [0, 0, 0, 2, 2, 2], 2: [0, 0, 0, 1, 1, 1], 3: [3] * 6}
    return pl.DataFrame(
        [
            {
                "group": "g",
                "sequence": "s",
                "id": i,
                "frame": f,
                "time": f / 2,
                "X": float(X[i][f]),
                "Y": float(Y[i][f]),
                "group_size": GS[i][f],
                "event": EV[i][f],
            }  # fmt: skip
            for i in range(4)
            for f in range(6)
        ]
    )


def test_metrics_match_mosaic_observed_values():
    # observed from mosaic-behavior 0.17.0's FFGroupsMetrics(params={}).apply(table),
    # except ftime_periphery(_norm) of (id 0 | 1, group_size 3): mosaic gives NaN for
    # "never farthest" (its fill of missing combinations does not take); moveo 0.0
    out = FFGroupsMetrics().apply(_metrics_table())
    assert out.select("id", "group_size").rows() == [
        (0, 2), (0, 3), (1, 1), (1, 3), (2, 2), (2, 3), (3, 1)
    ]  # fmt: skip
    np.testing.assert_allclose(out["fractime_norm2"], [0.5] * 6 + [1.0])
    np.testing.assert_allclose(out["avg_duration_frame"], [3.0] * 6 + [6.0])
    np.testing.assert_allclose(out["ftime_periphery"], [2 / 3, 0.0, 1.0, 0.0, 2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(out["ftime_periphery_norm"], [4 / 3, 0.0, 1.0, 0.0, 4 / 3, 3.0, 1.0])
    assert out.select("chunk_id", "chunk_start_frame", "chunk_end_frame").unique().rows() == [
        (0, 0, 5)
    ]
    assert out["chunk_end_time"].unique().to_list() == [2.5]
    chunks = FFGroupsMetrics({"frame_chunk": 4}).apply(_metrics_table())
    assert chunks.filter(pl.col("chunk_id") == 1).select(
        "id", "chunk_start_frame", "chunk_end_frame", "ftime_periphery"
    ).rows() == [(0, 4, 8, 0.5), (1, 4, 8, 1.0), (2, 4, 8, 0.5), (3, 4, 8, 1.0)]
    np.testing.assert_allclose(
        chunks.filter(pl.col("chunk_id") == 0)["fractime_norm2"], [0.25, 0.75, 0.25, 0.75, 0.25,
                                                                   0.75, 1.0]
    )  # fmt: skip


def test_metrics_without_group_size_and_empty():
    df = _metrics_table().drop("group_size", "event")
    out = FFGroupsMetrics().apply(df)
    assert out["group_size"].unique().to_list() == [4]  # rows per frame
    assert (
        FFGroupsMetrics({"exclude_cols": ["bad"]})
        .apply(df.with_columns(pl.lit(True).alias("bad")))
        .height
        == 0
    )
    assert get_feature("ffgroups-metrics") is FFGroupsMetrics
