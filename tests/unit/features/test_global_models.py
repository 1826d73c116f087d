"""extract-templates and the global features (scaler, k-means, Ward)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import ExtractTemplates, GlobalKMeans, GlobalScaler, GlobalWard
from moveo.features.templates import _proportional_caps
from moveo.pipeline.types import InputStream


def _blobs(rng, n_per=200, centers=((0, 0), (20, 0), (0, 20)), seq="s0", nan_every=0):
    rows = []
    for k, (cx, cy) in enumerate(centers):
        xy = rng.normal(size=(n_per, 2)) + [cx, cy]
        rows.append(
            pl.DataFrame(
                {
                    "group": "g0",
                    "sequence": seq,
                    "id": k,
                    "frame": np.arange(n_per),
                    "a": xy[:, 0],
                    "b": xy[:, 1],
                    "truth": np.full(n_per, k),
                }
            )
        )
    df = pl.concat(rows)
    if nan_every:
        df = df.with_columns(
            pl.when(pl.col("frame") % nan_every == 0)
            .then(float("nan"))
            .otherwise(pl.col("a"))
            .alias("a")
        )
    return df


def test_proportional_caps_hand_worked():
    assert _proportional_caps(np.array([10, 30, 60]), 10).tolist() == [1, 3, 6]
    assert _proportional_caps(np.array([1, 1, 1]), 2).sum() == 2
    assert _proportional_caps(np.array([5, 0, 2]), 100).tolist() == [5, 0, 2]
    caps = _proportional_caps(np.array([7, 13, 0, 80]), 33)
    assert caps.sum() == 33
    assert caps[2] == 0


@pytest.mark.parametrize("strategy", ["farthest_first", "random"])
def test_templates_skip_nan_rows_and_mark_entries(rng, strategy):
    frames = [
        (("g0", "s0"), _blobs(rng, seq="s0", nan_every=3)),
        (("g0", "s1"), _blobs(rng, n_per=100, seq="s1")),
    ]
    feat = ExtractTemplates(
        {"n_templates": 30, "pool_size": 300, "columns": ["a", "b"], "strategy": strategy}
    )
    feat.fit(InputStream.from_frames(frames))
    t = feat.templates
    assert t.height == 30
    assert t.columns == ["group", "sequence", "id", "frame", "a", "b"]
    assert not t.select(pl.col("a").is_nan().any()).item()
    # the pool is proportional: s1 has 300 complete rows of 700 in total
    assert 0 < t.filter(pl.col("sequence") == "s1").height < 30
    out = feat.apply(frames[0][1])
    assert out.height == frames[0][1].height
    assert out.columns == ["group", "sequence", "id", "frame", "is_template", "template_index"]
    marked = out.filter("is_template")
    assert marked.height == t.filter(pl.col("sequence") == "s0").height
    idx = marked["template_index"].to_list()
    assert t[idx].select("id", "frame").rows() == marked.select("id", "frame").rows()


def test_farthest_first_templates_cover_every_blob(rng):
    # 3 blobs, one tiny: farthest-first must still pick templates from all of them
    big = _blobs(rng, n_per=500, centers=((0, 0), (30, 0)))
    small = _blobs(rng, n_per=5, centers=((0, 30),)).with_columns(pl.lit(2).alias("id"))
    df = pl.concat([big, small])
    feat = ExtractTemplates({"n_templates": 6, "pool_size": 1005, "columns": ["a", "b"]})
    feat.fit(InputStream.from_frames([(("g0", "s0"), df)]))
    assert set(feat.templates["id"].to_list()) == {0, 1, 2}


def test_templates_too_few_rows(rng):
    df = _blobs(rng, n_per=3)
    feat = ExtractTemplates({"n_templates": 20, "pool_size": 100})
    with pytest.raises(ValueError, match="only 9 rows without NaN .* fewer than n_templates=20"):
        feat.fit(InputStream.from_frames([(("g0", "s0"), df)]))
    with pytest.raises(ValidationError, match="pool_size"):
        ExtractTemplates({"n_templates": 20, "pool_size": 10})


def _templates_run(tmp_dataset, rng, **params):
    ds = tmp_dataset
    df = _blobs(rng, n_per=150)
    tracks = (
        df.rename({"a": "X", "b": "Y"})
        .drop("truth")
        .with_columns(ANGLE=pl.lit(0.0), time=pl.col("frame") / 30.0)
    )
    tracks = tracks.with_columns(
        pl.when((pl.col("frame") == 5) & (pl.col("id") == 1))
        .then(float("nan"))
        .otherwise(pl.col("X"))
        .alias("X")
    )
    ds.add_tracks(tracks)
    opts = {"n_templates": 60, "pool_size": 450, "columns": ["X", "Y"], **params}
    return ds, run_feature(ds, ExtractTemplates(opts))


def test_global_kmeans_and_ward_recover_blobs_with_null_for_nan(tmp_dataset, rng):
    ds, t = _templates_run(tmp_dataset, rng)
    assert (
        ds.features_root / "extract-templates" / t.run_id / ".state" / "templates.parquet"
    ).exists()
    for feat in (GlobalKMeans({"k": 3}), GlobalWard({"n_clusters": 3})):
        res = run_feature(ds, feat)
        out = pl.read_parquet(ds.features_root / feat.name / res.run_id / "g0" / "s0.parquet")
        assert out.height == 450
        nan_row = out.filter((pl.col("id") == 1) & (pl.col("frame") == 5))
        assert nan_row["cluster"].to_list() == [None]
        assert out["cluster"].null_count() == 1
        # each blob (one individual) maps to exactly one cluster, all distinct
        per_id = out.drop_nulls("cluster").group_by("id").agg(pl.col("cluster").n_unique())
        assert per_id["cluster"].to_list() == [1, 1, 1]
        assert out.drop_nulls("cluster")["cluster"].n_unique() == 3


def test_global_model_reuse_skips_fit_and_matches(tmp_dataset, rng):
    ds, t = _templates_run(tmp_dataset, rng)
    first = run_feature(ds, GlobalKMeans({"k": 3, "templates": {"run_id": t.run_id}}))
    again = run_feature(ds, GlobalKMeans({"model": {"run_id": first.run_id}}))
    assert again.run_id != first.run_id
    a = pl.read_parquet(ds.features_root / "global-kmeans" / first.run_id / "g0" / "s0.parquet")
    b = pl.read_parquet(ds.features_root / "global-kmeans" / again.run_id / "g0" / "s0.parquet")
    assert a.equals(b)
    with pytest.raises(ValueError, match="holds a 'global-kmeans' model, not a 'global-ward'"):
        run_feature(
            ds,
            GlobalWard({"model": {"feature": "global-kmeans", "run_id": first.run_id}}),
        )


def test_global_scaler_uses_template_statistics(tmp_dataset, rng):
    ds, t = _templates_run(tmp_dataset, rng)
    res = run_feature(ds, GlobalScaler({"columns": ["X"]}))
    out = pl.read_parquet(ds.features_root / "global-scaler" / res.run_id / "g0" / "s0.parquet")
    templ = pl.read_parquet(
        ds.features_root / "extract-templates" / t.run_id / ".state" / "templates.parquet"
    )
    x = templ["X"].to_numpy()
    tracks = ds.read("g0", "s0")
    expected = (tracks["X"].to_numpy() - x.mean()) / x.std()
    np.testing.assert_allclose(out["X_z"].to_numpy(), expected, rtol=1e-9, equal_nan=True)


def test_global_params_validation(tmp_dataset, rng):
    with pytest.raises(ValidationError, match="either 'templates'"):
        GlobalKMeans({"templates": {"run_id": "a"}, "model": {"run_id": "b"}})
    with pytest.raises(ValidationError, match="one of 'templates' or 'model' must be provided"):
        GlobalWard({"templates": None})
    ds, _ = _templates_run(tmp_dataset, rng)
    with pytest.raises(ValueError, match="k=61 is larger than the 60 complete templates"):
        run_feature(ds, GlobalKMeans({"k": 61}))
    with pytest.raises(ValueError, match="n_clusters=100 is larger than the 60"):
        run_feature(ds, GlobalWard({"n_clusters": 100}))
    with pytest.raises(ValueError, match=r"input has no column\(s\) \['nope'\]"):
        run_feature(ds, GlobalKMeans({"k": 2, "columns": ["nope"]}))
