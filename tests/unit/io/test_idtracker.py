"""read_idtracker on trajectories files in idtracker.ai's layout, and the safe .npy loader.

idtracker.ai writes ``np.save(path, dict)`` (a pickle inside a .npy). The tests
write exactly that with numpy and prove: the table equals the row-by-row
reference (identity i+1 <- column i, NaN gaps kept, every frame a row), fps and
body length reach the SourceInfo, session folder names give group/sequence, and
that a pickle asking for anything beyond plain data (os.system, eval, an
arbitrary class) is refused *before* it runs, as are truncated, corrupt and
other tools' files.
"""

import os
import pathlib
import pickle

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.io import read_idtracker
from moveo.io._safe_npy import load_npy
from reference.io import long_rows


def trajectories_dict(n_frames=20, n_ind=3, seed=0):
    rng = np.random.default_rng(seed)
    traj = rng.uniform(0, 1000, size=(n_frames, n_ind, 2))
    traj[5:8, 1] = np.nan  # identity 2 lost for three frames
    traj[:2, n_ind - 1] = np.nan  # the last identity not yet identified
    return {
        "trajectories": traj,
        "version": "5.2.3",
        "video_path": "/data/fish/school.avi",
        "frames_per_second": 32,
        "body_length": np.float64(41.5),
        "stats": {"estimated_accuracy": 0.998},
        "setup_points": {"border": np.zeros((4, 2))},
        "identities_groups": {},
        "id_probabilities": rng.uniform(0.9, 1, size=(n_frames, n_ind, 1)),
        "areas": rng.uniform(100, 200, size=(n_frames, n_ind)),
    }


def write(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    np.save(path, data, allow_pickle=True)
    return path


def test_matches_reference_and_records_metadata(tmp_path):
    data = trajectories_dict()
    path = write(tmp_path / "lab" / "session_school1" / "trajectories", "trajectories.npy", data)
    table, info = read_idtracker(path, return_info=True)
    traj = data["trajectories"]
    expected = long_rows(
        range(20), ["1", "2", "3"], ["centroid"],
        lambda i, f, k: (traj[f, i, 0], traj[f, i, 1], np.nan),
        group="lab", sequence="school1", ids=[1, 2, 3], with_pose=False,
    )
    assert table.drop("id_probability", "area").equals(expected.drop("individual"))
    np.testing.assert_array_equal(
        table.filter(pl.col("id") == 2)["id_probability"].to_numpy(),
        data["id_probabilities"][:, 1, 0],
    )
    np.testing.assert_array_equal(table.filter(pl.col("id") == 3)["area"].to_numpy(),
                                  data["areas"][:, 2])
    assert table.filter((pl.col("id") == 2) & pl.col("frame").is_between(5, 7))["X"].is_nan().all()
    assert info.source_software == "idtracker.ai"
    assert info.fps == 32.0 and info.calibration == {"body_length": 41.5}
    assert info.units == "pixels" and info.pose is None
    assert info.individuals == {1: "1", 2: "2", 3: "3"}
    assert info.extra["version"] == "5.2.3"
    assert info.extra["video_path"] == "/data/fish/school.avi"
    assert info.to_meta()["calibration"] == {"body_length": 41.5}


def test_without_gaps_file_and_plain_folder(tmp_path):
    data = trajectories_dict(n_ind=2)
    data["trajectories"] = np.nan_to_num(data["trajectories"], nan=1.0)
    for key in ("id_probabilities", "areas"):
        del data[key]
    path = write(tmp_path / "runs", "trajectories_wo_gaps.npy", data)
    table = read_idtracker(path)
    assert set(table["group"]) == {"runs"} and set(table["sequence"]) == {"trajectories_wo_gaps"}
    assert table.columns == ["group", "sequence", "id", "frame", "X", "Y"]
    assert not table["X"].is_nan().any()


def test_ingest_roundtrip(tmp_path):
    path = write(tmp_path / "a", "trajectories.npy", trajectories_dict())
    table, info = read_idtracker(path, group="g", sequence="s", return_info=True)
    ds = Dataset.create(tmp_path / "ds", fps=info.fps)
    ds.add_tracks(table)
    assert ds.read("g", "s").select(table.columns).equals(table)
    assert ds.fps == 32.0


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    data = trajectories_dict()
    data["stats"] = _Evil(marker)
    path = write(tmp_path / "a", "trajectories.npy", data)
    with pytest.raises(ValueError, match=r"trajectories\.npy: refused to load: its pickle asks "
                                         r"for posix\.system"):
        read_idtracker(path)
    assert not marker.exists()
    # and np.load would have run it: the test file really is dangerous
    np.load(path, allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("payload", [
    (eval, ("1+1",)),
    (pathlib.Path.unlink, ("x",)),
    (pickle.loads, (b"",)),
])
def test_other_callables_are_refused(tmp_path, payload):
    class Reduce:
        def __reduce__(self):
            return payload

    path = tmp_path / "t.npy"
    np.save(path, {"trajectories": Reduce()}, allow_pickle=True)
    with pytest.raises(ValueError, match="refused to load"):
        load_npy(path, what="x")


def test_numpy_objects_and_old_protocols_load(tmp_path):
    data = {"a": np.arange(3, dtype=np.int32), "b": np.float32(2.5), "c": [1, "x", None],
            "d": pathlib.PurePosixPath("/v.avi"), "e": {1, 2}, "f": np.array(["s", None])}
    for protocol in (0, 2, 3, 5):
        path = tmp_path / f"p{protocol}.npy"
        with open(path, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "|O", "fortran_order": False, "shape": ()})
            pickle.dump(np.array(data, dtype=object), fh, protocol=protocol)
        out = load_npy(path, what="x")
        assert out["a"].dtype == np.int32 and out["a"].tolist() == [0, 1, 2]
        assert out["b"] == np.float32(2.5) and out["c"] == [1, "x", None]
        assert str(out["d"]) == "/v.avi" and out["e"] == {1, 2}
        assert out["f"].tolist() == ["s", None]


def test_bad_files(tmp_path):
    good = write(tmp_path / "a", "trajectories.npy", trajectories_dict())
    raw = good.read_bytes()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.npy: truncated or corrupt pickled \.npy"):
        read_idtracker(cut)
    header_cut = tmp_path / "hcut.npy"
    header_cut.write_bytes(raw[:20])
    with pytest.raises(ValueError, match=r"hcut\.npy: truncated \.npy header"):
        read_idtracker(header_cut)
    text = tmp_path / "t.npy"
    text.write_text("trajectories")
    with pytest.raises(ValueError, match=r"t\.npy: not a \.npy file"):
        read_idtracker(text)
    plain = tmp_path / "plain.npy"
    np.save(plain, np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match=r"plain\.npy: a plain \(4, 2, 2\) array"):
        read_idtracker(plain)
    calms = tmp_path / "calms.npy"
    np.save(calms, {"annotator-id_0": {"seq": {"keypoints": np.zeros((2, 2, 2, 7))}}},
            allow_pickle=True)
    with pytest.raises(ValueError, match=r"calms\.npy: no 'trajectories' entry.*read_calms21"):
        read_idtracker(calms)
    bad_shape = tmp_path / "shape.npy"
    np.save(bad_shape, {"trajectories": np.zeros((5, 3))}, allow_pickle=True)
    with pytest.raises(ValueError, match=r"'trajectories' has shape \(5, 3\)"):
        read_idtracker(bad_shape)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        read_idtracker(tmp_path / "missing.npy")
