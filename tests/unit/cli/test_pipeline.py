"""`moveo status`, `clean` and `lineage` on real datasets, and every sub-command is registered."""

from __future__ import annotations

import re

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
    assert not (ds.internal_root / "registry.db").exists()  # status created nothing


def test_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["status", str(tmp_path / "nonexistent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("moveo: error: no dataset at") and err.count("\n") == 1


def test_status_after_a_crashed_first_run(ds, capsys):
    """The spec is saved before the steps run: status knows the pipeline, times are dates."""
    from unit.pipeline.pipeline_features import Flaky

    marker = ds.root.parent / "marker"
    marker.write_text("")
    p = Pipeline(name="crashy").add(
        FeatureStep("flaky", Flaky, params={"fail_sequences": ["s1"], "marker": str(marker)})
    )
    with pytest.raises(RuntimeError, match="entries failed"):
        p.run(ds)
    assert main(["status", str(ds.root)]) == 0
    out = capsys.readouterr().out
    assert "crashy" in out and "partial" in out
    (ds.internal_root / "pipeline.json").unlink()
    assert main(["status", str(ds.root)]) == 0
    out = capsys.readouterr().out
    assert "no pipeline has run" in out
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", out)  # started_at, not an epoch


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
