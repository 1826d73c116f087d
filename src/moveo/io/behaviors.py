"""Synthetic tracking data with known behaviours, generated from kinematics.

Each individual switches between four behaviours in bouts of random length;
its motion in each bout follows the behaviour's kinematics, so the label of
every frame is known exactly:

============  ==============================================================
behaviour     kinematics (per second, with small Gaussian noise)
============  ==============================================================
resting       speed ≈ 0.3, heading nearly constant
cruising      speed ≈ 10, straight line (heading drift ≈ 0)
turning       speed ≈ 3, heading turns at ≈ ±2.5 rad/s
approaching   speed ≈ 6, heading steered towards the nearest other
              individual, so the distance to it shrinks
============  ==============================================================

An approach bout ends early (switching to resting) when the individual gets
within ``contact_distance`` of its target. Behaviours are separable from speed,
angular velocity and neighbour distance features, which is what the model
tests rely on.

Examples
--------
>>> tracks, labels = generate_behaviors(n_sequences=1, n_frames=60, seed=1)
>>> tracks.columns
['group', 'sequence', 'id', 'frame', 'time', 'X', 'Y', 'ANGLE']
>>> labels.columns
['group', 'sequence', 'id', 'frame', 'label']
>>> sorted(set(labels["label"])) <= list(BEHAVIORS)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from moveo.schema import COLUMNS, Columns

__all__ = ["BEHAVIORS", "KINEMATICS", "behavior_entry", "generate_behaviors"]

BEHAVIORS: tuple[str, ...] = ("resting", "cruising", "turning", "approaching")
"""Behaviour names, in class-index order."""

KINEMATICS: dict[str, dict[str, float]] = {
    "resting": {"speed": 0.3, "speed_sd": 0.1, "turn": 0.0, "turn_sd": 0.1},
    "cruising": {"speed": 10.0, "speed_sd": 0.6, "turn": 0.0, "turn_sd": 0.1},
    "turning": {"speed": 3.0, "speed_sd": 0.4, "turn": 2.5, "turn_sd": 0.3},
    "approaching": {"speed": 6.0, "speed_sd": 0.4, "turn": 0.0, "turn_sd": 0.1},
}
"""Mean speed (units/s), its noise, angular speed (rad/s) and its noise per behaviour."""


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def behavior_entry(
    n_individuals: int = 2,
    n_frames: int = 900,
    *,
    fps: float = 30.0,
    bout_seconds: tuple[float, float] = (1.0, 3.0),
    arena: float = 60.0,
    contact_distance: float = 3.0,
    behaviors: Sequence[str] = BEHAVIORS,
    seed: int = 0,
    group: str = "g0",
    sequence: str = "s0",
    columns: Columns | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate one entry: tracks plus the true per-frame behaviour labels.

    Parameters
    ----------
    n_individuals : int, default 2
        Individuals in the entry (approaching needs at least 2).
    n_frames : int, default 900
        Frames per individual.
    fps : float, default 30.0
        Frames per second.
    bout_seconds : (float, float), default (1.0, 3.0)
        Bout durations are uniform in this range (seconds).
    arena : float, default 60.0
        Individuals start uniformly in ``[-arena/2, arena/2]^2``.
    contact_distance : float, default 3.0
        An approach ends when the target is this close.
    behaviors : sequence of str, default :data:`BEHAVIORS`
        Behaviours to draw bouts from (a subset of :data:`BEHAVIORS`).
    seed : int, default 0
        Random seed (the output is a pure function of the arguments).
    group, sequence : str
        Entry names written into the group/sequence columns.
    columns : Columns, optional
        Column names (default :data:`moveo.schema.COLUMNS`).

    Returns
    -------
    tracks : polars.DataFrame
        ``n_individuals * n_frames`` rows sorted by (id, frame): group, sequence,
        id, frame, time, X, Y, ANGLE (heading, radians).
    labels : polars.DataFrame
        Same rows: group, sequence, id, frame, label (behaviour name).

    Raises
    ------
    ValueError
        Unknown behaviour names, ``approaching`` with one individual, or
        non-positive sizes.
    """
    c = columns or COLUMNS
    unknown = [b for b in behaviors if b not in KINEMATICS]
    if unknown:
        raise ValueError(f"unknown behaviours {unknown}; choose from {list(BEHAVIORS)}")
    if not behaviors:
        raise ValueError("behaviors is empty: give at least one behaviour")
    if n_individuals < 1 or n_frames < 1 or fps <= 0:
        raise ValueError(
            f"need n_individuals >= 1, n_frames >= 1 and fps > 0; got {n_individuals}, "
            f"{n_frames}, {fps}"
        )
    if "approaching" in behaviors and n_individuals < 2:
        raise ValueError("'approaching' needs at least 2 individuals (n_individuals=1)")
    lo, hi = bout_seconds
    if not 0 < lo <= hi:
        raise ValueError(f"bout_seconds must satisfy 0 < low <= high, got {bout_seconds}")
    rng = np.random.default_rng(seed)
    dt = 1.0 / fps
    n = n_individuals
    pos = rng.uniform(-arena / 2, arena / 2, size=(n, 2))
    heading = rng.uniform(-math.pi, math.pi, size=n)
    choices = list(behaviors)
    current = [choices[int(rng.integers(len(choices)))] for _ in range(n)]
    remaining = [int(rng.uniform(lo, hi) * fps) for _ in range(n)]
    turn_sign = rng.choice([-1.0, 1.0], size=n)
    xs = np.empty((n, n_frames))
    ys = np.empty((n, n_frames))
    angles = np.empty((n, n_frames))
    labels = np.empty((n, n_frames), dtype=object)
    for f in range(n_frames):
        for i in range(n):
            if remaining[i] <= 0:
                current[i] = choices[int(rng.integers(len(choices)))]
                remaining[i] = max(1, int(rng.uniform(lo, hi) * fps))
                turn_sign[i] = rng.choice([-1.0, 1.0])
            beh = current[i]
            k = KINEMATICS[beh]
            if beh == "approaching":
                others = [j for j in range(n) if j != i]
                d = [math.dist(pos[i], pos[j]) for j in others]
                target = others[int(np.argmin(d))]
                if min(d) <= contact_distance:
                    # reached the target: the bout ends, the individual rests
                    current[i] = beh = "resting"
                    k = KINEMATICS[beh]
                else:
                    want = math.atan2(pos[target, 1] - pos[i, 1], pos[target, 0] - pos[i, 0])
                    # steer most of the way towards the target each frame
                    heading[i] = _wrap(heading[i] + 0.5 * _wrap(want - heading[i]))
            if beh != "approaching":
                omega = turn_sign[i] * k["turn"] + rng.normal(0.0, k["turn_sd"])
                heading[i] = _wrap(heading[i] + omega * dt)
            speed = max(0.0, k["speed"] + rng.normal(0.0, k["speed_sd"]))
            pos[i, 0] += speed * dt * math.cos(heading[i])
            pos[i, 1] += speed * dt * math.sin(heading[i])
            xs[i, f] = pos[i, 0]
            ys[i, f] = pos[i, 1]
            angles[i, f] = heading[i]
            labels[i, f] = beh
            remaining[i] -= 1
    ids = np.repeat(np.arange(n, dtype=np.int64), n_frames)
    frames = np.tile(np.arange(n_frames, dtype=np.int64), n)
    head = [
        pl.lit(group, dtype=pl.String).alias(c.group_col),
        pl.lit(sequence, dtype=pl.String).alias(c.seq_col),
    ]
    tracks = pl.DataFrame(
        {
            c.id_col: ids,
            c.frame_col: frames,
            c.time_col: frames / float(fps),
            c.x_col: xs.ravel(),
            c.y_col: ys.ravel(),
            c.orientation_col: angles.ravel(),
        }
    ).select(*head, pl.all())
    label_df = pl.DataFrame(
        {c.id_col: ids, c.frame_col: frames, "label": labels.ravel().astype(str)},
        schema={c.id_col: pl.Int64, c.frame_col: pl.Int64, "label": pl.String},
    ).select(*head, pl.all())
    return tracks, label_df


def generate_behaviors(
    n_groups: int = 1,
    n_sequences: int = 4,
    n_individuals: int = 2,
    n_frames: int = 900,
    *,
    fps: float = 30.0,
    seed: int = 0,
    **kwargs: object,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate several entries with known behaviours.

    Entries are named ``g{i}`` / ``s{j}``; each gets its own seed derived from
    ``seed``.

    Parameters
    ----------
    n_groups, n_sequences : int
        Shape of the dataset: ``n_groups * n_sequences`` entries.
    n_individuals, n_frames : int
        Per entry.
    fps : float, default 30.0
        Frames per second.
    seed : int, default 0
        Random seed.
    **kwargs
        Passed to :func:`behavior_entry` (``bout_seconds``, ``behaviors``, ...).

    Returns
    -------
    tracks : polars.DataFrame
        All entries' tracks, ready for :meth:`moveo.Dataset.add_tracks`.
    labels : polars.DataFrame
        group, sequence, id, frame, label, ready for :func:`moveo.labels.add_labels`.
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_groups * n_sequences)
    tracks, labels = [], []
    k = 0
    for g in range(n_groups):
        for s in range(n_sequences):
            t, lab = behavior_entry(
                n_individuals,
                n_frames,
                fps=fps,
                seed=int(seeds[k]),
                group=f"g{g}",
                sequence=f"s{s}",
                **kwargs,  # type: ignore[arg-type]
            )
            tracks.append(t)
            labels.append(lab)
            k += 1
    return pl.concat(tracks), pl.concat(labels)
