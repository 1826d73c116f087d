"""`moveo ingest`, `features`, `run`, `pipeline run|status` and `import-mosaic` on real files.

Proves: each command does what the docs show (entries ingested with the names asked
for, every registered feature listed with its schema, a feature run cached on the
second call, a pipeline file cached like the Python API and reporting staleness, a
mosaic dataset imported); user errors (missing path, unknown format or feature, bad
parameter, a module path in a pipeline file) print one line ``moveo: error: ...`` and
exit 2 without a traceback, and ``--verbose`` raises instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from moveo import Dataset
from moveo.cli import main
from moveo.cli.data import FORMATS, Format, available_formats, parse_param
from moveo.features import feature_names
from moveo.labels import read_labels
from unit.pipeline.mosaic_fixture import write_mosaic_dataset
from unit.pipeline.pipeline_features import make_tracks

ROOT = Path(__file__).resolve().parents[3]

DLC = """scorer,DLC,DLC,DLC,DLC,DLC,DLC
bodyparts,nose,nose,nose,tail,tail,tail
coords,x,y,likelihood,x,y,likelihood
0,1.0,2.0,0.9,3.0,4.0,0.95
1,2.0,2.0,0.9,4.0,4.0,0.95
2,3.0,2.5,0.9,5.0,4.5,0.95
"""


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moveo: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def csv_files(tmp_path):
    t = make_tracks(n_groups=1, n_sequences=2, n_ids=2, n_frames=20)
    for s in ("s0", "s1"):
        t.filter(pl.col("sequence") == s).drop("group", "sequence").write_csv(
            tmp_path / f"arena_{s}.csv"
        )
    return t


@pytest.fixture
def ds(tmp_path, csv_files):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(csv_files)
    return d


# --------------------------------------------------------------------------- ingest


def test_ingest_a_glob_with_a_name_pattern(tmp_path, csv_files, capsys):
    pattern = str(tmp_path / "arena_*.csv")
    args = ["ingest", "table", pattern, str(tmp_path / "new"), "--group", "g0"]
    args += ["--name-pattern", r"arena_(?P<sequence>s\d)\.csv$", "--fps", "25"]
    assert main(args) == 0
    assert "ingested 2 entries (80 rows) from 2 table file(s): g0/s0, g0/s1" in (
        capsys.readouterr().out
    )
    ds = Dataset.open(tmp_path / "new")
    assert ds.entries() == [("g0", "s0"), ("g0", "s1")] and ds.fps == 25.0
    want = csv_files.filter(pl.col("sequence") == "s1").drop("group", "sequence")
    assert ds.read("g0", "s1").select(want.columns).equals(want)

    assert main(args) == 2  # again: the entries exist
    assert "already exist" in one_error_line(capsys)
    assert main([*args, "--overwrite"]) == 0
    capsys.readouterr()
    assert main(["ingest", "table", pattern, str(tmp_path / "new"), "--fps", "30"]) == 2
    assert "has fps 25, not 30" in one_error_line(capsys)


def test_ingest_dlc_keeps_keypoint_names_and_trex_folders(tmp_path, capsys):
    (tmp_path / "rig").mkdir()
    (tmp_path / "rig" / "mouseDLC_resnet50.csv").write_text(DLC)
    assert main(["ingest", "dlc", str(tmp_path / "rig" / "mouseDLC_resnet50.csv"),
                 str(tmp_path / "d"), "--sequence", "m1"]) == 0
    ds = Dataset.open(tmp_path / "d")
    assert ds.entries() == [("rig", "m1")]
    assert ds.pose.keypoint_names == ["nose", "tail"]
    assert ds.read("rig", "m1")["poseX1"].to_list() == [3.0, 4.0, 5.0]

    folder = tmp_path / "arena1"
    folder.mkdir()
    for fish in (0, 1):
        frame = np.arange(5, dtype=np.float64)
        np.savez(folder / f"trial_fish{fish}.npz", X=frame + fish, Y=frame, frame=frame,
                 time=frame / 25.0)
    assert main(["ingest", "trex", str(folder), str(tmp_path / "d")]) == 0
    assert ("arena1", "trial") in Dataset.open(tmp_path / "d").entries()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "nope", "x.csv", "DS"],
         "unknown format 'nope'; formats: trex, dlc, sleap, lightning-pose, idtracker, calms21, "
         "table"),
        (["ingest", "table", "missing.csv", "DS"], "missing.csv does not exist"),
        (["ingest", "table", "none-*.csv", "DS"], "no file matches"),
        (["ingest", "table", "arena_*.csv", "DS", "--sequence", "s"], "matches 2 files"),
        (["ingest", "table", "arena_*.csv", "DS", "--name-pattern", "xyz(?P<group>.)"],
         "does not match"),
    ],
)
def test_ingest_user_errors(tmp_path, csv_files, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "DS").exists()


def test_format_table_lists_only_readers_that_exist(monkeypatch):
    assert set(available_formats()) == set(FORMATS)
    assert FORMATS["dlc"].reader == "read_dlc"
    monkeypatch.setitem(FORMATS, "future", Format("read_future", "not written yet"))
    assert "future" not in available_formats()


def test_ingest_calms21_stores_labels_fps_and_source_info(tmp_path, capsys):
    rng = np.random.default_rng(0)
    seq = {"keypoints": rng.uniform(0, 500, size=(6, 2, 2, 7)).tolist(),
           "annotations": [0, 1, 1, 3, 0, 2],
           "metadata": {"vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3}}}
    path = tmp_path / "calms21_task1_train.json"
    path.write_text(json.dumps({"annotator-id_0": {"task1/train/mouse001": seq}}))
    assert main(["ingest", "calms21", str(path), str(tmp_path / "d")]) == 0
    assert "ingested 1 entries (12 rows; 6 behavior labels)" in capsys.readouterr().out
    ds = Dataset.open(tmp_path / "d")
    assert ds.fps == 30.0 and ds.pose.pose_n == 7
    (entry,) = ds.entries()
    assert read_labels(ds, "behavior", *entry)["label"].to_list()[:3] == [
        "attack", "investigation", "investigation"
    ]
    assert ds.entry_meta(*entry)["source_software"] == "CalMS21"
    # a file recording another frame rate does not go into this dataset
    assert main(["ingest", "calms21", str(path), str(tmp_path / "e"), "--fps", "25"]) == 2
    assert "records 30 fps, but the dataset has 25" in one_error_line(capsys)
    assert not (tmp_path / "e").exists()
    assert main(["ingest", "calms21", str(path), str(tmp_path / "d"), "--overwrite"]) == 0
    capsys.readouterr()


# --------------------------------------------------------------------------- features


def test_features_lists_every_registered_feature(capsys):
    assert main(["features"]) == 0
    out = capsys.readouterr().out
    for name in feature_names():
        assert name in out
    assert "smooth_window=null" in out
    assert main(["features", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["name"] for i in items] == feature_names()
    speed = next(i for i in items if i["name"] == "speed-angvel")
    assert speed["version"] == "0.1"
    assert speed["inputs"]["accepts"] == ["tracks", "results"]  # e.g. trajectory-smooth
    assert set(speed["params_schema"]["properties"]) == {"fps", "step_size", "smooth_window"}
    rolling = next(i for i in items if i["name"] == "rolling-stats")
    assert rolling["inputs"]["accepts"] == ["tracks", "results"]


# --------------------------------------------------------------------------- run


def test_parse_param():
    assert parse_param("window=5") == (["window"], 5)
    assert parse_param('stats=["mean","max"]') == (["stats"], ["mean", "max"])
    assert parse_param("mode=median-pairwise") == (["mode"], "median-pairwise")
    assert parse_param("fps=null") == (["fps"], None)
    assert parse_param("templates.run_id=0.1-ab") == (["templates", "run_id"], "0.1-ab")
    with pytest.raises(ValueError, match="expects KEY=VALUE"):
        parse_param("window")


def test_run_a_feature_twice_is_cached(ds, capsys):
    args = ["run", str(ds.root), "speed-angvel", "--param", "smooth_window=3", "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("speed-angvel 0.1-") and "2 entries in" in first
    run_dir = Path(first.split(" entries in ")[1].strip())
    stamps = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*.parquet")}
    assert len(stamps) == 2
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*.parquet")} == stamps
    # a feature on another feature's output
    chained = ["run", str(ds.root), "rolling-stats", "--input", "speed-angvel", "--quiet",
               "--param", 'columns=["speed"]', "--param", 'stats=["mean"]', "--param", "window=4"]
    assert main(chained) == 0
    assert capsys.readouterr().out.startswith("rolling-stats 0.1-")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["nope"], "unknown feature 'nope'; known features: "),
        (["speed-angvel", "--param", "smooth_window=1"],
         "feature 'speed-angvel': parameter 'smooth_window': Input should be greater than or "
         "equal to 2 (got 1)"),
        (["speed-angvel", "--param", "bogus=1"],
         "parameter 'bogus': Extra inputs are not permitted"),
        (["speed-angvel", "--param", "window"], "--param expects KEY=VALUE, got 'window'"),
        (["speed-angvel", "--input", "never-ran"],
         "input feature 'never-ran' has no runs in this dataset yet"),
        (["rolling-stats", "--input", "never-ran", "--param", 'columns=["x"]', "--param",
          'stats=["mean"]'], "input feature 'never-ran' has no runs in this dataset yet"),
    ],
)
def test_run_user_errors(ds, capsys, extra, message):
    assert main(["run", str(ds.root), *extra, "--quiet"]) == 2
    assert message in one_error_line(capsys)


def test_run_on_a_missing_dataset_and_verbose(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nowhere"), "speed-angvel"]) == 2
    assert "no dataset at" in one_error_line(capsys)
    with pytest.raises(FileNotFoundError):
        main(["--verbose", "run", str(tmp_path / "nowhere"), "speed-angvel"])


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])}
    proc = subprocess.run(
        [sys.executable, "-m", "moveo.cli", "run", str(tmp_path), "speed-angvel"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("moveo: error: no dataset at") and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- pipeline files

TOML = """
name = "kinematics"

[[steps]]
name = "speed"
feature = "speed-angvel"
params = { smooth_window = 3 }

[[steps]]
name = "speed-stats"
feature = "rolling-stats"
inputs = ["speed"]
params = { columns = ["speed"], stats = ["mean"], window = WINDOW }
"""


def test_pipeline_file_runs_with_the_python_api_caching(ds, tmp_path, capsys):
    path = tmp_path / "kinematics.toml"
    path.write_text(TOML.replace("WINDOW", "5"))
    assert main(["pipeline", "run", str(path), str(ds.root), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("cached") == 2
    stamps = {p: p.stat().st_mtime_ns for p in ds.features_root.rglob("*.parquet")}
    assert main(["pipeline", "run", str(path), str(ds.root), "--quiet"]) == 0
    assert {p: p.stat().st_mtime_ns for p in ds.features_root.rglob("*.parquet")} == stamps
    capsys.readouterr()
    path.write_text(TOML.replace("WINDOW", "7"))
    assert main(["pipeline", "status", str(path), str(ds.root)]) == 0
    assert "params changed: window 5 -> 7" in capsys.readouterr().out
    # the same pipeline as JSON, and `moveo status` reloads the saved pipeline
    spec = {"name": "kinematics", "steps": [{"name": "speed", "feature": "speed-angvel",
                                             "params": {"smooth_window": 3}}]}
    (tmp_path / "p.json").write_text(json.dumps(spec))
    assert main(["pipeline", "run", str(tmp_path / "p.json"), str(ds.root), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", str(ds.root)]) == 0
    assert "cached" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[steps]]\nname = "a"\nfeature = "moveo.features.speed_angvel:SpeedAngvel"\n',
         "step 1 ('a'): unknown feature 'moveo.features.speed_angvel:SpeedAngvel'"),
        ('[[steps]]\nname = "a"\nfeature = "speed-angvel"\nfeature_cls = "x"\n',
         "step 1 ('a'): unknown key(s) ['feature_cls']"),
        ('[[steps]]\nname = "a"\nfeature = "speed-angvel"\nparams = { step_size = 0 }\n',
         "invalid params for 'speed-angvel': parameter 'step_size'"),
        ('[[steps]]\nname = "a"\nfeature = "rolling-stats"\ninputs = ["b"]\n'
         'params = { columns = ["x"], stats = ["mean"] }\n', "depends on unknown step 'b'"),
        ("steps = [", "not valid TOML"),
        ('name = "x"\n', "'steps' must be a non-empty list"),
    ],
)
def test_pipeline_file_errors(ds, tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["pipeline", "run", str(path), str(ds.root)]) == 2
    line = one_error_line(capsys)
    assert message in line and str(path) in line


# --------------------------------------------------------------------------- import-mosaic


def test_import_mosaic_command(tmp_path, capsys):
    write_mosaic_dataset(tmp_path / "m")
    assert main(["import-mosaic", str(tmp_path / "m"), str(tmp_path / "d"),
                 "--pair-labels", "first"]) == 0
    out = capsys.readouterr().out
    assert "5 imported, 3 adopted, 3 skipped" in out.splitlines()[0]
    assert "pair event given to the first individual" in out
    assert Dataset.open(tmp_path / "d").entries()[-1] == ("ungrouped", "solo-trial")
    assert main(["import-mosaic", str(tmp_path / "m"), str(tmp_path / "d")]) == 2
    assert "is not empty" in one_error_line(capsys)
    assert main(["import-mosaic", str(tmp_path / "nowhere"), str(tmp_path / "e")]) == 2
    assert "a mosaic-behavior dataset is a folder with a dataset.yaml" in one_error_line(capsys)
