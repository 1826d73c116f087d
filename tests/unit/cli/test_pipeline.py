"""`moveo status`, `clean` and `lineage` on real datasets, and every sub-command is registered."""

from __future__ import annotations

import pytest

from moveo import Dataset
from moveo.cli import main
from moveo.pipeline import FeatureStep, Pipeline
from unit.pipeline.pipeline_features import RollingMean, StepLength, make_tracks


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(make_tracks())
    return d


def pipeline(window):
    return (
        Pipeline(name="cli-test")
        .add(FeatureStep("step", StepLength))
        .add(FeatureStep("roll", RollingMean, params={"window": window}, input_names=["step"]))
    )


def test_status_without_pipeline(ds, capsys):
    assert main(["status", str(ds.root)]) == 0
    out = capsys.readouterr().out
    assert "no pipeline has run" in out


def test_status_clean_lineage(ds, capsys):
    old = pipeline(3).run(ds)
    new = pipeline(6).run(ds)
    capsys.readouterr()
    assert main(["status", str(ds.root)]) == 0
    out = capsys.readouterr().out
    assert "cli-test" in out
    assert out.count("cached") == 2
    assert new["roll"].run_id in out

    assert main(["clean", str(ds.root)]) == 0
    out = capsys.readouterr().out
    assert "orphan" in out
    assert old["roll"].run_id in out
    assert "--apply" in out
    assert (ds.features_root / "rolling-mean" / old["roll"].run_id).exists()
    assert main(["clean", str(ds.root), "--apply"]) == 0
    assert "deleted 1 run(s)" in capsys.readouterr().out
    assert not (ds.features_root / "rolling-mean" / old["roll"].run_id).exists()
    assert main(["clean", str(ds.root)]) == 0
    assert "nothing to clean" in capsys.readouterr().out

    assert main(["lineage", str(ds.root), "rolling-mean"]) == 0
    out = capsys.readouterr().out
    assert f"rolling-mean {new['roll'].run_id} (6 entries)" in out
    assert f"step-length {new['step'].run_id} (6 entries)" in out
    assert main(["lineage", str(ds.root), "nope"]) == 1
    assert "no runs of feature 'nope'" in capsys.readouterr().out
    assert main(["lineage", str(ds.root), "step-length", "0.1-bad"]) == 1
    assert "no run '0.1-bad' of feature" in capsys.readouterr().out


def test_subcommands_registered(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("demo", "status", "clean", "lineage"):
        assert cmd in out
