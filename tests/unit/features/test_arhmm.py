"""The ``arhmm`` feature: mosaic's parameters, syllables through run_feature and Pipeline.

Proves: mosaic's defaults; on tracks generated from a known ARHMM the
syllables match the true states (up to a relabelling) on > 95 % of the rows,
numbered by usage; rows with NaN (and each segment's first n_lags rows) get a
null syllable and a missing frame starts a new segment; downsample_rate
spreads each kept frame's syllable over the dropped ones; pruning removes
rarely used states; the fitted model is saved sha256-verified and reused with
``model`` (a DAG edge in a Pipeline); bad input fails with a clear message.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import run_feature
from moveo.features import Arhmm, SpeedAngvel
from moveo.features.arhmm import _downsample, _segments
from moveo.pipeline import FeatureStep, Pipeline
from moveo.schema import COLUMNS
from unit.kernels.test_arhmm import generate

FIT = {
    "n_states": 3,
    "columns": ["X", "Y"],
    "standardize": False,
    "sticky_weight": 10.0,
    "prune_threshold": 0.0,
    "tol": 1e-6,
}


def _tracks(y, z, offsets, sequence="s0"):
    parts = []
    for i, (s, e) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        parts.append(
            pl.DataFrame(
                {
                    "group": "g0",
                    "sequence": sequence,
                    "id": i,
                    "frame": np.arange(e - s),
                    "X": y[s:e, 0],
                    "Y": y[s:e, 1],
                    "truth": z[s:e],
                }
            )
        )
    return pl.concat(parts)


@pytest.fixture(scope="module")
def arhmm_ds(tmp_path_factory):
    from moveo import Dataset

    y, z, offsets = generate(np.random.default_rng(5), n_seg=4, length=2000)
    df = _tracks(y, z, offsets)
    ds = Dataset.create(tmp_path_factory.mktemp("arhmm") / "ds", fps=30.0)
    ds.add_tracks(df.drop("truth").with_columns(time=pl.col("frame") / 30.0))
    return ds, df


def test_mosaic_defaults():
    p = Arhmm.Params()
    assert (p.model, p.pca_dim, p.n_states, p.n_lags, p.sticky_weight) == (None, None, 50, 1, 100)
    assert (p.n_iter, p.tol, p.n_restarts, p.standardize, p.downsample_rate) == (
        200,
        1e-4,
        1,
        True,
        None,
    )
    assert (p.prune_threshold, p.random_state, p.columns, p.backend) == (0.01, 42, None, "auto")
    with pytest.raises(ValidationError, match="backend"):
        Arhmm({"backend": "jax"})


def test_syllables_recover_the_true_states(arhmm_ds):
    ds, truth = arhmm_ds
    res = run_feature(ds, Arhmm(FIT))
    root = ds.features_root / "arhmm" / res.run_id
    out = pl.read_parquet(root / "g0" / "s0.parquet")
    assert out.columns == ["group", "sequence", "id", "frame", "syllable"]
    assert out.height == truth.height
    joined = truth.join(out, on=["id", "frame"])
    # the first frame of each track has no predecessor: null
    assert joined.filter(pl.col("frame") == 0)["syllable"].null_count() == 4
    both = joined.drop_nulls("syllable")
    # the best relabelling (syllable -> true state) by majority
    mapping = both.group_by("syllable").agg(pl.col("truth").mode().first().alias("truth_of"))
    mapped = both.join(mapping, on="syllable").select(
        (pl.col("truth") == pl.col("truth_of")).mean()
    )
    assert mapped.item() > 0.95
    assert mapping["truth_of"].n_unique() == 3
    # syllables are numbered by usage: 0 is the most frequent
    counts = both.group_by("syllable").len().sort("syllable")["len"].to_list()
    assert counts == sorted(counts, reverse=True)
    # state saved with its checksum; reuse without fitting gives the same rows
    assert (root / ".state" / "model.joblib").exists()
    assert (root / ".state" / "model.joblib.json").exists()
    again = run_feature(ds, Arhmm({"model": {"run_id": res.run_id}, "columns": ["X", "Y"]}))
    assert again.run_id != res.run_id
    other = pl.read_parquet(ds.features_root / "arhmm" / again.run_id / "g0" / "s0.parquet")
    assert other.equals(out)


def test_nan_rows_gaps_and_downsampling():
    y, z, offsets = generate(np.random.default_rng(2), n_seg=2, length=1500)
    df = _tracks(y, z, offsets).drop("truth")
    df = df.with_columns(
        pl.when((pl.col("id") == 0) & (pl.col("frame") == 700)).then(None).otherwise("X").alias("X")
    )
    # drop frame 300 of individual 1: frame 301 starts a new segment
    df = df.filter(~((pl.col("id") == 1) & (pl.col("frame") == 300)))
    feat = Arhmm(FIT)
    from moveo.pipeline.types import InputStream

    feat.fit(InputStream.from_frames([(("g0", "s0"), df)]))
    out = feat.apply(df)
    assert out.height == df.height
    null = out.filter(pl.col("syllable").is_null()).select("id", "frame").rows()
    # first frames, the NaN row and the row after it, the first row after the gap
    assert sorted(null) == [(0, 0), (0, 700), (0, 701), (1, 0), (1, 301)]
    # downsampling by 3: every kept frame's syllable spreads over the next two
    down = Arhmm({**FIT, "downsample_rate": 3})
    down.fit(InputStream.from_frames([(("g0", "s0"), df)]))
    d = down.apply(df).filter(pl.col("id") == 1, pl.col("frame") < 300)
    syl = d["syllable"].to_numpy()
    # frames 0..2 take frame 0's (null), 3.. take the kept frame before them
    assert d["syllable"][:3].null_count() == 3
    kept = syl[3::3]
    np.testing.assert_array_equal(np.repeat(kept, 3)[: len(syl) - 3], syl[3:])
    # the input's row order is kept, whatever it is
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=1)
    back = feat.apply(shuffled)
    assert back.select("id", "frame").equals(shuffled.select("id", "frame"))
    assert (
        back.join(out, on=["id", "frame"])
        .filter(pl.col("syllable") != pl.col("syllable_right"))
        .is_empty()
    )
    assert feat.apply(df.head(0)).height == 0


def test_segments_and_downsample_helpers():
    df = pl.DataFrame({"id": [1, 0, 0, 0, 1], "frame": [5, 0, 1, 3, 6]})
    order, offsets = _segments(df, COLUMNS)
    assert order.tolist() == [1, 2, 3, 0, 4]
    assert offsets.tolist() == [0, 2, 3, 5]
    kept, sub, source = _downsample(np.array([0, 5, 7]), 2)
    assert kept.tolist() == [0, 2, 4, 5]
    assert sub.tolist() == [0, 3, 4]
    assert source.tolist() == [0, 0, 1, 1, 2, 3, 3]


def test_pruning_pca_and_restarts():
    y, z, offsets = generate(np.random.default_rng(3), n_seg=2, length=1500)
    df = _tracks(y, z, offsets)
    from moveo.pipeline.types import InputStream

    stream = InputStream.from_frames([(("g0", "s0"), df.drop("truth"))])
    # 8 states on 3-state data: rarely used states are pruned
    feat = Arhmm({"n_states": 8, "columns": ["X", "Y"], "prune_threshold": 0.05, "n_iter": 50})
    feat.fit(stream)
    model = feat.model()
    assert model.n_states < 8
    assert (model.usage >= 0.05).all()
    np.testing.assert_allclose(np.exp(model.log_a).sum(1), 1.0, rtol=1e-12)
    assert set(feat.apply(df).drop_nulls()["syllable"].unique()) <= set(range(model.n_states))
    pca = Arhmm({"n_states": 3, "columns": ["X", "Y"], "pca_dim": 1, "n_restarts": 2})
    pca.fit(stream)
    assert pca.state["components"].shape == (1, 2)
    assert pca.model().weights.shape == (3, 2, 1)


def test_pipeline_edge_and_errors(arhmm_ds, tmp_path):
    ds, _ = arhmm_ds
    pipe = (
        Pipeline()
        .add(FeatureStep("kin", SpeedAngvel))
        .add(FeatureStep("hmm", Arhmm, {"n_states": 2, "n_iter": 5}, input_names=["kin"]))
    )
    pipe.add(
        FeatureStep(
            "reuse",
            Arhmm,
            {"model": {"feature": "arhmm"}},
            input_names=["kin"],
            artifact_names={"model": "hmm"},
        )
    )
    assert pipe.dag() == {"kin": [], "hmm": ["kin"], "reuse": ["kin", "hmm"]}
    results = pipe.run(ds, progress=False)
    root = ds.features_root / "arhmm"
    out = pl.read_parquet(root / results["hmm"].run_id / "g0" / "s0.parquet")
    assert out["syllable"].drop_nulls().n_unique() <= 2
    reused = pl.read_parquet(root / results["reuse"].run_id / "g0" / "s0.parquet")
    assert reused.equals(out)
    with pytest.raises(ValueError, match=r"pca_dim=3 is larger than the 2 columns"):
        run_feature(ds, Arhmm({**FIT, "pca_dim": 3}))
    with pytest.raises(ValueError, match=r"input has no column\(s\) \['nope'\]"):
        run_feature(ds, Arhmm({"columns": ["nope"]}))
    with pytest.raises(ValueError, match="fewer than n_states=50000"):
        run_feature(ds, Arhmm({**FIT, "n_states": 50_000}))
    with pytest.raises(FileNotFoundError, match="arhmm"):
        Arhmm({"model": {"run_id": "0.1-missing"}}).load_state(tmp_path / "run", {}, {})
    with pytest.raises(ValueError, match="holds a 'global-kmeans' model, not an 'arhmm' one"):
        Arhmm()._set_state({"kind": "global-kmeans"})
