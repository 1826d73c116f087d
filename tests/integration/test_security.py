"""Attacks and faults from issue 13, reproduced with real files, SQLite and processes.

Each test builds the damaged or crafted input for real (a registry row, a model
name, a truncated parquet file, a tampered pickle, a killed driver...), runs the
public API or the ``moveo`` command on it, and asserts the clear error or the
recovery -- and that nothing outside the dataset and nothing already stored
changed (byte snapshots of the trees involved).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from moveo import Dataset
from moveo.cli import main
from moveo.pipeline import FeatureStep, Pipeline, run_feature
from moveo.pipeline.pipeline import load_saved_pipeline
from moveo.pipeline.registry import open_registry
from unit.pipeline.pipeline_features import RollingMean, StepLength, make_tracks

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src"
SQLITE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (symlinks by target), SQLite files excluded.

    The registry's bytes change whenever it is opened (WAL checkpoints); its rows
    are compared separately with :func:`registry_rows`.
    """
    out = {}
    root = Path(root)
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file() and not name.endswith(SQLITE_SUFFIXES):
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.is_dir():
                out[rel] = "dir"
    return out


def assert_kept(before: dict[str, str], after: dict[str, str]) -> None:
    """Everything stored before is unchanged; anything new is an empty folder at most."""
    assert {k: after.get(k) for k in before} == before
    assert {v for k, v in after.items() if k not in before} <= {"dir"}


def registry_rows(ds: Dataset) -> list[tuple]:
    with open_registry(ds, readonly=True) as reg:
        runs = reg.list_runs().drop("started_at", "finished_at").rows()
        entries = [
            r for f in reg.list_features() for r in reg.list_entries(f).drop("updated_at").rows()
        ]
    return sorted(runs) + sorted(entries, key=str)


def make_victim(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "precious.txt").write_text("do not delete")
    (path / "sub").mkdir()
    (path / "sub" / "data.bin").write_bytes(b"\x00\x01" * 100)
    return path


def two_step_pipeline(window: int = 3) -> Pipeline:
    return (
        Pipeline(name="sec")
        .add(FeatureStep("step", StepLength))
        .add(FeatureStep("roll", RollingMean, params={"window": window}, input_names=["step"]))
    )


@pytest.fixture
def ds(tmp_path):
    d = Dataset.create(tmp_path / "ds", fps=30.0)
    d.add_tracks(make_tracks(n_groups=2, n_sequences=2, n_frames=30))
    return d


# --------------------------------------------------------------------------- item 1
def test_clean_refuses_run_id_escaping_the_dataset(ds, tmp_path, capsys):
    """A registry row with run id ``../../../victim`` must not make clean delete ``victim``."""
    victim = make_victim(tmp_path / "victim")
    two_step_pipeline(3).run(ds, progress=False)
    two_step_pipeline(5).run(ds, progress=False)  # leaves one genuine orphan run
    with open_registry(ds) as reg:
        # ds/features/step-length/../../../victim == tmp_path/victim
        reg.record_run_start("step-length", "../../../victim", "0.1", "x")
    before_victim, before_ds, rows = snapshot(victim), snapshot(ds.root), registry_rows(ds)

    assert main(["clean", str(ds.root), "--apply"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("moveo: error: ")
    assert "'../../../victim'" in err and "nothing was deleted" in err

    assert snapshot(victim) == before_victim
    assert snapshot(ds.root) == before_ds  # the genuine orphan was not deleted either
    assert registry_rows(ds) == rows


def test_clean_refuses_symlinked_run_folder(ds, tmp_path):
    """A run folder that is a symlink to a folder outside the dataset is refused."""
    victim = make_victim(tmp_path / "victim")
    two_step_pipeline().run(ds, progress=False)
    (ds.features_root / "step-length" / "0.1-planted").symlink_to(victim)
    before_victim, before_ds = snapshot(victim), snapshot(ds.root)
    with pytest.raises(ValueError, match="not inside"):
        two_step_pipeline().clean(ds, dry_run=False)
    assert snapshot(victim) == before_victim
    assert snapshot(ds.root) == before_ds


# --------------------------------------------------------------------------- item 2
class _TinyModel:
    """The smallest trainable model: stores the mean X of the first entry."""

    version = "1"

    def __init__(self, name: str, version: str = "1"):
        from moveo.models.base import ModelConfig

        self.name = name
        self.version = version

        class Config(ModelConfig):
            pass

        self.Config = Config

    def identity(self, ds, config):
        return {}

    def fit(self, ds, config, run_root, progress):
        from moveo.models.base import dump_artifact

        dump_artifact({"mean": 1.0}, Path(run_root) / "model.joblib")
        return {"ok": 1}


@pytest.mark.parametrize(
    ("name", "version", "what"),
    [
        ("../../../escaped-model", "1", "model"),
        ("fine", "../../../escaped", "run id"),
        ("a" * 300, "1", "model"),
    ],
)
def test_model_names_and_run_ids_are_validated(ds, tmp_path, name, version, what):
    """``train_model`` refuses a model name or version that would leave ``models/``."""
    from moveo import train_model

    outside = snapshot(tmp_path)
    before = snapshot(ds.root)
    with pytest.raises(ValueError, match=f"unsafe {what} name"):
        train_model(ds, _TinyModel(name, version))
    after = snapshot(tmp_path)
    assert not [p for p in after if p.startswith("escaped") or "escaped" in p]
    assert snapshot(ds.root) == before
    assert {k for k in after if not k.startswith("ds")} == {
        k for k in outside if not k.startswith("ds")
    }


def test_feature_version_and_artifact_run_ids_are_validated(ds, tmp_path):
    """A feature version with ``/`` and an artifact run id with ``..`` are refused."""
    from moveo.features import GlobalScaler

    victim = make_victim(tmp_path / "victim")
    before = snapshot(ds.root)

    class Escaping(StepLength):
        version = "0.1/../../../../victim"

    with pytest.raises(ValueError, match="feature version must be .* without '/'"):
        run_feature(ds, Escaping(), progress=False)
    with open_registry(ds) as reg:  # a crafted registry knows the run
        reg.record_run_start("global-scaler", "../../../victim", "0.1", "x")
    before = snapshot(ds.root)
    scaler = GlobalScaler({"model": {"feature": "global-scaler", "run_id": "../../../victim"}})
    with pytest.raises(ValueError, match="unsafe run id name '../../../victim'"):
        run_feature(ds, scaler, progress=False)
    assert snapshot(ds.root) == before
    assert (victim / "precious.txt").read_text() == "do not delete"


# --------------------------------------------------------------------------- item 9
def test_long_entry_names_fail_clearly_at_the_real_limit(tmp_path):
    """Names whose temp file name would exceed 255 bytes are refused up front, by bytes."""
    ds = Dataset.create(tmp_path / "ds", fps=30.0)
    table = make_tracks(n_groups=1, n_sequences=1, n_frames=5).drop("group", "sequence")
    longest = "s" * 229  # ".<229>.parquet.tmp-<12 hex>" is exactly 255 bytes
    assert ds.add_tracks(table, group="g", sequence=longest) == [("g", longest)]
    assert ds.read("g", longest).height == 10
    before = snapshot(ds.root)
    for name in ("s" * 230, "é" * 115):  # 230 bytes each
        with pytest.raises(ValueError, match="at most 229 bytes") as info:
            ds.add_tracks(table, group="g", sequence=name)
        assert "File name too long" not in str(info.value)
    assert snapshot(ds.root) == before
    assert pl.read_parquet(ds.entry_path("g", longest)).height == 10


# --------------------------------------------------------------------------- item 3
class _Exploit:
    """Unpickling this creates ``marker``: the proof that code from the file ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def plant_exploit(path: Path, marker: Path) -> None:
    import joblib

    joblib.dump(_Exploit(marker), path)
    assert not marker.exists()


def test_load_model_verifies_the_checksum(ds, tmp_path, monkeypatch, caplog):
    """A trained model replaced by a crafted pickle is refused; its code never runs."""
    import joblib

    from moveo import train_model
    from moveo._fs import UnverifiedArtifactError, sidecar_path
    from moveo.models import load_model

    run_id = train_model(ds, _TinyModel("tiny"))
    root = ds.models_root / "tiny" / run_id
    assert load_model(root) == {"mean": 1.0}
    marker = tmp_path / "pwned"
    plant_exploit(root / "model.joblib", marker)
    side = sidecar_path(root / "model.joblib")
    good_side = side.read_bytes()
    before = snapshot(ds.root)
    with pytest.raises(UnverifiedArtifactError, match="changed since it was saved") as info:
        load_model(root)
    assert "trust=True" in str(info.value) and "MOVEO_TRUST_PICKLES=1" in str(info.value)
    side.write_text("{not json")
    with pytest.raises(UnverifiedArtifactError, match=f"sidecar {side} is not valid JSON"):
        load_model(root)
    side.write_text('{"file": "model.joblib"}')
    with pytest.raises(UnverifiedArtifactError, match="records no sha256 checksum"):
        load_model(root)
    side.unlink()
    with pytest.raises(UnverifiedArtifactError, match="no checksum sidecar"):
        load_model(root)
    side.write_bytes(good_side)
    assert not marker.exists()
    assert snapshot(ds.root) == before

    # forcing works, for a file the user vouches for (a benign one here)
    joblib.dump({"mean": 2.0}, root / "model.joblib")
    assert load_model(root, trust=True) == {"mean": 2.0}
    assert "loading unverified model file" in caplog.text
    monkeypatch.setenv("MOVEO_TRUST_PICKLES", "1")
    assert load_model(root) == {"mean": 2.0}
    monkeypatch.delenv("MOVEO_TRUST_PICKLES")
    # training again replaces the unverifiable file with a fresh, verified one
    assert train_model(ds, _TinyModel("tiny")) == run_id
    assert load_model(root) == {"mean": 1.0}


def test_behavior_feature_refuses_unverified_model_path(tmp_path):
    """The behaviour classifier's ``model_path`` is a pickle too: verified before loading."""
    from moveo._fs import UnverifiedArtifactError
    from moveo.features import BehaviorClassifierFeature

    marker = tmp_path / "pwned"
    plant_exploit(tmp_path / "model.joblib", marker)
    with pytest.raises(UnverifiedArtifactError, match="refusing to load model file"):
        BehaviorClassifierFeature({"model_path": str(tmp_path / "model.joblib")})
    assert not marker.exists()


def test_global_feature_state_is_verified(ds, tmp_path):
    """A tampered ``.state/model.joblib``: refused as another run's model, refitted as its own."""
    from moveo._fs import UnverifiedArtifactError
    from moveo.features import ExtractTemplates, GlobalScaler
    from moveo.pipeline import read_feature

    run_feature(ds, ExtractTemplates({"n_templates": 10, "pool": {"size": 40}, "columns": ["X"]}))
    first = run_feature(ds, GlobalScaler({"columns": ["X"]}))
    expected = read_feature(ds, first, "g0", "s0")
    state = ds.features_root / "global-scaler" / first.run_id / ".state" / "model.joblib"
    marker = tmp_path / "pwned"
    plant_exploit(state, marker)
    before = snapshot(ds.root)
    with pytest.raises(UnverifiedArtifactError, match="refusing to load joblib artifact"):
        run_feature(ds, GlobalScaler({"model": {"run_id": first.run_id}}))
    assert not marker.exists()
    assert_kept(before, snapshot(ds.root))
    # its own run refits instead of unpickling the file, and writes a verified state
    again = run_feature(ds, GlobalScaler({"columns": ["X"]}), overwrite=True)
    assert again == first
    assert not marker.exists()
    assert read_feature(ds, first, "g0", "s0").equals(expected)
    reuse = run_feature(ds, GlobalScaler({"model": {"run_id": first.run_id}}))
    assert read_feature(ds, reuse, "g0", "s0")["X"].equals(expected["X"])


def test_realtime_load_pickle_refuses_crafted_file(tmp_path):
    """The realtime loader uses the same checksum: a swapped model file never runs."""
    from moveo.realtime import load_pickle, save_pickle
    from moveo.realtime.persistence import ModelMismatchError

    path = save_pickle({"w": 1}, tmp_path / "rt" / "model.joblib", n_channels=4)
    marker = tmp_path / "pwned"
    plant_exploit(Path(path), marker)
    with pytest.raises(ModelMismatchError, match="changed since it was saved"):
        load_pickle(path)
    assert not marker.exists()


def test_worker_refuses_a_changed_feature_file(tmp_path):
    """A process worker unpickles the feature file only if its sha256 is the driver's."""
    import pickle

    from moveo.pipeline.run import _FeatureHandle, _worker_feature

    path = tmp_path / "feature.pkl"
    good = pickle.dumps(StepLength())
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    handle = _FeatureHandle(str(path), hashlib.sha256(good).hexdigest())
    with pytest.raises(RuntimeError, match="changed after the driver wrote it"):
        _worker_feature(handle, str(tmp_path))
    assert not marker.exists()


# --------------------------------------------------------------------------- item 4
USER_FEATURES = '''
import polars as pl
from moveo.features.base import BaseFeature


class MyStep(BaseFeature):
    name = "mylab-step"

    def apply(self, df):
        return df.select("group", "sequence", "id", "frame", (pl.col("X") * 2).alias("x2"))


def after(ds, results):
    pass
'''

EVIL = '''
import pathlib
pathlib.Path({marker!r}).touch()
class Evil:
    name = "evil"
def run(ds, results):
    pass
'''

RUN_USER_PIPELINE = '''
import sys
from moveo import Dataset
from moveo.pipeline import CallbackStep, FeatureStep, Pipeline
import mylab_features

p = Pipeline(name="mylab")
p.add(FeatureStep("x2", mylab_features.MyStep))
p.add(CallbackStep("after", mylab_features.after, depends_on=["x2"]))
p.run(Dataset.open(sys.argv[1]), progress=False)
'''


def moveo_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)]), "COLUMNS": "200"}
    return subprocess.run(
        # as the `moveo` console script does; with -c the current folder is importable
        [sys.executable, "-c", "import sys; from moveo.cli import main; sys.exit(main())", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False,
    )


def test_status_never_imports_modules_named_in_pipeline_json(ds, tmp_path, monkeypatch):
    """``moveo status`` finds features by registered name; a crafted spec imports nothing."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "mylab_features.py").write_text(USER_FEATURES)
    marker = tmp_path / "pwned"
    (work / "evil_mod.py").write_text(EVIL.format(marker=str(marker)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(work)])}
    subprocess.run(
        [sys.executable, "-c", RUN_USER_PIPELINE, str(ds.root)],
        cwd=work, env=env, check=True, timeout=240,
    )

    # the user's own module, imported by the flag the user types: found by name
    done = moveo_cli("status", str(ds.root), "--import", "mylab_features", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "mylab-step" in done.stdout and done.stdout.count("cached") == 2
    # without it: one line saying how to make the feature available, exit 2
    done = moveo_cli("status", str(ds.root), cwd=work)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "cannot find feature 'mylab-step'" in done.stderr and "--import" in done.stderr

    # a crafted spec naming a module that is importable from here (evil_mod.py in cwd)
    spec_path = ds.internal_root / "pipeline.json"
    spec = json.loads(spec_path.read_text())
    spec["steps"][0].update(feature="evil", feature_cls="evil_mod:Evil")
    spec["steps"][1]["fn"] = "evil_mod:run"
    spec_path.write_text(json.dumps(spec))
    before = snapshot(ds.root)
    for cmd in (["status"], ["clean"], ["clean", "--apply"]):
        done = moveo_cli(*cmd, str(ds.root), cwd=work)
        assert done.returncode == 2, done.stdout
        assert "cannot find feature 'evil'" in done.stderr
        assert "never imports code named in pipeline.json" in done.stderr
    assert not marker.exists()
    assert snapshot(ds.root) == before

    # a callback named in the spec is not imported either: its status is still shown
    spec["steps"][0].update(feature="mylab-step", feature_cls="mylab_features:MyStep")
    spec_path.write_text(json.dumps(spec))
    done = moveo_cli("status", str(ds.root), "--import", "mylab_features", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "after" in done.stdout and not marker.exists()
    monkeypatch.syspath_prepend(str(work))  # evil_mod is importable here too
    importlib.import_module("mylab_features")  # what the user's own script does
    loaded = load_saved_pipeline(ds)
    with pytest.raises(RuntimeError, match="does not import code named in a data file"):
        loaded.steps["after"].fn(ds, {})
    assert "evil_mod" not in sys.modules and not marker.exists()


# --------------------------------------------------------------------------- item 5
def test_corrupt_output_is_reported_and_recomputed(ds, tmp_path, capsys, caplog):
    """A truncated and a same-size damaged output: ``corrupt`` in status, recomputed by run."""
    from moveo.pipeline import read_feature

    log = tmp_path / "calls.txt"
    p = (
        Pipeline(name="sec")
        .add(FeatureStep("step", StepLength, params={"log_calls": str(log)}))
        .add(FeatureStep("roll", RollingMean, input_names=["step"]))
    )
    results = p.run(ds, progress=False)
    expected = {k: read_feature(ds, results["step"], *k) for k in ds.entries()}
    run_root = ds.features_root / "step-length" / results["step"].run_id
    truncated, flipped = run_root / "g0" / "s1.parquet", run_root / "g1" / "s0.parquet"
    truncated.write_bytes(truncated.read_bytes()[:-100])
    data = bytearray(flipped.read_bytes())
    data[-1:] = b"X"  # same size, footer magic broken
    flipped.write_bytes(bytes(data))
    damaged = {str(f.relative_to(ds.root)) for f in (truncated, flipped)}
    others = {
        k: v for k, v in snapshot(ds.root).items() if k.endswith(".parquet") and k not in damaged
    }
    log.write_text("")

    by = {r["step"]: r for r in p.status(ds).iter_rows(named=True)}
    assert by["step"]["state"] == "corrupt"
    assert by["step"]["done"] == 2
    reason = by["step"]["reason"]
    assert reason.startswith("2 of 4 outputs corrupt")
    assert f"(g0, s1) {truncated}: size" in reason and "the registry recorded" in reason
    assert f"(g1, s0) {flipped}: not a complete parquet file" in reason
    assert by["roll"]["state"] == "cached"  # computed from the intact upstream data
    with pytest.raises(ValueError, match="is corrupt: size"):
        read_feature(ds, results["step"], "g0", "s1")
    assert main(["status", str(ds.root)]) == 0
    assert "corrupt" in capsys.readouterr().out

    assert p.run(ds, progress=False) == results
    assert sorted(log.read_text().split()) == ["g0/s1", "g1/s0"]  # only the damaged ones
    assert "recomputing 2 corrupt output(s)" in caplog.text
    assert p.status(ds)["state"].to_list() == ["cached", "cached"]
    for key, df in expected.items():
        assert read_feature(ds, results["step"], *key).equals(df, null_equal=True)
    after = snapshot(ds.root)
    assert {k: after[k] for k in others} == others  # every intact file untouched


# --------------------------------------------------------------------------- item 6
def test_corrupt_tracks_file_is_reported_and_the_rest_stays_usable(ds, tmp_path, capsys):
    """A truncated tracks file: status says unreadable (entry, path), run says it in one error."""
    from moveo.dataset import UnreadableEntryError
    from moveo.pipeline import read_feature
    from moveo.pipeline.run import FeatureRunError

    results = two_step_pipeline().run(ds, progress=False)
    bad = ds.entry_path("g0", "s1")
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    before, rows = snapshot(ds.root), registry_rows(ds)

    by = {r["step"]: r for r in two_step_pipeline().status(ds).iter_rows(named=True)}
    assert by["step"]["state"] == "unreadable"
    assert by["step"]["reason"].startswith("1 of 4 entries unreadable: the tracks file")
    assert str(bad) in by["step"]["reason"]
    assert "(group='g0', sequence='s1')" in by["step"]["reason"]
    assert by["step"]["done"] == 3 and by["step"]["total"] == 4
    assert main(["status", str(ds.root)]) == 0
    assert "unreadable" in capsys.readouterr().out

    with pytest.raises(FeatureRunError) as info:
        two_step_pipeline().run(ds, progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert "1 of 1 entries failed: (group='g0', sequence='s1')" in message
    assert str(bad) in message and "is unreadable" in message
    with pytest.raises(UnreadableEntryError, match="is unreadable"):
        ds.read("g0", "s1")
    assert any("unreadable" in p for p in ds.verify())
    assert snapshot(ds.root) == before and registry_rows(ds) == rows  # nothing rewritten

    # a feature never run before: the readable entries are computed and saved
    with pytest.raises(FeatureRunError, match="1 of 4 entries failed") as info:
        run_feature(ds, StepLength({"scale": 2.0}), progress=False)
    with open_registry(ds) as reg:
        run_id = info.value.run_id
        assert sorted(reg.complete_entries("step-length", run_id)) == [
            ("g0", "s0"), ("g1", "s0"), ("g1", "s1")
        ]
    assert read_feature(ds, results["step"], "g1", "s1").height == 60
    after = snapshot(ds.root)
    assert {k: after.get(k) for k in before} == before  # new outputs only, nothing changed


# --------------------------------------------------------------------------- item 7
def test_source_whose_read_keeps_raising_counts_as_silence():
    """read() raising on every call: disconnected, predictions stop, the operator is told."""
    import time

    from moveo.realtime import App
    from moveo.realtime import Pipeline as RealtimePipeline
    from reference.realtime import GateSource, wait_until

    source = GateSource(n_channels=4, fs=1000.0, chunk=10, seed=3)
    app = App(warmup=False)
    app.add_stream("emg", source, window_ms=50, silence_s=0.2)
    p = RealtimePipeline(app, predict_hz=50)
    p.extract(lambda w: float(w["emg"].mean()))
    p.predict(lambda m, f: {"level": f})
    p.model = 1
    with app:
        stream = app.streams["emg"]
        assert app.wait_for_samples(100, 10)
        p.start_predicting()
        assert wait_until(lambda: p.prediction_count > 5, 10)
        source.fail_next = 10**9  # the device driver now fails on every read
        assert wait_until(lambda: stream.status == "disconnected", 5)
        assert "read() keeps failing" in stream.status_reason
        assert "device hiccup" in stream.status_reason
        assert wait_until(lambda: p.stale, 5)
        message = app.ctx.status_message
        assert message.startswith("Stream 'emg' is disconnected (read() keeps failing")
        assert message.endswith("predictions paused.")
        made = p.prediction_count
        time.sleep(0.3)
        assert p.prediction_count == made  # no predictions on the frozen last window
        assert stream.counters["errors"] > 3
        source.fail_next = 0
        assert wait_until(lambda: stream.status == "connected", 5)
        assert wait_until(lambda: p.prediction_count > made + 3, 5)
        assert app.ctx.status_message == "Predicting..."
        assert stream.status_reason == ""
    assert stream.counters["disconnects"] == 1 and stream.counters["reconnects"] == 1


# --------------------------------------------------------------------------- item 8
DRIVER = '''
import sys
sys.path.insert(0, {tests!r})
from moveo import Dataset
from moveo.pipeline import run_feature
from unit.pipeline.pipeline_features import StepLength

ds = Dataset.open(sys.argv[1])
run_feature(ds, StepLength({{"sleep_s": 120.0}}), parallel_workers=2, parallel_mode="process",
            progress=False)
'''


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            tree.setdefault(ppid, []).append(int(d.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, out, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent may reap it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_process_workers_die_with_a_killed_driver(ds, tmp_path):
    """``kill -9`` of the driver: its workers and the resource tracker exit, leftovers are swept."""
    import signal
    import time

    workers_dir = ds.internal_root / "workers"
    family: set[int] = set()
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(tests=str(TESTS)), str(ds.root)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # both workers started and hold the feature file
            spawned = {
                p for p in _descendants(driver.pid)
                if b"multiprocessing" in Path(f"/proc/{p}/cmdline").read_bytes()
            } if driver.poll() is None else set()
            if len(spawned) >= 3 and list(workers_dir.glob("*.pkl")):  # 2 workers + tracker
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the workers did not start (driver exit code {driver.poll()})")
        family = _descendants(driver.pid)
        time.sleep(1.0)  # let the workers import moveo and block in apply()
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in family):
            time.sleep(0.1)
        assert not [p for p in family if _alive(p)], "orphaned processes outlived the driver"
    finally:  # on failure, end what this test started (orphans included)
        family |= _descendants(driver.pid)
        if driver.poll() is None:
            driver.kill()
            driver.wait(10)
        for p in family:
            if _alive(p):
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
    leftovers = list(workers_dir.glob("*.pkl"))
    assert leftovers  # the killed driver could not remove its feature file
    tracks_before = {k: v for k, v in snapshot(ds.root).items() if k.startswith("tracks")}
    result = run_feature(ds, StepLength(), progress=False)  # the next run that writes
    assert not list(workers_dir.glob("*.pkl"))
    assert {k: v for k, v in snapshot(ds.root).items() if k.startswith("tracks")} == tracks_before
    with open_registry(ds) as reg:
        assert reg.entry_count("step-length", result.run_id) == 4


# --------------------------------------------------------------------------- item 10
def _with_bad_values(value: float) -> pl.DataFrame:
    t = make_tracks(n_groups=1, n_sequences=1, n_ids=3, n_frames=20, seed=4)
    row = (pl.col("id") == 1) & (pl.col("frame") == 7)
    return t.with_columns(
        pl.when(row).then(value).otherwise(pl.col("X")).alias("X"),
        pl.when((pl.col("id") == 2) & (pl.col("frame") == 3)).then(-value)
        .otherwise(pl.col("Y")).alias("Y"),
    )


def test_infinite_coordinates_are_missing_everywhere(tmp_path, caplog):
    """inf and -inf are NaN at ingest (counted, logged) and in every feature's input."""
    from moveo.features import NearestNeighbor, SpeedAngvel
    from moveo.pipeline import read_feature

    with_inf = Dataset.create(tmp_path / "inf", fps=30.0)
    with_nan = Dataset.create(tmp_path / "nan", fps=30.0)
    with_inf.add_tracks(_with_bad_values(float("inf")))
    with_nan.add_tracks(_with_bad_values(float("nan")))
    assert "2 infinite value(s) treated as missing (NaN): X 1, Y 1" in caplog.text
    assert "first at group='g0', sequence='s0', id=1, frame=7" in caplog.text
    stored = with_inf.read("g0", "s0")
    assert not any(stored.select(pl.col("X", "Y").is_infinite().any()).row(0))
    assert stored.equals(with_nan.read("g0", "s0"), null_equal=True)
    for feature in (SpeedAngvel, NearestNeighbor):
        a = read_feature(with_inf, run_feature(with_inf, feature(), progress=False), "g0", "s0")
        b = read_feature(with_nan, run_feature(with_nan, feature(), progress=False), "g0", "s0")
        assert a.equals(b, null_equal=True), feature.name
        assert not any(a.select(pl.selectors.float().is_infinite().any()).row(0))
    # a feature applied to a frame directly (no ingest) follows the same policy
    raw_inf = _with_bad_values(float("inf"))
    raw_nan = _with_bad_values(float("nan"))
    for feature in (SpeedAngvel({"fps": 30.0}), NearestNeighbor()):
        assert feature.apply(raw_inf).equals(feature.apply(raw_nan), null_equal=True)


def test_kernels_do_not_overflow_on_huge_finite_coordinates():
    """Nearest neighbour and speed at 1e308: exact answers, no inf from squaring."""
    import numpy as np

    from moveo.kernels.kinematics import speed_angvel, step_speed_angvel
    from moveo.kernels.neighbors import nearest_neighbors

    # a=(1e308, 0), b=(9e307, 0), c=(0, 0): every squared distance overflows float64
    x = np.array([1e308, 9e307, 0.0, 1.0, 2.0])
    y = np.zeros(5)
    ids = np.array([0, 1, 2, 0, 1])
    frames = np.array([0, 0, 0, 1, 1])
    for k in (1, 2):
        rows, dist = nearest_neighbors(x, y, ids, frames, k=k)
        assert rows[:3, 0].tolist() == [1, 0, 1]
        np.testing.assert_allclose(dist[:3, 0], [1e307, 1e307, 9e307], rtol=1e-15)
        assert rows[3:, 0].tolist() == [4, 3] and dist[3:, 0].tolist() == [1.0, 1.0]
    rows, dist = nearest_neighbors(x, y, ids, frames, k=2)
    np.testing.assert_allclose(dist[:3, 1], [1e308, 9e307, 1e308], rtol=1e-15)
    # the true distance from -1e308 to 1e308 exceeds float64: inf, not a wrong neighbour
    rows, dist = nearest_neighbors(np.array([-1e308, 1e308]), np.zeros(2), np.array([0, 1]),
                                   np.zeros(2, dtype=np.int64))
    assert rows[:, 0].tolist() == [1, 0] and np.isinf(dist[:, 0]).all()

    # speed: steps of 3e200 and 4e200 (x, y) per frame at 30 fps -> 5e200 * 30
    n = 4
    xs, ys = np.arange(n) * 3e200, np.arange(n) * 4e200
    out = speed_angvel(xs, ys, np.arange(n, dtype=np.int64), fps=30.0)
    np.testing.assert_allclose(out["speed"][1:], 1.5e202, rtol=1e-15)
    step = step_speed_angvel(xs, ys, np.arange(n, dtype=np.int64), step=2, fps=30.0)
    np.testing.assert_allclose(step["speed_step"][2:], 1.5e202, rtol=1e-15)


# --------------------------------------------------------------------------- item 11
DISK_FULL = '''
import sys
import numpy as np, polars as pl
from moveo._fs import atomic_write_parquet
path = sys.argv[1] + "/out.parquet"
try:
    atomic_write_parquet(pl.DataFrame({"a": np.random.default_rng(0).random(400_000)}), path)
except OSError as exc:
    print(type(exc).__name__, exc.errno, exc)
    sys.exit(3)
'''


def test_disk_full_is_said_in_plain_words(tmp_path):
    """On a real full filesystem (a 256 kB tmpfs) the write fails with ENOSPC, clearly."""
    import errno
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a private tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {mnt} || exit 77; "
        f"{sys.executable} -c '{DISK_FULL}' {mnt}; rc=$?; ls -A {mnt}; exit $rc"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True,
        timeout=240, check=False,
    )
    if done.returncode == 77 or "unshare failed" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 3, done.stdout + done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith(f"OSError {errno.ENOSPC} ")
    assert "no space left on the device while writing" in first and "out.parquet" in first
    assert "File out of specification" not in first
    assert rest == []  # no temp file and no partial output left on the full disk


def test_extract_errors_are_counted_with_their_ticks():
    """stats() read at any moment: extract errors equal the ticks they happened in."""
    import logging
    import time

    import moveo
    from moveo.realtime import App, SyntheticSource
    from moveo.realtime import Pipeline as RealtimePipeline

    # compile the ring buffer first: a cold cache would otherwise spend the
    # measured 1.5 s compiling the first window read (only ticks are counted)
    moveo.warmup(["moveo.kernels.ring"])
    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=4, fs=1000.0, chunk=10), window_ms=50)
    p = RealtimePipeline(app, predict_hz=200)

    def broken(windows):
        raise ValueError("broken extract")

    p.extract(broken)
    p.predict(lambda m, f: {"x": 1})
    p.model = 1
    logging.getLogger("moveo.realtime").disabled = True
    try:
        with app:
            assert app.wait_for_samples(100, 10)
            p.start_predicting()
            differences = set()
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                st = p.stats()
                differences.add(st["errors_by_callback"]["extract"] - st["ticks"])
                # read at up to 500 Hz (a GUI reads ~60 times a second): a loop
                # without pause holds the GIL ~200 us per call and starves the ticks
                time.sleep(0.002)
            p.stop_predicting()
    finally:
        logging.getLogger("moveo.realtime").disabled = False
    assert differences == {0}
    st = p.stats()
    assert st["ticks"] > 20 and st["errors_by_callback"]["extract"] == st["ticks"]


def test_clean_reports_sizes_rounded(ds):
    two_step_pipeline(3).run(ds, progress=False)
    two_step_pipeline(5).run(ds, progress=False)
    report = two_step_pipeline(5).clean(ds)
    assert sorted(report["status"].to_list()) == ["keep", "keep", "orphan"]
    assert all(round(v, 3) == v for v in report["size_mb"].to_list())


# --------------------------------------------------------------------------- newcomer friction
@pytest.mark.lsl
def test_liblsl_info_lines_are_silenced(tmp_path):
    """``moveo realtime outlet`` on a pipe: moveo's lines only, no liblsl INFO lines."""
    done = moveo_cli("realtime", "outlet", "--duration", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "INFO|" not in done.stderr + done.stdout
    assert done.stdout.startswith("serving LSL stream")
    env = {"MOVEO_LSL_LOG_LEVEL": "info"}
    loud = subprocess.run(
        [sys.executable, "-c", "import sys; from moveo.cli import main; sys.exit(main())",
         "realtime", "outlet", "--duration", "0.5"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SRC), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert "INFO|" in loud.stderr  # the switch brings them back


@pytest.mark.lsl
@pytest.mark.timeout(900)  # a cold numba cache compiles every kernel (~2 min on 2 cores)
def test_realtime_demo_says_it_prepares_the_kernels(tmp_path):
    """Without a terminal the demo still prints one line before compiling, one after."""
    from moveo.cli.realtime import run_demo

    lines: list[str] = []
    result = run_demo(record_s=2.0, predict_s=0.5, dataset=tmp_path / "emg", warmup=True,
                      echo=lines.append)
    assert result["predictions"] > 0
    i = next(k for k, line in enumerate(lines) if line.startswith("compiling the kernels this"))
    assert "(ring buffer, HTD features)" in lines[i] and "the first time" in lines[i]
    assert any(line.startswith("kernels ready in ") for line in lines[i + 1 :])
