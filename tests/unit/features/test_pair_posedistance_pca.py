"""pair-posedistance-pca: 91 keypoint distances per pair row, an IncrementalPCA fitted
on the whole scope (per-pair batches, as mosaic) and saved with the run; scores equal
mosaic-behavior 0.17.0's (observed on the table below) up to each component's sign;
scope dependence and caching through run_feature."""

import numpy as np
import polars as pl
import pytest

import moveo
from moveo.contract import InputStream
from moveo.features import PairPoseDistancePCA, get_feature


def small_pose() -> pl.DataFrame:
    """Three individuals x 60 frames with 7 keypoints on a gently bending body."""
    rows = []
    f = np.arange(60)
    for ident in (1, 2, 3):
        h = 0.3 * ident + 0.05 * f * ident
        cx = 40 * ident + 10 * np.cos(f / 7 + ident)
        cy = 20 * np.sin(f / 9 * ident)
        for i in range(60):
            row = {"id": ident, "frame": i, "X": cx[i], "Y": cy[i], "ANGLE": h[i]}
            for k in range(7):
                bend = 0.1 * np.sin(f[i] / 5 + k) * (k - 3)
                row[f"poseX{k}"] = cx[i] + (3 - k) * 2.0 * np.cos(h[i] + bend)
                row[f"poseY{k}"] = cy[i] + (3 - k) * 2.0 * np.sin(h[i] + bend)
            rows.append(row)
    return pl.DataFrame(rows).with_columns(group=pl.lit("g"), sequence=pl.lit("s"))


# Observed from mosaic-behavior 0.17.0 (run_feature of PairPoseDistancePCA() on this
# table): the model's explained_variance_ and the scores of three rows.
MOSAIC_VARIANCE = [
    1.99494986e04,
    3.91254244e02,
    3.82260861e02,
    8.24065915e00,
    5.73931293e00,
    9.78758425e-01,
]
MOSAIC_SCORES = {
    (0, 1, 2): [
        -185.62908149198154,
        36.25453261376051,
        -5.445354291062827,
        -0.7115677200174879,
        1.262447495908711,
        -0.5007995298258976,
    ],
    (30, 3, 1): [
        166.14164207444327,
        -7.951846443758361,
        21.89419914062475,
        1.6811553328841988,
        -0.7388479784726555,
        0.2827313562760736,
    ],
    (59, 2, 3): [
        -48.983896673940365,
        0.34531826919191744,
        -38.45345637887618,
        0.5153277254791817,
        -0.34182275128507644,
        0.04284985296783361,
    ],
}


def fitted(df, params=None):
    feat = PairPoseDistancePCA(params)
    feat.fit(InputStream.from_frames([(("g", "s"), df)]))
    return feat


def test_scores_equal_mosaic_up_to_sign():
    assert get_feature("pair-posedistance-pca") is PairPoseDistancePCA
    df = small_pose()
    feat = fitted(df)
    np.testing.assert_allclose(feat.model.explained_variance_, MOSAIC_VARIANCE, rtol=1e-5)
    out = feat.apply(df)
    assert out.columns == [
        "group",
        "sequence",
        "frame",
        "id1",
        "id2",
        "perspective",
        *[f"PC{j}" for j in range(6)],
    ]
    assert out.height == 360
    signs = None
    for (frame, a, b), expected in MOSAIC_SCORES.items():
        row = out.filter((pl.col("frame") == frame) & (pl.col("id1") == a) & (pl.col("id2") == b))
        got = np.array(row.select([f"PC{j}" for j in range(6)]).row(0))
        # a component's sign is a convention (svd_flip on near-tied loadings)
        s = np.sign(got * np.array(expected))
        signs = s if signs is None else signs
        np.testing.assert_array_equal(s, signs)
        np.testing.assert_allclose(got * s, expected, rtol=1e-4, atol=1e-4)


def test_features_options_and_errors():
    df = small_pose()
    half = fitted(df, {"duplicate_perspective": False, "n_components": 3}).apply(df)
    assert half.height == 180 and (half["perspective"] == 0).all()
    assert [c for c in half.columns if c.startswith("PC")] == ["PC0", "PC1", "PC2"]
    with pytest.raises(ValueError, match="at least one"):
        PairPoseDistancePCA(
            {"include_intra_A": False, "include_intra_B": False, "include_inter": False}
        )
    with pytest.raises(RuntimeError, match="not fitted"):
        PairPoseDistancePCA().apply(df)
    with pytest.raises(ValueError, match="n_components"):
        fitted(df.filter(pl.col("frame") < 1), {"n_components": 7})  # 6 rows


def test_pipeline_state_and_scope(tmp_path):
    df = small_pose()
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(df)
    ds.add_tracks(df.with_columns(sequence=pl.lit("t"), X=pl.col("X") + 1.0))
    both = moveo.run_feature(ds, PairPoseDistancePCA())
    assert (
        tmp_path
        / "ds"
        / "features"
        / "pair-posedistance-pca"
        / both.run_id
        / ".state"
        / "pca.joblib"
    ).exists()
    one = moveo.run_feature(ds, PairPoseDistancePCA(), sequences=["s"])
    assert one.run_id != both.run_id  # scope dependent
    got = moveo.read_feature(ds, one, "g", "s")
    ref = fitted(df).apply(df)
    np.testing.assert_allclose(got["PC0"].to_numpy(), ref["PC0"].to_numpy(), rtol=1e-9)
    assert moveo.run_feature(ds, PairPoseDistancePCA(), sequences=["s"]).run_id == one.run_id
