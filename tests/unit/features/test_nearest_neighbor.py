"""nearest-neighbor: known distances, k neighbours and ties, sequences never mixed, bad input,
vs the reference.
"""

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moveo.features import NearestNeighbor
from reference import tracking as ref


def test_two_individuals_at_known_distance():
    # id 1 at (0, 0) facing +y; id 2 at (3, 4) facing -x; frame 1: id 2 missing
    df = pl.DataFrame(
        {
            "id": [1, 1, 2],
            "frame": [0, 1, 0],
            "X": [0.0, 0.0, 3.0],
            "Y": [0.0, 0.0, 4.0],
            "ANGLE": [np.pi / 2, 0.0, np.pi],
        }
    )
    out = NearestNeighbor().apply(df)
    assert out.columns == [
        "id",
        "frame",
        "nn_id",
        "nn_dist",
        "nn_delta_x",
        "nn_delta_y",
        "nn_delta_x_ego",
        "nn_delta_y_ego",
        "nn_delta_angle",
        "nn_ego_unrotated",
    ]
    assert out["nn_ego_unrotated"].to_list() == [False] * 3
    assert out["nn_id"].dtype == pl.Int64
    assert out["nn_id"].to_list() == [2, None, 1]
    np.testing.assert_allclose(out["nn_dist"].to_numpy(), [5.0, np.nan, 5.0])
    np.testing.assert_allclose(out["nn_delta_x"].to_numpy(), [3.0, np.nan, -3.0])
    np.testing.assert_allclose(out["nn_delta_y"].to_numpy(), [4.0, np.nan, -4.0])
    # id 1 (facing +y): neighbour 4 ahead, 3 to the right; id 2 (facing -x): 3 ahead, 4 right
    np.testing.assert_allclose(out["nn_delta_x_ego"].to_numpy(), [4.0, np.nan, 3.0], atol=1e-12)
    np.testing.assert_allclose(out["nn_delta_y_ego"].to_numpy(), [-3.0, np.nan, 4.0], atol=1e-12)
    np.testing.assert_allclose(out["nn_delta_angle"].to_numpy(), [np.pi / 2, np.nan, -np.pi / 2])


def test_k_neighbours_ties_and_no_angle():
    df = pl.DataFrame(
        {"id": [5, 9, 3, 4], "frame": [0, 0, 0, 0], "X": [1.0, 0.0, -1.0, np.nan], "Y": [0.0] * 4}
    )
    out = NearestNeighbor(params={"k": 2}).apply(df)
    # no ANGLE: as in mosaic, the _ego columns hold the world-frame deltas, flagged
    assert out["nn_ego_unrotated"].to_list() == [True] * 4
    assert "nn_delta_angle" not in out.columns
    np.testing.assert_array_equal(out["nn_delta_x_ego"].to_numpy(), out["nn_delta_x"].to_numpy())
    np.testing.assert_array_equal(out["nn_delta_y_ego"].to_numpy(), out["nn_delta_y"].to_numpy())
    assert out.columns[-4:] == ["nn1_id", "nn1_dist", "nn2_id", "nn2_dist"]
    assert out["nn_id"].to_list() == [9, 3, 9, None]  # id 9: ids 5 and 3 tie -> 3
    assert out["nn1_id"].to_list() == out["nn_id"].to_list()
    assert out["nn2_id"].to_list() == [3, 5, 5, None]
    np.testing.assert_allclose(out["nn2_dist"].to_numpy(), [2.0, 1.0, 2.0, np.nan])


def test_values_observed_from_mosaic():
    # three individuals over three frames (a NaN ANGLE, a NaN position) through
    # mosaic-behavior 0.17's nearest-neighbor in a throwaway venv gave these values
    df = pl.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "frame": [0, 1, 2] * 3,
            "X": [0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 10.0, 10.0, np.nan],
            "Y": [0.0, 0.0, 0.0, 4.0, 2.0, 1.0, 0.0, 0.0, 0.0],
            "ANGLE": [0.0, np.pi / 2, np.nan, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    out = NearestNeighbor().apply(df)
    assert out["nn_id"].to_list() == [2, 2, 2, 1, 1, 1, 2, 1, None]
    np.testing.assert_allclose(
        out["nn_dist"].to_numpy(),
        [5.0, 2.0, 1.414214, 5.0, 2.0, 1.414214, 8.062258, 10.0, np.nan],
        atol=5e-7,
    )
    np.testing.assert_allclose(
        out["nn_delta_x_ego"].to_numpy(),
        [3.0, 2.0, np.nan, -4.986791, 0.0, -1.0, -7.0, -10.0, np.nan],
        atol=5e-7,
    )
    np.testing.assert_allclose(
        out["nn_delta_y_ego"].to_numpy(),
        [4.0, 0.0, np.nan, 0.3632037, -2.0, -1.0, 4.0, 0.0, np.nan],
        atol=5e-7,
    )
    np.testing.assert_allclose(
        out["nn_delta_angle"].to_numpy(),
        [1.0, -np.pi / 2, np.nan, -1.0, np.pi / 2, np.nan, 1.0, np.pi / 2, np.nan],
        atol=5e-7,
    )
    assert not out["nn_ego_unrotated"].any()
    flat = NearestNeighbor().apply(df.drop("ANGLE"))
    assert flat["nn_ego_unrotated"].all()
    np.testing.assert_allclose(
        flat["nn_delta_x_ego"].to_numpy(),
        [3.0, 0.0, 1.0, -3.0, 0.0, -1.0, -7.0, -10.0, np.nan],
    )


def test_frames_of_different_sequences_are_not_mixed():
    a = pl.DataFrame(
        {"sequence": ["a"] * 2, "id": [0, 1], "frame": [0, 0], "X": [0.0, 10.0], "Y": [0.0, 0.0]}
    )
    b = pl.DataFrame(
        {"sequence": ["b"] * 2, "id": [0, 1], "frame": [0, 0], "X": [1.0, 50.0], "Y": [0.0, 0.0]}
    )
    out = NearestNeighbor().apply(pl.concat([a, b]))
    np.testing.assert_allclose(out["nn_dist"].to_numpy(), [10.0, 10.0, 49.0, 49.0])


def test_bad_input():
    df = pl.DataFrame({"id": [0, 1], "frame": [0, 0], "X": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"nearest-neighbor: missing column\(s\) \['Y'\]"):
        NearestNeighbor().apply(df)
    with pytest.raises(TypeError, match="nearest-neighbor: column 'Y' must be numeric"):
        NearestNeighbor().apply(df.with_columns(pl.lit("a").alias("Y")))
    with pytest.raises(ValueError, match="k"):
        NearestNeighbor(params={"k": 0})
    with pytest.raises(ValueError, match="missing column"):
        NearestNeighbor().apply(df.drop("id"))


@given(
    table=ref.track_tables(max_ids=6, max_rows=6, max_frame=4),
    k=st.integers(1, 2),
    seed=st.integers(0, 100),
)
def test_feature_matches_reference(table, k, seed):
    df = pl.DataFrame(
        {
            "id": table["ids"],
            "frame": table["frames"],
            "X": table["x"],
            "Y": table["y"],
            "ANGLE": table["angle"],
        }
    )
    perm = np.random.default_rng(seed).permutation(df.height)
    out = NearestNeighbor(params={"k": k}).apply(df[perm])
    rows, dist = ref.nearest_neighbors(table["x"], table["y"], table["ids"], table["frames"], k)
    nn = rows[:, 0]
    exp_id = [None if r < 0 else int(table["ids"][r]) for r in nn[perm]]
    assert out["nn_id"].to_list() == exp_id
    np.testing.assert_allclose(out["nn_dist"].to_numpy(), dist[perm, 0])
    has = nn >= 0
    dx = np.where(has, table["x"][nn] - table["x"], np.nan)
    np.testing.assert_allclose(out["nn_delta_x"].to_numpy(), dx[perm])
    ego = [
        ref.egocentric(
            table["x"][j] - table["x"][i], table["y"][j] - table["y"][i], table["angle"][i]
        )
        if j >= 0
        else (np.nan, np.nan)
        for i, j in enumerate(nn)
    ]
    np.testing.assert_allclose(
        out["nn_delta_y_ego"].to_numpy(), np.array(ego).reshape(-1, 2)[perm, 1], atol=1e-9
    )
    dang = [
        ref.wrap(table["angle"][j] - table["angle"][i]) if j >= 0 else np.nan
        for i, j in enumerate(nn)
    ]
    np.testing.assert_allclose(out["nn_delta_angle"].to_numpy(), np.array(dang)[perm], atol=1e-9)
