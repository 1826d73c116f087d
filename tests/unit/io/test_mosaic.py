"""``moveo.io.mosaic`` reads mosaic-behavior 0.17's layout and nothing outside it.

Proves: the manifest is checked (a mosaic manifest, a known ``manifest_version``,
roots inside the dataset, plain YAML only); index paths are resolved relative to
the root, re-anchored when the dataset moved, and refused when they (or a symbolic
link) lead outside the dataset; label archives are read without pickle and give
per-event frame/label/id1/id2; unreadable files are clear errors naming the file.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from moveo.io.mosaic import (
    MosaicLayoutError,
    is_mosaic_dataset,
    open_mosaic,
    resolve_index_path,
)
from unit.pipeline.mosaic_fixture import ENTRIES, LABELS_VARIANT, RUNS, write_mosaic_dataset


@pytest.fixture
def src(tmp_path):
    write_mosaic_dataset(tmp_path / "m", unpickle_marker=tmp_path / "unpickled")
    return tmp_path / "m"


def test_lists_what_mosaic_wrote(src, tmp_path):
    m = open_mosaic(src / "dataset.yaml")
    assert is_mosaic_dataset(src) and not is_mosaic_dataset(tmp_path)
    assert m.name == "Synthetic study"
    assert [(e.group, e.sequence) for e in m.tracks()] == sorted(ENTRIES)
    assert {e.n_rows for e in m.tracks()} == {90}
    assert m.label_kinds() == ["behavior"]
    assert m.active_labels_run("behavior") == LABELS_VARIANT
    runs = {(r.folder, r.run_id): r for r in m.feature_runs()}
    assert set(runs) == set(RUNS.values())
    speed = runs[RUNS["speed"]]
    assert speed.feature == "speed-angvel" and speed.version == "0.2"
    assert speed.params == {"step_size": None, "smooth_window": None, "fps": None}
    assert speed.reads_tracks_only and speed.tracks_run_id.startswith("convert-trex_npz")
    assert not runs[RUNS["kmeans"]].reads_tracks_only
    assert all(r.problem is None for r in runs.values())


def test_labels_are_read_without_pickle(src, tmp_path):
    m = open_mosaic(src)
    entry = m.labels("behavior")[0]
    assert entry.label_names == ("none", "swim", "turn")  # from dataset.yaml, not the npz
    events = m.read_labels(entry)
    assert events.columns == ["frame", "label", "id1", "id2"]
    assert events.tail(2).rows() == [(7, 2, 0, 1), (8, 1, -1, -1)]
    assert not (tmp_path / "unpickled").exists()
    with pytest.raises(KeyError, match="no labels of kind 'id_tags'"):
        m.labels("id_tags")


def test_manifest_checks(tmp_path, src):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_mosaic(tmp_path / "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dataset.yaml").write_text("name: x\n")
    with pytest.raises(MosaicLayoutError, match="no manifest_version"):
        open_mosaic(bad)
    (bad / "dataset.yaml").write_text("manifest_version: 4\n")
    with pytest.raises(MosaicLayoutError, match="manifest_version 4"):
        open_mosaic(bad)
    (bad / "dataset.yaml").write_text("manifest_version: 3\nroots:\n  tracks: ../elsewhere\n")
    with pytest.raises(MosaicLayoutError, match="points outside the dataset"):
        open_mosaic(bad)
    (bad / "dataset.yaml").write_text(
        "manifest_version: 3\nx: !!python/object/apply:os.system ['touch pwned']\n"
    )
    with pytest.raises(MosaicLayoutError, match="not valid YAML"):
        open_mosaic(bad)
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")


def test_index_paths_cannot_leave_the_dataset(src, tmp_path):
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"not yours")
    index = src / "tracks" / "index.csv"
    text = index.read_text()
    index.write_text(text.replace("tracks/convert-trex_npz", "../secret.parquet#", 1))
    with pytest.raises(MosaicLayoutError, match="points outside the dataset"):
        open_mosaic(src).tracks()
    index.write_text(text)
    # a symbolic link inside the dataset that leads outside is refused too
    entry = open_mosaic(src).tracks()[0]
    entry.path.unlink()
    entry.path.symlink_to(outside)
    with pytest.raises(MosaicLayoutError, match="points outside the dataset"):
        open_mosaic(src).tracks()


def test_resolve_index_path(tmp_path):
    root = tmp_path / "ds"
    (root / "features" / "f" / "r").mkdir(parents=True)
    expected = root / "features" / "f" / "r"
    assert resolve_index_path("features/f/r/a.parquet", root=root, expected_dir=expected) == (
        root / "features/f/r/a.parquet"
    )
    # written elsewhere: the same file name in the folder mosaic keeps it in
    moved = resolve_index_path(
        "/old/place/features/f/r/a.parquet", root=root, expected_dir=expected
    )
    assert moved == expected / "a.parquet"
    assert resolve_index_path("../../etc/passwd", root=root, expected_dir=expected) is None
    assert resolve_index_path("", root=root, expected_dir=expected) is None


def test_unreadable_files_are_clear_errors(src):
    m = open_mosaic(src)
    entry = m.labels("behavior")[0]
    entry.path.write_bytes(b"garbage")
    with pytest.raises(MosaicLayoutError, match=r"is not a readable npz"):
        m.read_labels(entry)
    np.savez(entry.path, frames=np.arange(3), labels=np.arange(2))
    with pytest.raises(MosaicLayoutError, match="must be 1-D arrays of one length"):
        m.read_labels(entry)
    tracks = m.tracks()[0]
    tracks.path.write_bytes(b"PAR1 broken")
    with pytest.raises(MosaicLayoutError, match="is not a readable parquet file"):
        m.read_tracks(tracks)
    spec = src / "features" / RUNS["scale"][0] / RUNS["scale"][1] / "params.json"
    spec.write_text("[1, 2]")
    run = {(r.folder, r.run_id): r for r in m.feature_runs()}[RUNS["scale"]]
    assert "is not a mosaic params file" in run.problem
