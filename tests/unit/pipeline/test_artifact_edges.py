"""Artifact references are DAG edges: a global feature's templates come from a named step.

``GlobalKMeans``'s default ``templates`` parameter points at "an extract-templates
run". Inside a pipeline that reference is bound to the extract-templates step, so
``dag()`` shows the edge, ``status()`` reports the clustering step stale the moment
the templates step's params change (before anything runs), and ``run()`` fits on the
bound step's templates.
"""

from __future__ import annotations

import pytest

from moveo.features import ExtractTemplates, GlobalKMeans, SpeedAngvel
from moveo.io.synthetic import generate_dataset
from moveo.pipeline import FeatureStep, Pipeline

TEMPLATES = {"n_templates": 30, "pool": {"size": 200}, "strategy": "random"}


def _pipeline(templates_params: dict) -> Pipeline:
    return (
        Pipeline()
        .add(FeatureStep("speed", SpeedAngvel))
        .add(FeatureStep("templates", ExtractTemplates, templates_params, input_names=["speed"]))
        .add(FeatureStep("clusters", GlobalKMeans, {"k": 3}, input_names=["speed"]))
    )


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges") / "ds"
    return generate_dataset(root, n_groups=1, n_sequences=2, n_individuals=3, n_frames=150)


def test_dag_shows_the_templates_edge():
    pipe = _pipeline(TEMPLATES)
    assert pipe.dag()["clusters"] == ["speed", "templates"]
    assert pipe.steps["clusters"].artifact_names == {"templates": "templates"}
    assert pipe.downstream("templates") == ["templates", "clusters"]


def test_status_is_stale_as_soon_as_template_params_change(ds):
    first = _pipeline(TEMPLATES)
    results = first.run(ds, progress=False)
    assert set(first.status(ds)["state"]) == {"cached"}

    changed = _pipeline({**TEMPLATES, "n_templates": 40})
    status = {row["step"]: row for row in changed.status(ds).iter_rows(named=True)}
    assert status["speed"]["state"] == "cached"
    assert status["templates"]["state"] == "stale"
    assert "n_templates 30 -> 40" in status["templates"]["reason"]
    assert status["clusters"]["state"] == "stale"
    assert "upstream changed: templates" in status["clusters"]["reason"]

    rerun = changed.run(ds, progress=False)
    assert rerun["clusters"].run_id != results["clusters"].run_id
    assert set(changed.status(ds)["state"]) == {"cached"}
    # the first pipeline's runs are still there and still bound to their own templates
    assert set(first.status(ds)["state"]) == {"cached"}


def test_explicit_binding_is_checked():
    pipe = Pipeline().add(FeatureStep("speed", SpeedAngvel))
    with pytest.raises(ValueError, match="runs 'speed-angvel'"):
        pipe.add(
            FeatureStep(
                "clusters", GlobalKMeans, {"k": 3}, ["speed"], artifact_names={"templates": "speed"}
            )
        )
    with pytest.raises(ValueError, match="not artifact parameters"):
        pipe.add(
            FeatureStep("c2", GlobalKMeans, {"k": 3}, ["speed"], artifact_names={"k": "speed"})
        )


def test_spec_round_trip_keeps_the_binding():
    pipe = _pipeline(TEMPLATES)
    again = Pipeline.from_spec(pipe.to_spec())
    assert again.dag() == pipe.dag()
