"""social-motion-summary: mosaic-observed values, keys, subgroup rows, errors.

Proves: values observed from mosaic-behavior 0.17.0 on a fixed table (recorded
literally), one row per (group, sequence, id[, subgroup value]), the neighbour
speed and group-mean speed come from the same frame, and missing inputs fail
with the column and its provider.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from moveo.features import get_feature
from moveo.features.social import SocialMotionSummary

NAN = math.nan
DF = pl.DataFrame(
    {
        "group": "g",
        "sequence": "s",
        "id": [0] * 5 + [1] * 5,
        "frame": [0, 1, 2, 3, 4] * 2,
        "speed": [1.0, 2.0, 4.0, 3.0, 3.5, 2.0, 2.0, NAN, 1.0, 5.0],
        "nn_id": [1, 1, 1, None, 1, 0, 0, 0, None, 0],
        "nn_delta_angle": [0.1, 0.2, NAN, NAN, 0.5, -0.1, -0.2, NAN, NAN, -0.5],
        "nn_delta_x_ego": [1.0, -1.0, 2.0, NAN, 0.5, -1.0, 1.0, -2.0, NAN, -0.5],
        "nn_delta_y_ego": [0.0, 1.0, 1.0, NAN, 0.5, 0.0, -1.0, -1.0, NAN, -0.5],
        "group_membership": [0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        "group_size": [2, 2, 2, 1, 2, 2, 2, 2, 1, 2],
    }
)


def test_matches_mosaic_observed_values():
    # observed from mosaic-behavior 0.17.0: SocialMotionSummary(params={}).apply(DF)
    out = SocialMotionSummary().apply(DF)
    assert out.columns[:3] == ["group", "sequence", "id"]
    exp = {
        "nn_align": [0.9508844350032134, 0.9508844350032134],
        "frac_nn_ahead": [0.75, 0.25],
        "speed_match_nn": [0.8333333333333334, 0.8333333333333334],
        "speed_cv": [0.39890109682477803, 0.6],
        "accel_mean": [33.75, 60.0],
        "jerk_med": [1350.0, NAN],
    }
    for name, values in exp.items():
        np.testing.assert_allclose(out[name].to_numpy(), values, rtol=1e-12, err_msg=name)


def test_subgroup_rows_and_counts():
    out = SocialMotionSummary({"subgroup_col": "group_size"}).apply(DF)
    assert out.select("id", "group_size").rows() == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert out["n_frames"].to_list() == [1, 4, 1, 4]
    # group_size 1 rows have no social frame
    assert out["n_social_frames"].to_list() == [0, 4, 0, 4]
    assert np.isnan(out.filter(pl.col("group_size") == 1)["nn_align"].to_numpy()).all()


def test_speed_only_and_errors():
    out = SocialMotionSummary().apply(DF.select("id", "frame", "speed"))
    assert out.height == 2 and np.isnan(out["nn_align"].to_numpy()).all()
    assert get_feature("social-motion-summary") is SocialMotionSummary
    with pytest.raises(ValueError, match="speed-angvel"):
        SocialMotionSummary().apply(DF.drop("speed"))
    with pytest.raises(ValueError, match="collides"):
        SocialMotionSummary({"subgroup_col": "nn_align"})
