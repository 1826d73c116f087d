"""A small real feature for model tests: speed and angular speed with polars."""

from __future__ import annotations

import polars as pl

from moveo.io.behaviors import generate_behaviors
from moveo.labels import add_labels
from moveo.pipeline.types import Inputs, Params


class Kinematics:
    name = "test-kinematics"
    version = "0.1"
    parallelizable = True
    scope_dependent = False

    class Params(Params):
        fps: float = 30.0

    class Inputs(Inputs[str]):
        pass

    def __init__(self, params=None, inputs=None):
        self.params = self.Params.from_overrides(params)
        self.inputs = self.Inputs(("tracks",))

    def load_state(self, run_root, artifact_paths, dependency_lookups):
        return True

    def fit(self, inputs):
        return None

    def save_state(self, run_root):
        return None

    def apply(self, df):
        fps = self.params.fps
        dx = pl.col("X").diff().over("id")
        dy = pl.col("Y").diff().over("id")
        da = pl.col("ANGLE").diff().over("id")
        wrapped = (da + 3.141592653589793) % (2 * 3.141592653589793) - 3.141592653589793
        return df.select(
            "group",
            "sequence",
            "id",
            "frame",
            ((dx**2 + dy**2).sqrt() * fps).fill_null(float("nan")).alias("speed"),
            (wrapped.abs() * fps).fill_null(float("nan")).alias("angspeed"),
        )


def behaviour_dataset(ds, n_sequences=6, n_frames=600, seed=0):
    from moveo import run_feature

    tracks, labels = generate_behaviors(n_sequences=n_sequences, n_frames=n_frames, seed=seed)
    ds.add_tracks(tracks)
    add_labels(ds, "behavior", labels)
    return run_feature(ds, Kinematics())
