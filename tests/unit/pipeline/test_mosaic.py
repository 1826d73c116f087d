"""``import_mosaic`` on datasets in mosaic-behavior 0.17's layout (written without mosaic).

Proves: tracks arrive with mosaic's groups and sequences (an empty group renamed)
and equal the source tables; labels arrive per individual with their names, pair
and scene events skipped and counted (or given to the first individual); feature
runs moveo implements are adopted under moveo's run ids and equal the source
parquet, so ``Pipeline.status`` reports them cached and ``Pipeline.run`` computes
nothing; runs moveo must not adopt (a mosaic defect, a chained global fit, an
unknown feature, parameters moveo rejects) are skipped with the reason; the source
is byte-for-byte unchanged and nothing in it is unpickled; a moved dataset's
absolute paths are re-anchored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from moveo import Dataset, import_mosaic, read_feature
from moveo.contract import Result
from moveo.features import BodyScale, Heading, SpeedAngvel
from moveo.labels import label_kinds, read_labels
from moveo.pipeline import FeatureStep, MosaicImportReport, Pipeline, open_registry
from unit.pipeline.mosaic_fixture import ENTRIES, RUNS, VOCAB, write_mosaic_dataset

HEADING = {"method": "two_point", "front_idx": 0, "rear_idx": 1, "output_col": "ANGLE"}


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too) -> sha256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def moveo_key(group: str, sequence: str) -> tuple[str, str]:
    return (group or "ungrouped", sequence)


@pytest.fixture
def imported(tmp_path):
    src = tmp_path / "mosaic"
    marker = tmp_path / "unpickled"
    written = write_mosaic_dataset(src, unpickle_marker=marker)
    before = snapshot(src)
    report = import_mosaic(src, tmp_path / "moveo")
    assert snapshot(src) == before, "import_mosaic modified the source dataset"
    assert not marker.exists(), "the labels archive was unpickled"
    return written, report, Dataset.open(tmp_path / "moveo")


def _items(report: MosaicImportReport, kind: str) -> dict[str, tuple[str, str]]:
    return {i.name: (i.action, i.detail) for i in report.items if i.kind == kind}


def test_tracks_equal_the_source_tables(imported):
    written, report, ds = imported
    assert ds.entries() == sorted(moveo_key(g, s) for g, s in ENTRIES)
    assert ds.fps == 30.0 and report.fps_from == "time column"
    assert ds.pose.pose_n == 7
    for (g, s), source in written["tracks"].items():
        got = ds.read(*moveo_key(g, s))
        assert got["frame"].dtype == pl.Int64
        expected = source.drop("group", "sequence").with_columns(pl.col("frame").cast(pl.Int64))
        assert got.drop("group", "sequence").select(expected.columns).equals(expected)
    tracks = _items(report, "tracks")
    assert tracks["(no group)/solo-trial"] == (
        "imported", "90 rows as ungrouped/solo-trial (convert-trex_npz.0.3-3d47f5c74c)"
    )
    assert ds.meta["mosaic"]["name"] == "Synthetic study"


def test_adopted_runs_equal_the_source_parquet(imported):
    written, report, ds = imported
    adopted = {i.name.split()[0]: i.detail for i in report.adopted}
    assert sorted(adopted) == [
        "body-scale__from__tracks", "heading__from__tracks", "speed-angvel__from__tracks"
    ]
    with open_registry(ds) as reg:
        for key, columns in (
            ("speed", ["speed", "vx", "vy", "angvel"]),
            ("scale", ["scale"]),
            ("heading", ["ANGLE"]),
        ):
            folder, run_id = RUNS[key]
            feature = folder.partition("__from__")[0]
            moveo_run = reg.latest_run_id(feature)
            assert f"as {feature} {moveo_run} (3 entries" in adopted[folder]
            assert reg.run_is_finished(feature, moveo_run)
            for (g, s), source in written["features"][key].items():
                got = read_feature(ds, Result(feature=feature, run_id=moveo_run), *moveo_key(g, s))
                assert got.columns[:4] == ["group", "sequence", "id", "frame"]
                keys = ds.read(*moveo_key(g, s)).select("id", "frame")
                assert got.select("id", "frame").equals(keys)
                want = source.with_columns(pl.col("frame").cast(pl.Int64))
                joined = got.join(want, on=["id", "frame"], suffix="_src")
                assert joined.height == source.height
                for col in columns:
                    np.testing.assert_array_equal(joined[col], joined[f"{col}_src"])
            provenance = json.loads(
                (ds.features_root / feature / moveo_run / "mosaic.json").read_text()
            )
            assert provenance["mosaic_run_id"] == run_id


def test_status_shows_adopted_runs_cached_and_run_computes_nothing(imported):
    _, _, ds = imported
    pipe = Pipeline(
        [
            FeatureStep("speed", SpeedAngvel),
            FeatureStep("scale", BodyScale),
            FeatureStep("heading", Heading, params=HEADING),
            FeatureStep("smooth", SpeedAngvel, params={"smooth_window": 5}),
        ]
    )
    status = {r["step"]: r for r in pipe.status(ds).iter_rows(named=True)}
    for step in ("speed", "scale", "heading"):
        assert (status[step]["state"], status[step]["done"], status[step]["total"]) == (
            "cached", 3, 3
        )
    assert status["smooth"]["state"] == "missing"  # mosaic's was not adopted
    files = sorted((ds.features_root / "speed-angvel").rglob("*.parquet"))
    stamps = {p: p.stat().st_mtime_ns for p in files}
    pipe.run(ds, progress=False)
    assert {p: p.stat().st_mtime_ns for p in files} == stamps
    assert set(pipe.status(ds)["state"]) == {"cached"}


def test_runs_moveo_must_not_adopt_are_skipped_with_the_reason(imported):
    _, report, _ = imported
    skipped = {i.name.split()[0] + " " + i.name.split()[1]: i.detail for i in report.skipped}
    smooth = skipped[" ".join(RUNS["smooth"])]
    assert smooth.startswith("mosaic's values differ from moveo's on arenaA/arenaA-trial1:")
    assert "column 'speed_smooth' differs" in smooth
    assert "reads other features' outputs (speed-angvel__from__tracks 0.2-c0e77712f1)" in (
        skipped[" ".join(RUNS["kmeans"])]
    )
    assert skipped[" ".join(RUNS["pair"])] == "moveo has no feature 'courtship-index'"
    text = str(report)
    assert text.splitlines()[0].endswith("5 imported, 3 adopted, 3 skipped; 30 fps (time column)")
    assert "speed_smooth" in text and "adopted" in text
    saved = json.loads((Path(report.destination) / ".moveo" / "mosaic-import.json").read_text())
    assert saved == report.to_dict()
    assert report.table().height == len(report.items)


def test_labels_arrive_per_individual_with_names(imported):
    written, report, ds = imported
    assert label_kinds(ds) == ["behavior"]
    for (g, s), events in written["labels"].items():
        got = read_labels(ds, "behavior", *moveo_key(g, s))
        single = events.filter(pl.col("id2") < 0, pl.col("id1") >= 0)
        want = single.select(
            pl.col("id1").alias("id"), "frame",
            pl.col("label").replace_strict(VOCAB, return_dtype=pl.String),
        ).sort("id", "frame")
        assert got.equals(want)
    detail = _items(report, "labels")["behavior arenaA/arenaA-trial1"]
    assert detail == (
        "imported",
        "30 rows; 1 pair event skipped (pair_labels='skip'); 1 scene event skipped "
        "(moveo labels are per individual)",
    )


def test_pair_labels_first_gives_the_pair_event_to_its_first_individual(tmp_path):
    write_mosaic_dataset(tmp_path / "m")
    import_mosaic(tmp_path / "m", tmp_path / "d", pair_labels="first")
    got = read_labels(Dataset.open(tmp_path / "d"), "behavior", "arenaA", "arenaA-trial1")
    assert got.filter(pl.col("id") == 0, pl.col("frame") == 7)["label"].to_list() == ["turn"]


def test_moved_dataset_and_verify_all(tmp_path):
    write_mosaic_dataset(tmp_path / "m", moved_from="/gone/elsewhere/study")
    report = import_mosaic(tmp_path / "m", tmp_path / "d", verify="all", fps=30.0)
    assert report.fps_from == "argument"
    details = [i.detail for i in report.adopted]
    assert len(details) == 3 and all("checked against moveo on 3)" in d for d in details)


def test_parameters_moveo_rejects_skip_the_run(tmp_path):
    write_mosaic_dataset(tmp_path / "m")
    spec_path = tmp_path / "m" / "features" / RUNS["scale"][0] / RUNS["scale"][1] / "params.json"
    spec = json.loads(spec_path.read_text())
    spec["_params"] = {"mode": "convex-hull"}
    spec_path.write_text(json.dumps(spec))
    report = import_mosaic(tmp_path / "m", tmp_path / "d")
    (item,) = [i for i in report.skipped if i.name.startswith("body-scale")]
    assert "are not moveo's 'body-scale' parameters" in item.detail


def test_unsafe_names_are_skipped_not_written(tmp_path):
    write_mosaic_dataset(tmp_path / "m")
    index = tmp_path / "m" / "tracks" / "index.csv"
    index.write_text(index.read_text().replace(",arenaA,arenaA-trial2,", ",..,arenaA-trial2,"))
    report = import_mosaic(tmp_path / "m", tmp_path / "d")
    assert _items(report, "tracks")["../arenaA-trial2"][0] == "skipped"
    assert "unsafe group name '..'" in _items(report, "tracks")["../arenaA-trial2"][1]
    assert list((tmp_path / "d").rglob("arenaA-trial2*")) == []
    assert not (tmp_path / "arenaA-trial2.parquet").exists()
    assert ("arenaA", "arenaA-trial2") not in Dataset.open(tmp_path / "d").entries()


def test_bad_sources_and_destinations_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no dataset.yaml"):
        import_mosaic(tmp_path / "empty", tmp_path / "d")
    write_mosaic_dataset(tmp_path / "m")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(FileExistsError, match="is not empty"):
        import_mosaic(tmp_path / "m", tmp_path / "full")
    with pytest.raises(ValueError, match="pair_labels must be"):
        import_mosaic(tmp_path / "m", tmp_path / "d", pair_labels="both")
    with pytest.raises(ValueError, match="unsafe group name"):
        import_mosaic(tmp_path / "m", tmp_path / "d", empty_group="a/b")
