"""Real features for the Dask tests, importable by worker processes.

Import as ``from integration.dask_features import ...`` (``tests/`` is on
``sys.path`` in the driver and in spawned Dask workers), so workers unpickle
the classes by reference.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import polars as pl

from moveo._fs import temp_path
from moveo.kernels.kinematics import speed_angvel
from moveo.pipeline.types import Inputs, Params, TrackInput

KEYS = ["group", "sequence", "id", "frame"]


class _Base:
    name = "base"
    version = "0.1"
    parallelizable = True
    scope_dependent = False

    class Params(Params):
        pass

    class Inputs(Inputs[TrackInput]):
        pass

    def __init__(self, params=None, inputs=None):
        self.params = type(self).Params.from_overrides(params)
        self.inputs = type(self).Inputs(inputs if inputs is not None else ("tracks",))

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        return True

    def fit(self, inputs):
        return None

    def save_state(self, run_root):
        return None


def _segment_offsets(ids: np.ndarray) -> np.ndarray:
    starts = np.flatnonzero(np.diff(ids)) + 1
    return np.concatenate([[0], starts, [ids.shape[0]]]).astype(np.int64)


class KernelSpeed(_Base):
    """Speed per individual through moveo's numba kinematics kernel."""

    name = "kernel-speed"

    class Params(Params):
        fps: float = 30.0

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        ids = df["id"].to_numpy()
        r = speed_angvel(
            df["X"].to_numpy(),
            df["Y"].to_numpy(),
            df["frame"].to_numpy(),
            _segment_offsets(ids),
            fps=self.params.fps,
        )
        return df.select(KEYS).with_columns(pl.Series("speed", r["speed"]))


class KillSwitch(_Base):
    """Speed, but the worker process SIGKILLs itself for chosen entries.

    ``control_dir/kill-<group>-<sequence>`` holds how many more attempts at that
    entry must die; each dying attempt decrements it first (atomically), so
    ``1`` kills the first attempt only and a large number kills every attempt.
    Every attempt appends ``<pid>`` to ``control_dir/attempts-<group>-<sequence>``.
    A dying attempt first leaves half a parquet file under the temporary name an
    interrupted atomic write would leave, as if it died mid-write.
    """

    name = "kill-switch"

    class Params(Params):
        control_dir: str

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        self.run_root = str(run_root)  # travels to the workers with the pickled feature
        return True

    def _half_written(self, df: pl.DataFrame, group: str, sequence: str) -> None:
        out = Path(self.run_root) / group / f"{sequence}.parquet"
        tmp = temp_path(out)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        KernelSpeed().apply(df).write_parquet(tmp)
        with open(tmp, "r+b") as fh:
            fh.truncate(tmp.stat().st_size // 2)

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        g, s = df["group"][0], df["sequence"][0]
        control = Path(self.params.control_dir)
        with open(control / f"attempts-{g}-{s}", "a") as fh:
            fh.write(f"{os.getpid()}\n")
        switch = control / f"kill-{g}-{s}"
        if switch.exists():
            left = int(switch.read_text() or 0)
            if left > 0:
                tmp = switch.with_suffix(".tmp")
                tmp.write_text(str(left - 1))
                os.replace(tmp, switch)
                self._half_written(df, g, s)
                os.kill(os.getpid(), signal.SIGKILL)
        return KernelSpeed().apply(df)


class NoOp(_Base):
    """Keys only: measures per-entry overhead (read, write, record)."""

    name = "no-op"

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        return df.select(KEYS)


class FailOnce(_Base):
    """Speed, but ``apply`` raises on the first attempt at each listed entry.

    ``control_dir/fail-<group>-<sequence>`` marks an entry to fail; the first
    attempt removes the mark and raises, later attempts compute normally.
    """

    name = "fail-once"

    class Params(Params):
        control_dir: str

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        g, s = df["group"][0], df["sequence"][0]
        mark = Path(self.params.control_dir) / f"fail-{g}-{s}"
        try:
            mark.unlink()
        except FileNotFoundError:
            return KernelSpeed().apply(df)
        raise OSError(f"transient storage error on {g}/{s}")


class FittedCentre(_Base):
    """X minus the dataset-wide mean of X (fitted on the driver, saved in the run folder).

    Every unpickling appends ``<pid>`` to ``control_dir/unpickled``, so tests can
    count how often the fitted feature travelled to worker processes.
    """

    name = "fitted-centre"

    class Params(Params):
        control_dir: str

    def __init__(self, params=None, inputs=None):
        super().__init__(params, inputs)
        self.mean_x: float | None = None

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(Path(self.params.control_dir) / "unpickled", "a") as fh:
            fh.write(f"{os.getpid()}\n")

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        path = Path(run_root) / "state.json"
        if path.exists():
            self.mean_x = json.loads(path.read_text())["mean_x"]
            return True
        return False

    def fit(self, inputs):
        total, n = 0.0, 0
        for _key, df in inputs:
            x = df["X"].to_numpy()
            total += float(np.nansum(x))
            n += int(np.isfinite(x).sum())
        self.mean_x = total / n

    def save_state(self, run_root):
        (Path(run_root) / "state.json").write_text(json.dumps({"mean_x": self.mean_x}))

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        return df.select(*KEYS, (pl.col("X") - self.mean_x).alias("x_centered"))
