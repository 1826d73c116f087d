"""The summary-feature helpers: mosaic's filter_expr / exclude_cols and frame grouping.

Proves: pandas-``query`` expressions select the same rows as pandas does
(including NaN comparisons, ``~``/``&``/``|`` precedence, ``in`` lists,
backticked names), unsupported syntax and unknown columns fail with the
feature's name, and frame groups are sorted by (sequence, frame, subgroup).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from moveo.features._frame import filter_rows, frame_groups, query_expr
from moveo.features._tracking import TrackTable
from moveo.schema import COLUMNS

DF = pl.DataFrame(
    {
        "event": [-1, 0, 2, 1, 0],
        "speed": [1.0, float("nan"), 3.0, 0.5, 2.0],
        "bad_frame": [False, True, False, False, True],
        "name": ["a", "b", "c", "a", "b"],
        "my col": [1, 2, 3, 4, 5],
    }
)

EXPRESSIONS = [
    "event >= 0",
    "~bad_frame",
    "not bad_frame and speed > 1",
    "event >= 0 & ~bad_frame",
    "speed > 1 | event == -1",
    "~(speed > 1)",
    "speed != 3",
    "event in [0, 1]",
    "event not in [0, -1]",
    "name == 'a'",
    "0 <= event < 2",
    "abs(event) == 1",
    "speed.isna()",
    "speed.notna() & (speed * 2 > 3)",
    "`my col` % 2 == 1",
    "-event > 0",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_query_expr_selects_what_pandas_selects(expr):
    expected = DF.to_pandas().query(expr).index.to_list()
    got = DF.with_row_index("i").filter(query_expr(expr, DF.schema))["i"].to_list()
    assert got == expected


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        ("nope > 1", "names column 'nope'"),
        ("speed >", "cannot parse"),
        ("speed.rolling(3)", "not supported"),
        ("event in speed", "list of literals"),
        ("", "non-empty"),
    ],
)
def test_query_expr_errors(expr, match):
    with pytest.raises(ValueError, match=match):
        query_expr(expr, DF.schema, who="frame-aggregate")


def test_filter_rows_exclude_cols():
    out = filter_rows(DF, None, ["bad_frame", "absent"], who="x")
    assert out["event"].to_list() == [-1, 2, 1]
    both = filter_rows(DF, "event >= 0", ["bad_frame"], who="x")
    assert both["event"].to_list() == [2, 1]
    pd_out = DF.to_pandas()
    assert len(pd_out[~pd_out[["bad_frame"]].any(axis=1)]) == 3


def test_frame_groups_order():
    df = pl.DataFrame(
        {
            "group": ["g"] * 6,
            "sequence": ["s1", "s1", "s0", "s0", "s1", "s0"],
            "id": [1, 1, 1, 1, 2, 2],
            "frame": [5, 6, 5, 6, 5, 6],
        }
    )
    t = TrackTable(df, "x", COLUMNS)
    g = frame_groups(t)
    keys = df[g.first.tolist()].select("sequence", "frame").rows()
    assert keys == [("s0", 5), ("s0", 6), ("s1", 5), ("s1", 6)]
    assert np.diff(g.offsets).tolist() == [1, 2, 2, 1]
    assert t.order is None  # one run per (sequence, id): kernel order is input order
    gs = frame_groups(t, np.array([1, -1, 0, 0, 1, 1]))
    # (s0,5,0) (s0,6,0) (s0,6,1) (s1,5,1); row 1 belongs to no subgroup and is left out
    assert df[gs.first.tolist()].select("sequence", "frame").rows() == [
        ("s0", 5),
        ("s0", 6),
        ("s0", 6),
        ("s1", 5),
    ]
    assert gs.perm.shape[0] == 5 and 1 not in gs.perm.tolist()
    assert frame_groups(TrackTable(df.head(0), "x", COLUMNS)).n == 0


def test_pandas_still_agrees_on_nan_equality():
    # the reason != fills missing with True: pandas keeps NaN rows for !=
    assert pd.DataFrame({"v": [np.nan, 1.0]}).query("v != 1").shape[0] == 1
