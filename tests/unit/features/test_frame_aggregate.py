"""frame-aggregate: one row per frame, mosaic's semantics, any input table.

Proves: values observed from mosaic-behavior 0.17.0 (recorded literally),
thresholds count missing values as not exceeding, pair tables without an id
column work, output is keyed and sorted by (group, sequence, frame), errors name
the column.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.features import SpeedAngvel, get_feature
from moveo.features.frame_aggregate import FrameAggregate
from moveo.pipeline.run import read_feature, run_feature

NAN = math.nan
DF = pl.DataFrame(
    {
        "group": "g",
        "sequence": "s",
        "id": [0, 1, 2, 0, 1, 2, 0, 2],
        "frame": [0, 0, 0, 1, 1, 1, 2, 2],
        "time": [0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.2, 0.2],
        "speed": [1.0, -2.0, 4.0, NAN, 3.0, 0.5, NAN, NAN],
    }
)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # observed from mosaic-behavior 0.17.0's FrameAggregate(params=...).apply(DF)
        ({"column": "speed"}, [1.0, 1.75, NAN]),
        ({"column": "speed", "agg": "median"}, [1.0, 1.75, NAN]),
        ({"column": "speed", "agg": "std"}, [3.0, 1.7677669529663689, NAN]),
        ({"column": "speed", "agg": "sum"}, [3.0, 3.5, 0.0]),
        ({"column": "speed", "agg": "count"}, [3, 2, 0]),
        ({"column": "speed", "agg": "max", "transform": "abs"}, [4.0, 3.0, NAN]),
        ({"column": "speed", "threshold": 0.75}, [2 / 3, 1 / 3, 0.0]),
    ],
)
def test_matches_mosaic_observed_values(params, expected):
    out = FrameAggregate(params).apply(DF)
    name = f"speed_{params.get('agg', 'mean')}"
    assert out.columns == ["group", "sequence", "frame", "time", name]
    np.testing.assert_allclose(out[name].cast(pl.Float64).to_numpy(), expected, rtol=1e-12)
    assert out["time"].to_list() == [0.0, 0.1, 0.2]
    if params.get("agg") == "count":
        assert out.schema[name] == pl.Int64


def test_pair_table_and_filter():
    pairs = pl.DataFrame(
        {
            "frame": [0, 0, 1, 1],
            "id1": [0, 1, 0, 1],
            "id2": [1, 0, 1, 0],
            "perspective": [0, 1, 0, 1],
            "AB_dist": [2.0, 2.0, 5.0, 5.0],
        }  # fmt: skip
    )
    out = FrameAggregate({"column": "AB_dist", "agg": "sum", "filter_expr": "perspective == 0",
                          "output_column": "total"}).apply(pairs)  # fmt: skip
    assert out.rows() == [(0, 2.0), (1, 5.0)]


def test_sorted_by_sequence_then_frame():
    two = pl.concat([DF.with_columns(pl.lit("t").alias("sequence")), DF])
    out = FrameAggregate({"column": "speed", "agg": "count"}).apply(two)
    assert out.select("sequence", "frame").rows() == [
        ("s", 0), ("s", 1), ("s", 2), ("t", 0), ("t", 1), ("t", 2)
    ]  # fmt: skip


def test_errors():
    assert get_feature("frame-aggregate") is FrameAggregate
    with pytest.raises(ValueError, match="column"):
        FrameAggregate()
    with pytest.raises(ValueError, match="no column 'nope'"):
        FrameAggregate({"column": "nope"}).apply(DF)
    with pytest.raises(TypeError, match="must be numeric"):
        FrameAggregate({"column": "sequence"}).apply(DF)
    with pytest.raises(ValueError, match="no 'frame' column"):
        FrameAggregate({"column": "speed"}).apply(DF.drop("frame"))


def test_through_run_feature(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=10.0)
    ds.add_tracks(
        pl.DataFrame(
            {
                "group": "g",
                "sequence": "s",
                "id": [0] * 3 + [1] * 3,
                "frame": [0, 1, 2] * 2,
                "X": [0.0, 1.0, 3.0, 0.0, 0.0, 0.0],
                "Y": [0.0] * 6,
            }
        )  # fmt: skip
    )
    speed = run_feature(ds, SpeedAngvel())
    res = run_feature(ds, FrameAggregate({"column": "speed"}, inputs=(speed,)))
    out = read_feature(ds, res, "g", "s")
    np.testing.assert_allclose(out["speed_mean"].to_numpy(), [NAN, 5.0, 10.0])
