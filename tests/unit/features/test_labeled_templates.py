"""``extract-labeled-templates``: templates stratified by the ground-truth behaviour labels.

Proves: mosaic's parameters and defaults (``labels`` required); per class
quotas (``n_per_class``, ``n_total`` shared evenly, both, neither); every
template carries the label stored for its (id, frame) and only labelled,
complete rows are drawn; ``test_fraction`` of each class is marked test;
provenance per class and entry; the input passed through per entry; a change
of the labels is a new run; global-kmeans fits on the labelled templates; bad
input fails clearly.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from moveo import Dataset, run_feature
from moveo.features import ExtractLabeledTemplates, GlobalKMeans, SpeedAngvel
from moveo.features.labeled_templates import even_quotas
from moveo.features.templates import PoolConfig
from moveo.io.behaviors import generate_behaviors
from moveo.labels import add_labels


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    ds = Dataset.create(tmp_path_factory.mktemp("labelled") / "ds", fps=30.0)
    tracks, labels = generate_behaviors(n_sequences=3, n_frames=400, seed=3)
    ds.add_tracks(tracks)
    # label only two of the three sequences, and not every frame
    labels = labels.filter(pl.col("sequence") != "s2", pl.col("frame") % 4 != 1)
    add_labels(ds, "behavior", labels)
    kin = run_feature(ds, SpeedAngvel())
    return ds, labels, kin


def _templates(ds, res):
    state = ds.features_root / "extract-labeled-templates" / res.run_id / ".state"
    return (
        pl.read_parquet(state / "templates.parquet"),
        pl.read_parquet(state / "template_provenance.parquet"),
    )


def test_mosaic_defaults():
    with pytest.raises(ValidationError, match="labels"):
        ExtractLabeledTemplates({})
    p = ExtractLabeledTemplates.Params(labels={})
    assert p.labels.kind == "behavior"
    assert (p.strategy, p.n_per_class, p.n_total, p.test_fraction, p.random_state) == (
        "random",
        None,
        None,
        0.2,
        42,
    )
    assert p.pool == PoolConfig(size=None, allocation="reservoir", max_entry_fraction=None)
    assert p.columns is None
    with pytest.raises(ValidationError, match="n_templates"):
        ExtractLabeledTemplates({"labels": {}, "n_templates": 5})


def test_even_quotas_hand_worked():
    assert even_quotas(np.array([2, 10, 10]), 12).tolist() == [2, 5, 5]
    assert even_quotas(np.array([2, 10, 10]), 13).tolist() == [2, 6, 5]
    assert even_quotas(np.array([3, 0, 1]), 100).tolist() == [3, 0, 1]
    assert even_quotas(np.array([5, 5]), 0).tolist() == [0, 0]


@pytest.mark.parametrize("strategy", ["random", "farthest_first"])
def test_templates_per_class_carry_their_labels(labelled, strategy):
    ds, labels, kin = labelled
    params = {"labels": {}, "n_per_class": 20, "columns": ["speed", "angvel"]}
    res = run_feature(ds, ExtractLabeledTemplates({**params, "strategy": strategy}, inputs=(kin,)))
    t, prov = _templates(ds, res)
    assert t.columns == ["group", "sequence", "id", "frame", "speed", "angvel", "label", "split"]
    per_class = t.group_by("label").len().sort("label")
    assert per_class["len"].to_list() == [20] * per_class.height
    assert set(per_class["label"]) == set(labels["label"])
    # each template's label is the stored one; unlabelled rows and s2 never appear
    joined = t.join(labels, on=["group", "sequence", "id", "frame"], suffix="_true")
    assert joined.height == t.height
    assert (joined["label"] == joined["label_true"]).all()
    assert not t.select(pl.col("speed").is_nan().any()).item()
    # 20 % of each class is the test split
    test = t.filter(pl.col("split") == "test").group_by("label").len()
    assert test["len"].to_list() == [4] * per_class.height
    assert prov.columns == ["label", "group", "sequence", "count", "proportion", "dropped"]
    assert prov.group_by("label").agg(pl.col("count").sum())["count"].to_list() == [20] * 4
    # frame 0 has no speed: a labelled but incomplete row per individual, counted as dropped
    assert prov["dropped"].sum() > 0
    out = pl.read_parquet(
        ds.features_root / "extract-labeled-templates" / res.run_id / "g0" / "s0.parquet"
    )
    assert out.columns[-2:] == ["is_template", "template_index"]
    assert out.height == ds.read("g0", "s0").height


def test_quota_options(labelled):
    ds, labels, kin = labelled
    base = {"labels": {}, "columns": ["speed", "angvel"], "test_fraction": 0.0}
    everything, _ = _templates(ds, run_feature(ds, ExtractLabeledTemplates(base, inputs=(kin,))))
    counts = everything.group_by("label").len().sort("label")["len"].to_numpy()
    # neither: every complete labelled row
    root = ds.features_root / "speed-angvel" / kin.run_id / "g0"
    speeds = pl.concat(
        pl.read_parquet(root / f"{q}.parquet").with_columns(sequence=pl.lit(q))
        for q in ("s0", "s1")
    )
    complete = (
        labels.join(speeds, on=["sequence", "id", "frame"])
        .filter(pl.col("speed").is_not_nan(), pl.col("angvel").is_not_nan())
        .height
    )
    assert counts.sum() == complete
    total, _ = _templates(
        ds, run_feature(ds, ExtractLabeledTemplates({**base, "n_total": 60}, inputs=(kin,)))
    )
    got = total.group_by("label").len().sort("label")["len"].to_numpy()
    np.testing.assert_array_equal(got, even_quotas(counts, 60))
    both, _ = _templates(
        ds,
        run_feature(
            ds, ExtractLabeledTemplates({**base, "n_total": 30, "n_per_class": 5}, inputs=(kin,))
        ),
    )
    assert both.height == 20  # 4 classes x 5 < 30


def test_labels_are_an_input_and_kmeans_fits_on_the_templates(labelled, tmp_path):
    ds, labels, kin = labelled
    params = {"labels": {}, "n_per_class": 10, "columns": ["speed", "angvel"]}
    first = run_feature(ds, ExtractLabeledTemplates(params, inputs=(kin,)))
    km = run_feature(
        ds,
        GlobalKMeans(
            {"k": 4, "templates": {"feature": "extract-labeled-templates"}}, inputs=(kin,)
        ),
    )
    state = ds.features_root / "global-kmeans" / km.run_id / ".state"
    sizes = pl.read_parquet(state / "cluster_sizes.parquet")
    assert sizes["count"].sum() == 40  # label and split are not clustered on
    import joblib

    assert joblib.load(state / "model.joblib")["columns"] == ["speed", "angvel"]
    # relabel: a new run
    other = Dataset.create(tmp_path / "other", fps=30.0)
    tracks, _ = generate_behaviors(n_sequences=3, n_frames=400, seed=3)
    other.add_tracks(tracks)
    add_labels(other, "behavior", labels)
    kin2 = run_feature(other, SpeedAngvel())
    same = run_feature(other, ExtractLabeledTemplates(params, inputs=(kin2,)))
    add_labels(
        other, "behavior", labels.with_columns(pl.lit("resting").alias("label")), overwrite=True
    )
    changed = run_feature(other, ExtractLabeledTemplates(params, inputs=(kin2,)))
    assert same.run_id == first.run_id
    assert changed.run_id != same.run_id


def test_errors(tmp_dataset, labelled):
    tracks, _ = generate_behaviors(n_sequences=1, n_frames=50, seed=1)
    tmp_dataset.add_tracks(tracks)
    with pytest.raises(ValueError, match="needs labels of kind 'behavior'"):
        run_feature(tmp_dataset, ExtractLabeledTemplates({"labels": {}}))
    feat = ExtractLabeledTemplates({"labels": {}})
    from moveo.pipeline.types import InputStream

    with pytest.raises(RuntimeError, match="no labels; run it with run_feature"):
        feat.fit(InputStream.from_frames([]))
    ds, _, kin = labelled
    with pytest.raises(ValueError, match=r"input has no column\(s\) \['nope'\]"):
        run_feature(ds, ExtractLabeledTemplates({"labels": {}, "columns": ["nope"]}, inputs=(kin,)))


def test_pipeline_binds_the_labelled_templates(labelled):
    from moveo.pipeline import FeatureStep, Pipeline

    ds, _, _ = labelled
    params = {"labels": {}, "n_per_class": 10, "columns": ["speed", "angvel"]}
    pipe = (
        Pipeline()
        .add(FeatureStep("kin", SpeedAngvel))
        .add(FeatureStep("lt", ExtractLabeledTemplates, params, input_names=["kin"]))
        .add(
            FeatureStep(
                "km",
                GlobalKMeans,
                {"k": 4, "templates": {"feature": "extract-labeled-templates"}},
                input_names=["kin"],
                artifact_names={"templates": "lt"},
            )
        )
    )
    assert pipe.dag()["km"] == ["kin", "lt"]
    results = pipe.run(ds, progress=False)
    state = ds.features_root / "global-kmeans" / results["km"].run_id / ".state"
    assert pl.read_parquet(state / "cluster_sizes.parquet")["count"].sum() == 40
    assert set(pipe.status(ds)["state"]) == {"cached"}
