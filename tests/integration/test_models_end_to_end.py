"""Full chain on synthetic behaviours: tracks, features, templates, clusters, classifier."""

from __future__ import annotations

import json

import polars as pl

from moveo import run_feature
from moveo.features import (
    BehaviorClassifierFeature,
    ExtractTemplates,
    GlobalKMeans,
    GlobalWard,
    SpeedAngvel,
)
from moveo.io.behaviors import generate_behaviors
from moveo.labels import add_labels, read_labels
from moveo.models import BehaviorClassifier
from moveo.pipeline import Result, train_model


def _outputs(ds, result):
    return pl.concat(
        pl.read_parquet(ds.features_root / result.feature / result.run_id / g / f"{s}.parquet")
        for g, s in ds.entries()
    )


def _labels(ds):
    return pl.concat(
        read_labels(ds, "behavior", g, s).with_columns(group=pl.lit(g), sequence=pl.lit(s))
        for g, s in ds.entries()
    )


def test_tracks_to_clusters_and_classifier(tmp_dataset):
    ds = tmp_dataset
    tracks, labels = generate_behaviors(n_sequences=8, n_frames=900, seed=21)
    ds.add_tracks(tracks)
    add_labels(ds, "behavior", labels)
    kin = run_feature(ds, SpeedAngvel())
    cols = ["speed", "angvel"]
    templ = run_feature(
        ds,
        ExtractTemplates(
            {
                "n_templates": 400,
                "strategy": "farthest_first",
                "pool": {"size": 4000, "allocation": "exact"},
                "columns": cols,
            },
            inputs=(kin,),
        ),
    )
    truth = _labels(ds)
    keys = ["group", "sequence", "id", "frame"]
    for feat in (
        # speed and angvel have different units: standardise them before clustering
        GlobalKMeans(
            {"k": 8, "n_init": 2, "standardize": True, "templates": {"run_id": templ.run_id}},
            inputs=(kin,),
        ),
        GlobalWard(
            {"n_clusters": 8, "standardize": True, "templates": {"run_id": templ.run_id}},
            inputs=(kin,),
        ),
    ):
        res = run_feature(ds, feat)
        clusters = _outputs(ds, res).join(truth, on=keys)
        # the first frame of each individual has no speed: that row is dropped (as
        # mosaic does), never given a guessed cluster
        first = truth.filter(pl.col("frame") == 0).height
        assert clusters.height == truth.height - first
        assert clusters.filter(pl.col("frame") == 0).height == 0
        assert clusters["cluster"].null_count() == 0
        # clusters are behaviour-pure: labelling each cluster by its majority behaviour
        # explains most frames
        known = clusters.drop_nulls("cluster")
        majority = (
            known.group_by("cluster", "label")
            .len()
            .sort("len", descending=True)
            .group_by("cluster")
            .agg(pl.col("label").first().alias("major"))
        )
        purity = (
            known.join(majority, on="cluster")
            .select((pl.col("label") == pl.col("major")).mean())
            .item()
        )
        assert purity > 0.85, (feat.name, purity)

    run_id = train_model(
        ds,
        BehaviorClassifier(),
        {
            "features": [{"feature": "speed-angvel", "columns": cols}],
            "estimator_params": {"max_iter": 60},
            "epochs": 2,
            "n_threads": 1,
            "test_fraction": 0.25,
        },
    )
    metrics = json.loads(
        (ds.models_root / "behavior-classifier" / run_id / "metrics.json").read_text()
    )
    assert len(metrics["entries"]["test"]) == 2
    per_class = metrics["test"]["per_class"]
    assert set(per_class) == {"approaching", "cruising", "resting", "turning"}
    for name, block in per_class.items():
        assert block["f1"] >= 0.9, (name, block)

    # the classifier as a pipeline feature agrees with the labels on held-out sequences
    pred = run_feature(ds, BehaviorClassifierFeature.for_run(ds, run_id))
    assert isinstance(pred, Result)
    test_entries = {tuple(k) for k in metrics["entries"]["test"]}
    out = _outputs(ds, pred).join(truth, on=keys).drop_nulls("predicted")
    held = out.filter(
        pl.struct("group", "sequence").map_elements(
            lambda r: (r["group"], r["sequence"]) in test_entries, return_dtype=pl.Boolean
        )
    )
    assert held.height > 0
    assert (held["predicted"] == held["label"]).mean() >= 0.9
