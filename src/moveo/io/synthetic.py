"""Deterministic synthetic tracking data with known ground truth.

Each generator returns one entry's long table (columns group, sequence, id,
frame, time, X, Y, ANGLE and optionally pose keypoints) whose kinematics are
known in closed form, so tests can state the expected numbers:

- :func:`circles`: individual ``i`` moves on a circle of radius ``radius[i]`` at
  angular velocity ``omega`` (rad/s): speed ``radius[i] * |omega|``, heading
  angular velocity ``omega``.
- :func:`constant_velocity`: straight lines at a known velocity.
- :func:`random_walk`: correlated random walks reflected inside a square arena.
- :func:`add_rigid_pose`: a rigid body of ``n_keypoints`` points on a line of
  length ``body_length`` along the heading (keypoint 0 = front, last = rear):
  chain length ``body_length``, pairwise distances known.
- :func:`add_gaps`: NaN gaps at chosen places.
- :func:`generate_dataset`: a whole dataset written entry by entry (memory is
  bounded by one entry, so tens of millions of rows are fine).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from moveo._numba import jit
from moveo.schema import COLUMNS, POSE, Columns, PoseConfig

__all__ = [
    "add_gaps",
    "add_rigid_pose",
    "circles",
    "constant_velocity",
    "generate_dataset",
    "random_walk",
    "rigid_body_distances",
    "wrap_angle",
]


def wrap_angle(a: np.ndarray | float) -> np.ndarray:
    """Wrap angles into (-π, π].

    Parameters
    ----------
    a : array_like
        Angles in radians.

    Returns
    -------
    numpy.ndarray
        Same shape as ``a``.
    """
    a = np.asarray(a, dtype=np.float64)
    out = np.mod(a + np.pi, 2.0 * np.pi) - np.pi
    return np.where(out == -np.pi, np.pi, out)


def _frame(
    ids: np.ndarray,
    frames: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    fps: float,
    group: str,
    sequence: str,
    columns: Columns,
) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            columns.id_col: ids.astype(np.int64),
            columns.frame_col: frames.astype(np.int64),
            columns.time_col: frames / float(fps),
            columns.x_col: x,
            columns.y_col: y,
            columns.orientation_col: angle,
        }
    )
    return df.select(
        pl.lit(group, dtype=pl.String).alias(columns.group_col),
        pl.lit(sequence, dtype=pl.String).alias(columns.seq_col),
        pl.all(),
    )


def circles(
    n_individuals: int = 2,
    n_frames: int = 100,
    *,
    fps: float = 30.0,
    radius: float | Sequence[float] = 10.0,
    omega: float = 1.0,
    center: tuple[float, float] = (0.0, 0.0),
    start_frame: int = 0,
    group: str = "g0",
    sequence: str = "s0",
    columns: Columns | None = None,
) -> pl.DataFrame:
    """Individuals moving on concentric circles at a constant angular velocity.

    Individual ``i`` starts at phase ``2π i / n_individuals`` on a circle of radius
    ``radius[i]`` and moves at ``omega`` rad/s. Its heading (``ANGLE``) is the
    direction of motion, so the heading's angular velocity is exactly ``omega``
    and the speed is ``radius[i] * |omega|``.

    Parameters
    ----------
    n_individuals, n_frames : int
        Table size: ``n_individuals * n_frames`` rows.
    fps : float
        Frames per second (``time = frame / fps``).
    radius : float or sequence of float
        One radius for all, or one per individual.
    omega : float
        Angular velocity in rad/s (sign gives the direction).
    center : (float, float)
        Circle centre.
    start_frame : int
        First frame number.
    group, sequence : str
        Entry names.
    columns : Columns, optional
        Output column names.

    Returns
    -------
    polars.DataFrame
        Sorted by (id, frame).
    """
    columns = columns or COLUMNS
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n_individuals,))
    frames = np.arange(start_frame, start_frame + n_frames, dtype=np.int64)
    t = frames / float(fps)
    ids = np.repeat(np.arange(n_individuals), n_frames)
    phase0 = 2.0 * np.pi * np.arange(n_individuals) / max(n_individuals, 1)
    theta = phase0[:, None] + omega * t[None, :]
    x = center[0] + radii[:, None] * np.cos(theta)
    y = center[1] + radii[:, None] * np.sin(theta)
    heading = wrap_angle(theta + np.sign(omega or 1.0) * np.pi / 2.0)
    return _frame(
        ids, np.tile(frames, n_individuals), x.ravel(), y.ravel(), heading.ravel(), fps,
        group, sequence, columns,
    )


def constant_velocity(
    n_individuals: int = 1,
    n_frames: int = 100,
    *,
    fps: float = 30.0,
    velocity: tuple[float, float] = (3.0, 4.0),
    spacing: float = 10.0,
    start_frame: int = 0,
    group: str = "g0",
    sequence: str = "s0",
    columns: Columns | None = None,
) -> pl.DataFrame:
    """Individuals moving in straight lines at a known velocity.

    Individual ``i`` starts at ``(0, i * spacing)``; all move at ``velocity``
    units/s, so the speed is ``hypot(*velocity)`` and the heading is constant.

    Parameters
    ----------
    n_individuals, n_frames : int
        Table size.
    fps : float
        Frames per second.
    velocity : (float, float)
        Velocity in units per second.
    spacing : float
        Distance between neighbouring individuals (along Y).
    start_frame : int
        First frame number.
    group, sequence : str
        Entry names.
    columns : Columns, optional
        Output column names.

    Returns
    -------
    polars.DataFrame
    """
    columns = columns or COLUMNS
    frames = np.arange(start_frame, start_frame + n_frames, dtype=np.int64)
    t = frames / float(fps)
    ids = np.repeat(np.arange(n_individuals), n_frames)
    x = np.tile(velocity[0] * t, n_individuals)
    y = (np.arange(n_individuals)[:, None] * spacing + velocity[1] * t[None, :]).ravel()
    heading = np.full(ids.size, float(np.arctan2(velocity[1], velocity[0])))
    return _frame(
        ids, np.tile(frames, n_individuals), x, y, heading, fps, group, sequence, columns
    )


def random_walk(
    n_individuals: int = 4,
    n_frames: int = 1000,
    *,
    fps: float = 30.0,
    arena: float = 100.0,
    speed: float = 5.0,
    turn_std: float = 0.3,
    seed: int = 0,
    start_frame: int = 0,
    group: str = "g0",
    sequence: str = "s0",
    columns: Columns | None = None,
) -> pl.DataFrame:
    """Correlated random walks inside a square arena ``[0, arena]²``.

    Each individual moves with a speed drawn around ``speed`` (units/s) and turns
    by a normal angle (``turn_std`` rad per frame); walls reflect the heading.

    Parameters
    ----------
    n_individuals, n_frames : int
        Table size.
    fps : float
        Frames per second.
    arena : float
        Arena side length.
    speed : float
        Mean speed in units per second.
    turn_std : float
        Standard deviation of the per-frame turn, radians.
    seed : int
        Random seed (the output is deterministic for a seed).
    start_frame : int
        First frame number.
    group, sequence : str
        Entry names.
    columns : Columns, optional
        Output column names.

    Returns
    -------
    polars.DataFrame
    """
    columns = columns or COLUMNS
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.1 * arena, 0.9 * arena, size=(n_individuals, 2))
    ang = rng.uniform(-np.pi, np.pi, size=n_individuals)
    spd = np.abs(rng.normal(speed, 0.2 * speed, size=n_individuals))
    turns = rng.normal(0.0, turn_std, size=(n_individuals, n_frames))
    x, y, heading = _walk(pos, ang, spd, turns, 1.0 / float(fps), float(arena))
    frames = np.arange(start_frame, start_frame + n_frames, dtype=np.int64)
    ids = np.repeat(np.arange(n_individuals), n_frames)
    return _frame(
        ids, np.tile(frames, n_individuals), x.ravel(), y.ravel(), heading.ravel(), fps,
        group, sequence, columns,
    )


@jit
def _walk(pos, ang, spd, turns, dt, arena):  # pragma: no cover - compiled
    n_ind, n_frames = turns.shape
    x = np.empty((n_ind, n_frames))
    y = np.empty((n_ind, n_frames))
    heading = np.empty((n_ind, n_frames))
    for i in range(n_ind):
        px, py, a = pos[i, 0], pos[i, 1], ang[i]
        for k in range(n_frames):
            if k:
                a += turns[i, k]
                sx = spd[i] * np.cos(a) * dt
                sy = spd[i] * np.sin(a) * dt
                nx, ny = px + sx, py + sy
                # reflect the heading at walls and stay inside the arena
                if nx < 0.0 or nx > arena:
                    a = np.pi - a
                else:
                    px = nx
                if ny < 0.0 or ny > arena:
                    a = -a
                else:
                    py = ny
            # wrap into (-pi, pi]
            w = (a + np.pi) % (2.0 * np.pi) - np.pi
            if w == -np.pi:
                w = np.pi
            a = w
            x[i, k] = px
            y[i, k] = py
            heading[i, k] = w
    return x, y, heading


def add_rigid_pose(
    df: pl.DataFrame,
    *,
    body_length: float = 4.0,
    n_keypoints: int = 7,
    columns: Columns | None = None,
    pose: PoseConfig | None = None,
) -> pl.DataFrame:
    """Add keypoints of a rigid straight body centred on (X, Y) along ANGLE.

    Keypoint 0 is the front (``+body_length/2`` along the heading), the last
    keypoint is the rear; they are evenly spaced, so the chain length is exactly
    ``body_length`` and keypoint ``j`` is ``|i - j| * body_length / (n - 1)`` away
    from keypoint ``i`` (see :func:`rigid_body_distances`). NaN positions give NaN
    keypoints.

    Parameters
    ----------
    df : polars.DataFrame
        Table with X, Y and ANGLE columns.
    body_length : float
        Front-to-rear length.
    n_keypoints : int
        Number of keypoints (≥ 2).
    columns : Columns, optional
        Column names of ``df``.
    pose : PoseConfig, optional
        Pose column prefixes.

    Returns
    -------
    polars.DataFrame
        ``df`` with ``poseX0..``, ``poseY0..`` added.
    """
    columns = columns or COLUMNS
    pose = pose or POSE
    if n_keypoints < 2:
        raise ValueError(f"n_keypoints must be at least 2, got {n_keypoints}")
    x = df[columns.x_col].to_numpy()
    y = df[columns.y_col].to_numpy()
    a = df[columns.orientation_col].to_numpy()
    offsets = body_length * (0.5 - np.arange(n_keypoints) / (n_keypoints - 1))
    cos, sin = np.cos(a), np.sin(a)
    new = {}
    for k, off in enumerate(offsets):
        new[f"{pose.x_prefix}{k}"] = x + off * cos
        new[f"{pose.y_prefix}{k}"] = y + off * sin
    return df.with_columns(**new)


def rigid_body_distances(body_length: float = 4.0, n_keypoints: int = 7) -> np.ndarray:
    """Pairwise keypoint distances of :func:`add_rigid_pose`'s body.

    Parameters
    ----------
    body_length : float
        Front-to-rear length.
    n_keypoints : int
        Number of keypoints.

    Returns
    -------
    numpy.ndarray
        Shape (n_pairs,), the distances of all pairs ``i < j`` (so
        ``np.median(...)`` is the body's median pairwise distance).
    """
    step = body_length / (n_keypoints - 1)
    i, j = np.triu_indices(n_keypoints, k=1)
    return (j - i) * step


def add_gaps(
    df: pl.DataFrame,
    gaps: Iterable[tuple[int, int, int]],
    *,
    columns: Columns | None = None,
    data_columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Set data columns to NaN for chosen individuals and frame ranges.

    Parameters
    ----------
    df : polars.DataFrame
        Input table.
    gaps : iterable of (id, start_frame, end_frame)
        NaN for ``start_frame <= frame < end_frame`` of individual ``id``.
    columns : Columns, optional
        Column names of ``df``.
    data_columns : sequence of str, optional
        Columns to blank (default: every float column except time).

    Returns
    -------
    polars.DataFrame
    """
    columns = columns or COLUMNS
    if data_columns is None:
        data_columns = [
            c for c, dt in df.schema.items() if dt.is_float() and c != columns.time_col
        ]
    ids = df[columns.id_col].to_numpy()
    frames = df[columns.frame_col].to_numpy()
    mask = np.zeros(df.height, dtype=bool)
    for ident, start, end in gaps:
        mask |= (ids == ident) & (frames >= start) & (frames < end)
    return df.with_columns(
        [
            pl.Series(c, np.where(mask, np.nan, df[c].to_numpy()), dtype=df.schema[c])
            for c in data_columns
        ]
    )


def generate_dataset(
    root: str | Path,
    *,
    n_groups: int = 2,
    n_sequences: int = 2,
    n_individuals: int = 4,
    n_frames: int = 1000,
    fps: float = 30.0,
    motion: str = "random_walk",
    pose: bool = True,
    n_keypoints: int = 7,
    body_length: float = 4.0,
    gap_fraction: float = 0.0,
    seed: int = 0,
    exist_ok: bool = False,
    progress: bool = False,
):
    """Write a whole synthetic dataset, one entry at a time.

    Parameters
    ----------
    root : str or Path
        Dataset folder (created).
    n_groups, n_sequences, n_individuals, n_frames : int
        Shape: ``n_groups * n_sequences`` entries of ``n_individuals * n_frames`` rows.
    fps : float
        Frames per second.
    motion : {"random_walk", "circles", "constant_velocity"}
        Motion model.
    pose : bool
        Add a rigid ``n_keypoints`` body of ``body_length``.
    n_keypoints : int
        Keypoints per body.
    body_length : float
        Body length.
    gap_fraction : float
        Approximate fraction of rows turned into NaN gaps (runs of 1 to 30 frames).
    seed : int
        Random seed.
    exist_ok : bool
        Reuse an existing dataset at ``root`` (entries that exist are left alone).
    progress : bool
        Show a progress bar.

    Returns
    -------
    moveo.Dataset
    """
    from moveo.dataset import Dataset

    pose_cfg = PoseConfig(pose_n=n_keypoints if pose else 0)
    ds = Dataset.create(root, fps=fps, pose=pose_cfg, exist_ok=exist_ok)
    rng = np.random.default_rng(seed)
    keys = [(f"g{g}", f"s{s}") for g in range(n_groups) for s in range(n_sequences)]
    iterator = keys
    if progress:
        from rich.progress import track

        iterator = track(keys, description="generating entries")
    for k, (g, s) in enumerate(iterator):
        entry_seed = int(rng.integers(0, 2**31 - 1)) + k
        if ds.has_entry(g, s):
            continue
        if motion == "random_walk":
            df = random_walk(n_individuals, n_frames, fps=fps, seed=entry_seed, group=g, sequence=s)
        elif motion == "circles":
            df = circles(n_individuals, n_frames, fps=fps, radius=10.0 + np.arange(n_individuals),
                         group=g, sequence=s)
        elif motion == "constant_velocity":
            df = constant_velocity(n_individuals, n_frames, fps=fps, group=g, sequence=s)
        else:
            raise ValueError(
                f"motion must be 'random_walk', 'circles' or 'constant_velocity', got {motion!r}"
            )
        if pose:
            df = add_rigid_pose(df, body_length=body_length, n_keypoints=n_keypoints,
                                pose=pose_cfg)
        if gap_fraction > 0:
            grng = np.random.default_rng(entry_seed)
            n_gaps = max(1, int(gap_fraction * n_individuals * n_frames / 15))
            gaps = [
                (int(grng.integers(n_individuals)), int(start), int(start + grng.integers(1, 31)))
                for start in grng.integers(0, n_frames, size=n_gaps)
            ]
            df = add_gaps(df, gaps)
        ds.add_tracks(df)
    return ds
