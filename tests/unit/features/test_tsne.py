"""``global-tsne``: openTSNE embedding of the templates, every complete row mapped into it.

Proves: mosaic's parameters and defaults; rows of well separated blobs land
next to their own blob's templates; a row's position does not depend on the
chunk it is mapped in; incomplete rows are dropped and other columns carried
through; the fitted model is saved (sha256-verified) and reused; the
templates are an explicit edge in a Pipeline; openTSNE missing is an
ImportError naming the extra; too few templates for the perplexity is a clear
error.
"""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

from moveo import run_feature
from moveo.features import ExtractTemplates, GlobalTsne, SpeedAngvel
from moveo.features.tsne import TsneFitConfig, TsneMappingConfig
from moveo.pipeline import FeatureStep, Pipeline
from unit.features.test_global_models import _templates_run

QUICK = {
    "perplexity": 10,
    "n_jobs": 1,
    "fit": {"exaggeration_iters": 50, "iters": 100},
    "mapping": {"iters": 30},
}


def test_mosaic_defaults():
    p = GlobalTsne.Params()
    assert (p.random_state, p.perplexity, p.knn_method, p.n_jobs, p.standardize) == (
        42,
        50.0,
        "annoy",
        8,
        False,
    )
    assert p.fit == TsneFitConfig(
        learning_rate="auto",
        exaggeration_iters=250,
        exaggeration=12.0,
        exaggeration_momentum=0.5,
        iters=750,
        momentum=0.8,
    )
    assert p.mapping == TsneMappingConfig(
        k=25, iters=100, learning_rate=1.0, exaggeration=2.0, momentum=0.0, chunk_size=50_000
    )
    assert p.templates.feature == "extract-templates"


def test_rows_land_next_to_their_blob(tmp_dataset, rng):
    ds, t = _templates_run(tmp_dataset, rng)
    res = run_feature(ds, GlobalTsne(QUICK))
    root = ds.features_root / "global-tsne" / res.run_id
    out = pl.read_parquet(root / "g0" / "s0.parquet")
    # the row with NaN in X is dropped, X/Y replaced by the embedding, the rest kept
    assert out.height == 449
    assert out.columns == ["group", "sequence", "id", "frame", "time", "ANGLE", "tsne_x", "tsne_y"]
    emb = pl.read_parquet(root / ".state" / "tsne_templates.parquet")
    assert emb.columns == ["group", "sequence", "id", "frame", "tsne_x", "tsne_y"]
    assert emb.height == 60
    # each blob (individual) has its templates' centre; its rows are nearest to it
    centres = emb.group_by("id").agg(pl.col("tsne_x").mean(), pl.col("tsne_y").mean()).sort("id")
    c = centres.select("tsne_x", "tsne_y").to_numpy()
    xy = out.select("tsne_x", "tsne_y").to_numpy()
    nearest = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    assert (centres["id"].to_numpy()[nearest] == out["id"].to_numpy()).mean() > 0.98
    assert (root / ".state" / "model.joblib.json").exists()
    # reuse the fitted model: same positions, no fit
    again = run_feature(ds, GlobalTsne({**QUICK, "model": {"run_id": res.run_id}}))
    other = pl.read_parquet(ds.features_root / "global-tsne" / again.run_id / "g0" / "s0.parquet")
    np.testing.assert_allclose(other["tsne_x"].to_numpy(), out["tsne_x"].to_numpy())


def test_mapping_does_not_depend_on_chunks(tmp_dataset, rng):
    ds, _ = _templates_run(tmp_dataset, rng)
    whole = run_feature(ds, GlobalTsne(QUICK))
    chunked = run_feature(ds, GlobalTsne({**QUICK, "mapping": {"iters": 30, "chunk_size": 7}}))
    root = ds.features_root / "global-tsne"
    a = pl.read_parquet(root / whole.run_id / "g0" / "s0.parquet")
    b = pl.read_parquet(root / chunked.run_id / "g0" / "s0.parquet")
    np.testing.assert_allclose(
        a.select("tsne_x", "tsne_y").to_numpy(), b.select("tsne_x", "tsne_y").to_numpy(), atol=1e-9
    )


def test_pipeline_edge(tmp_path):
    from moveo.io.synthetic import generate_dataset

    ds = generate_dataset(tmp_path / "ds", n_groups=1, n_sequences=1, n_individuals=2, n_frames=150)
    pipe = (
        Pipeline()
        .add(FeatureStep("speed", SpeedAngvel))
        .add(FeatureStep("templates", ExtractTemplates, {"n_templates": 60}, input_names=["speed"]))
        .add(FeatureStep("tsne", GlobalTsne, QUICK, input_names=["speed"]))
    )
    assert pipe.dag()["tsne"] == ["speed", "templates"]
    results = pipe.run(ds, progress=False)
    out = pl.read_parquet(
        ds.features_root / "global-tsne" / results["tsne"].run_id / "g0/s0.parquet"
    )
    assert np.isfinite(out.select("tsne_x", "tsne_y").to_numpy()).all()


def test_errors(tmp_dataset, rng, monkeypatch):
    ds, _ = _templates_run(tmp_dataset, rng)
    with pytest.raises(ValueError, match=r"perplexity=50.0 needs more than 151 complete templates"):
        run_feature(ds, GlobalTsne({"n_jobs": 1}))
    monkeypatch.setitem(sys.modules, "openTSNE", None)
    with pytest.raises(ImportError, match=r'pip install "moveo\[tsne\]"'):
        run_feature(ds, GlobalTsne(QUICK))
