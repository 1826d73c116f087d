"""`moveo demo` runs the synthetic pipeline twice (the second run all cached) and its outputs
are right.
"""

from __future__ import annotations

import polars as pl

from moveo.cli import main
from moveo.cli.demo import demo_pipeline, make_demo_dataset
from moveo.pipeline import read_feature


def test_demo_command_twice_then_status(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main(["demo", str(root), "--frames", "150", "--quiet"]) == 0
    first = capsys.readouterr().out
    assert "6 entries, 3,600 rows" in first
    for step in ("speed-angvel", "heading", "body-scale", "nearest-neighbor", "rolling-speed"):
        assert step in first
    # says what it computed and what it reused, not "every step is cached"
    assert "computed 5 step(s): speed-angvel, heading, body-scale" in first
    assert "reused 0 from the cache" in first
    assert main(["demo", str(root), "--frames", "150", "--quiet"]) == 0
    assert "all 5 steps reused from the cache (nothing recomputed)" in capsys.readouterr().out
    assert main(["status", str(root)]) == 0
    status = capsys.readouterr().out
    assert status.count("cached") == 5
    assert main(["lineage", str(root), "rolling-stats"]) == 0
    lineage = capsys.readouterr().out
    assert "rolling-stats" in lineage
    assert "speed-angvel" in lineage


def test_demo_pipeline_outputs(tmp_path):
    ds = make_demo_dataset(tmp_path / "d", n_groups=1, n_sequences=2, n_individuals=3, n_frames=100)
    results = demo_pipeline().run(ds, progress=False)
    assert list(results) == [
        "speed-angvel",
        "heading",
        "body-scale",
        "nearest-neighbor",
        "rolling-speed",
    ]
    speed = read_feature(ds, results["speed-angvel"], "g0", "s1")
    rolling = read_feature(ds, results["rolling-speed"], "g0", "s1")
    assert speed.height == rolling.height == 300
    assert "speed" in speed.columns
    # the rolling step reads the speed step: its keys line up row for row
    assert rolling.select("id", "frame").equals(speed.select("id", "frame"))
    assert rolling.select(pl.col(pl.Float64)).width >= 2


def test_demo_refuses_other_folders_in_one_line(tmp_path, capsys):
    from moveo import Dataset

    plain = Dataset.create(tmp_path / "plain", fps=30.0)
    plain.add_tracks({"id": [0, 0], "frame": [0, 1], "X": [0.0, 1.0], "Y": [0.0, 1.0]},
                     group="g", sequence="s")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    for folder, expected in ((plain.root, "did not create"), (junk, "no moveo dataset")):
        assert main(["demo", str(folder), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("moveo: error: ") and err.count("\n") == 1
        assert expected in err
    assert (junk / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in junk.iterdir()) == ["notes.txt"]
