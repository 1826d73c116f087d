"""Small real features used by the pipeline tests (importable by subprocesses).

Import as ``from unit.pipeline.pipeline_features import ...`` (``tests/`` is on
``sys.path``), so spawned worker processes can unpickle them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl

from moveo.pipeline.types import GroundTruthLabelsSource, Inputs, Params, Result, TrackInput

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


class StepLength(_Base):
    """Distance moved since the previous frame, per individual (NaN at the start)."""

    name = "step-length"

    class Params(Params):
        scale: float = 1.0
        sleep_s: float = 0.0
        log_calls: str | None = None

    def apply(self, df):
        if self.params.sleep_s:
            time.sleep(self.params.sleep_s)
        if self.params.log_calls:
            with open(self.params.log_calls, "a") as fh:
                fh.write(f"{df['group'][0]}/{df['sequence'][0]}\n")
        dx = pl.col("X").diff().over("id")
        dy = pl.col("Y").diff().over("id")
        return df.select(
            *KEYS, ((dx**2 + dy**2).sqrt() * self.params.scale).fill_null(np.nan).alias("step")
        )


class RollingMean(_Base):
    """Trailing mean of an upstream column over ``window`` frames (NaN until full)."""

    name = "rolling-mean"

    class Params(Params):
        column: str = "step"
        window: int = 3

    class Inputs(Inputs[Result]):
        pass

    def apply(self, df):
        col = self.params.column
        if col not in df.columns:
            raise ValueError(f"rolling-mean: column {col!r} missing; run step-length first")
        return df.select(
            *KEYS,
            pl.col(col)
            .rolling_mean(self.params.window, min_samples=self.params.window)
            .over("id")
            .fill_null(np.nan)
            .alias(f"{col}_mean"),
        )


class Weighted(_Base):
    """X times an upstream column: exercises joining tracks with a result."""

    name = "weighted"

    class Inputs(Inputs[TrackInput | Result]):
        pass

    def apply(self, df):
        return df.select(*KEYS, (pl.col("X") * pl.col("step")).alias("weighted"))


class Centered(_Base):
    """X minus the dataset-wide mean of X: a feature with fitted state."""

    name = "centered"
    parallelizable = True

    def __init__(self, params=None, inputs=None):
        super().__init__(params, inputs)
        self.mean_x: float | None = None
        self.fit_calls = 0

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        path = Path(run_root) / "state.json"
        if path.exists():
            self.mean_x = json.loads(path.read_text())["mean_x"]
            return True
        return False

    def fit(self, inputs):
        self.fit_calls += 1
        total = 0.0
        n = 0
        for _key, df in inputs:
            x = df["X"].to_numpy()
            total += float(np.nansum(x))
            n += int(np.isfinite(x).sum())
        self.mean_x = total / n

    def save_state(self, run_root):
        (Path(run_root) / "state.json").write_text(json.dumps({"mean_x": self.mean_x}))

    def apply(self, df):
        return df.select(*KEYS, (pl.col("X") - self.mean_x).alias("x_centered"))


class Flaky(_Base):
    """Raises for the sequences listed in params while a marker file exists."""

    name = "flaky"

    class Params(Params):
        fail_sequences: list[str] = []
        marker: str = ""
        log_calls: str | None = None

    def apply(self, df):
        seq = df["sequence"][0]
        if self.params.log_calls:
            with open(self.params.log_calls, "a") as fh:
                fh.write(f"{df['group'][0]}/{seq}\n")
        if seq in self.params.fail_sequences and os.path.exists(self.params.marker):
            raise ValueError(f"cannot handle sequence {seq}")
        return df.select(*KEYS, pl.col("X").alias("x_copy"))


class LabelJoin(_Base):
    """The ground-truth label of each row (null where unlabelled): a labels dependency."""

    name = "label-join"

    class Params(Params):
        labels: GroundTruthLabelsSource = GroundTruthLabelsSource()

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        self.lookup = dict(dependency_lookups["labels"])
        return True

    def apply(self, df):
        key = (df["group"][0], df["sequence"][0])
        path = self.lookup.get(key)
        if path is None:
            return df.select(*KEYS, pl.lit(None, dtype=pl.String).alias("label"))
        labels = self.params.labels.load_file(path)
        return df.select(*KEYS).join(
            labels.select("id", "frame", "label"), on=["id", "frame"], how="left",
            maintain_order="left",
        )


class NotPolars(_Base):
    name = "not-polars"

    def apply(self, df):
        return df.to_dict(as_series=False)


class ScopeCount(_Base):
    """A scope-dependent feature: its run id depends on the entries in scope."""

    name = "scope-count"
    scope_dependent = True
    seen: ClassVar[int] = 0

    def apply(self, df):
        return df.select(*KEYS, pl.lit(df.height).alias("n"))


def make_tracks(n_groups=2, n_sequences=3, n_ids=2, n_frames=50, seed=0, start_frames=None):
    """A small random-walk tracks table (group, sequence, id, frame, time, X, Y)."""
    rng = np.random.default_rng(seed)
    parts = []
    for g in range(n_groups):
        for s in range(n_sequences):
            start = 0 if start_frames is None else start_frames[s]
            for i in range(n_ids):
                frames = np.arange(start, start + n_frames)
                parts.append(
                    pl.DataFrame(
                        {
                            "group": f"g{g}",
                            "sequence": f"s{s}",
                            "id": np.full(n_frames, i),
                            "frame": frames,
                            "time": frames / 30.0,
                            "X": np.cumsum(rng.normal(size=n_frames)),
                            "Y": np.cumsum(rng.normal(size=n_frames)),
                        }
                    )
                )
    return pl.concat(parts)
