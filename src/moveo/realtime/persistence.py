"""Saving and loading models: joblib pickles with a JSON sidecar that is checked on load.

.. warning::
   A pickle runs code when it is loaded. Only load model files you created or
   trust. The sidecar's sha256 detects a file changed after saving; it does not
   make an untrusted file safe.

The sidecar ``<model file>.json`` records the sha256 of the model file and what
the model expects of the live streams: channel count, sampling rate, window
length, feature list and class names. :func:`load_pickle` refuses a file whose
hash changed, or whose expectations differ from the running pipeline, unless
``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib

from moveo._fs import temp_path

__all__ = ["ModelMismatchError", "load_pickle", "read_sidecar", "save_pickle", "sidecar_path"]

SIDECAR_VERSION = 1


class ModelMismatchError(ValueError):
    """A saved model does not match its file hash or the running streams."""


def sidecar_path(path: str | Path) -> Path:
    """Return the sidecar path of a model file (``<path>.json``).

    Parameters
    ----------
    path : str or Path
        Model file.

    Returns
    -------
    Path
    """
    p = Path(path)
    return p.with_name(p.name + ".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pipeline_meta(pipeline: Any) -> dict[str, Any]:
    streams = pipeline.app.streams
    if len(streams) != 1:
        meta: dict[str, Any] = {
            "streams": {
                n: {"n_channels": s.n_channels, "fs": s.fs, "window_ms": s.window_ms}
                for n, s in streams.items()
            }
        }
    else:
        s = next(iter(streams.values()))
        meta = {"n_channels": s.n_channels, "fs": s.fs, "window_ms": s.window_ms}
    extract = pipeline.extract_function()
    feats = getattr(extract, "features", None)
    if feats is not None:
        meta["features"] = [feats] if isinstance(feats, str) else list(feats)
    return meta


def save_pickle(
    model: Any,
    path: str | Path,
    *,
    pipeline: Any = None,
    n_channels: int | None = None,
    fs: float | None = None,
    window_ms: float | None = None,
    features: Sequence[str] | str | None = None,
    class_names: Sequence[str] | None = None,
) -> str:
    """Save ``model`` with joblib and write the JSON sidecar next to it.

    Parent folders are created. The expectations come from ``pipeline`` (its
    streams and extract function) and/or the explicit arguments.

    Parameters
    ----------
    model : Any
        Any picklable object.
    path : str or Path
        Model file.
    pipeline : Pipeline, optional
        Fill channel count, rate, window and features from the running pipeline.
    n_channels : int, optional
        Channels the model expects.
    fs : float, optional
        Sampling rate in Hz.
    window_ms : float, optional
        Window length in milliseconds.
    features : str or sequence of str, optional
        Feature codes / groups.
    class_names : sequence of str, optional
        Class names.

    Returns
    -------
    str
        The model path.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {} if pipeline is None else _pipeline_meta(pipeline)
    for key, value in (("n_channels", n_channels), ("fs", fs), ("window_ms", window_ms)):
        if value is not None:
            meta[key] = value
    if features is not None:
        meta["features"] = [features] if isinstance(features, str) else list(features)
    if class_names is not None:
        meta["class_names"] = [str(c) for c in class_names]
    tmp = temp_path(p)
    try:
        joblib.dump(model, str(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar = {
        "sidecar_version": SIDECAR_VERSION,
        "file": p.name,
        "sha256": _sha256(p),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
        **meta,
    }
    from moveo._fs import atomic_write_bytes

    atomic_write_bytes(json.dumps(sidecar, indent=2).encode(), sidecar_path(p))
    return str(p)


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """Read a model file's sidecar.

    Parameters
    ----------
    path : str or Path
        Model file (not the sidecar).

    Returns
    -------
    dict
    """
    side = sidecar_path(path)
    if not side.exists():
        raise FileNotFoundError(
            f"no sidecar {side} next to the model: it cannot be verified; save models with "
            "moveo.realtime.save_pickle, or pass force=True if you trust the file"
        )
    return json.loads(side.read_text())


def _compare(expected: dict[str, Any], actual: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key in ("n_channels", "fs", "window_ms"):
        if key in expected and key in actual:
            a, b = expected[key], actual[key]
            same = math.isclose(float(a), float(b), rel_tol=1e-9) if key != "n_channels" \
                else int(a) == int(b)
            if not same:
                problems.append(f"{where}{key}: model expects {a}, running {b}")
    return problems


def load_pickle(path: str | Path, *, pipeline: Any = None, force: bool = False) -> Any:
    """Load a model saved by :func:`save_pickle`, after checking its sidecar.

    .. warning:: Loading a pickle runs code from the file: only load files you trust.

    Parameters
    ----------
    path : str or Path
        Model file.
    pipeline : Pipeline, optional
        Check the model's expectations against this pipeline's streams.
    force : bool, default False
        Load even if the sidecar is missing, the file changed since it was saved,
        or the expectations differ (a warning is logged instead).

    Returns
    -------
    Any
        The model.

    Raises
    ------
    ModelMismatchError
        File hash or expectations differ (and ``force`` is False).
    FileNotFoundError
        The model file, or its sidecar (without ``force``), does not exist.
    """
    from moveo.realtime._util import logger

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"model file {p} does not exist")
    problems: list[str] = []
    try:
        side = read_sidecar(p)
    except FileNotFoundError:
        if not force:
            raise
        side = {}
        problems.append("no sidecar")
    if side:
        digest = _sha256(p)
        if digest != side.get("sha256"):
            problems.append(
                f"the file changed since it was saved (sha256 {digest[:12]}... != "
                f"{str(side.get('sha256'))[:12]}...)"
            )
        if pipeline is not None:
            running = _pipeline_meta(pipeline)
            if "streams" in side or "streams" in running:
                exp_streams = side.get("streams", {})
                run_streams = running.get("streams", {})
                if set(exp_streams) != set(run_streams):
                    problems.append(
                        f"model streams {sorted(exp_streams)} != running {sorted(run_streams)}"
                    )
                for name in set(exp_streams) & set(run_streams):
                    problems += _compare(exp_streams[name], run_streams[name], f"{name}.")
            else:
                problems += _compare(side, running, "")
            if "features" in side and "features" in running \
                    and list(side["features"]) != list(running["features"]):
                problems.append(
                    f"features: model expects {side['features']}, running {running['features']}"
                )
    if problems:
        message = f"model {p} does not match: " + "; ".join(problems)
        if not force:
            raise ModelMismatchError(message + " (pass force=True to load anyway)")
        logger.warning("%s; loading anyway (force=True)", message)
    return joblib.load(str(p))
