"""Entry metadata: stored with the tracks, read back, part of the fingerprint, replaced on
overwrite.
"""

from __future__ import annotations

import polars as pl
import pytest

from moveo import Dataset, read_feature, run_feature
from moveo.features import SpeedAngvel
from moveo.io import SourceInfo
from moveo.pipeline import FeatureStep, Pipeline


def _tracks(n=5):
    return pl.DataFrame(
        {"id": [0] * n, "frame": list(range(n)), "X": [float(i) for i in range(n)], "Y": [0.0] * n}
    )


def test_meta_round_trip_and_fingerprint(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=10.0)
    ds.add_tracks(_tracks(), group="g", sequence="s")
    assert ds.entry_meta("g", "s") == {}
    plain = ds.fingerprint("g", "s")

    info = SourceInfo(
        source_software="TRex", source_file="a.npz", fps=10.0, calibration={"cm_per_pixel": 0.1}
    )
    ds.add_tracks(_tracks(), group="g", sequence="s", overwrite=True, meta=info)
    meta = ds.entry_meta("g", "s")
    assert meta["calibration"] == {"cm_per_pixel": 0.1}
    assert meta["source_software"] == "TRex"
    with_meta = ds.fingerprint("g", "s")
    assert with_meta != plain  # same parquet bytes, other metadata

    ds.set_entry_meta("g", "s", {"calibration": {"cm_per_pixel": 0.2}})
    assert ds.fingerprint("g", "s") not in (plain, with_meta)
    ds.set_entry_meta("g", "s", {})
    assert ds.fingerprint("g", "s") == plain

    # overwrite without meta removes the old metadata; remove_entry removes it too
    ds.set_entry_meta("g", "s", {"a": 1})
    ds.add_tracks(_tracks(), group="g", sequence="s", overwrite=True)
    assert ds.entry_meta("g", "s") == {}
    ds.set_entry_meta("g", "s", {"a": 1})
    ds.remove_entry("g", "s")
    assert not (ds.tracks_root / "g" / ".meta" / "s.json").exists()
    assert ds.entries() == []


def test_changing_meta_makes_features_stale(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=10.0)
    ds.add_tracks(_tracks(), group="g", sequence="s", meta={"calibration": {"cm_per_pixel": 1}})
    pipe = Pipeline().add(FeatureStep("speed", SpeedAngvel))
    pipe.run(ds, progress=False)
    assert pipe.status(ds)["state"].to_list() == ["cached"]
    ds.set_entry_meta("g", "s", {"calibration": {"cm_per_pixel": 2}})
    status = pipe.status(ds).row(0, named=True)
    assert status["state"] == "stale"
    assert "tracks changed for 1 of 1 entries" in status["reason"]
    result = run_feature(ds, SpeedAngvel(), progress=False)
    assert read_feature(ds, result, "g", "s").height == 5


def test_bad_meta_is_refused_and_nothing_is_written(tmp_path):
    ds = Dataset.create(tmp_path / "ds", fps=10.0)
    with pytest.raises(TypeError, match="meta must be a dict or a SourceInfo"):
        ds.add_tracks(_tracks(), group="g", sequence="s", meta=[1, 2])
    with pytest.raises(TypeError, match="meta must hold JSON values only"):
        ds.add_tracks(_tracks(), group="g", sequence="s", meta={"x": object()})
    assert ds.entries() == []
    ds.add_tracks(_tracks(), group="g", sequence="s")
    (ds.tracks_root / "g" / ".meta").mkdir()
    (ds.tracks_root / "g" / ".meta" / "s.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"entry metadata .*s\.json is not valid JSON"):
        ds.entry_meta("g", "s")
