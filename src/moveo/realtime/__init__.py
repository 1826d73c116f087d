"""Realtime EMG prediction: acquisition, lock-free ring buffers, a fixed-rate predict loop.

Build a rig headless::

    app = App()
    app.add_stream("emg", LSLSource(type="EMG"), window_ms=200)
    pipeline = Pipeline(app, predict_hz=50.0)

    @pipeline.extract
    def extract(windows): ...          # {"emg": (n_channels, n_samples)} -> features

    @pipeline.train
    def train(data): ...               # TrainingData -> model

    @pipeline.predict
    def predict(model, features): ...  # -> dict, stored in pipeline.predictions

    app.run(duration=60)               # or app.run(mode="gui"): the rig window

The window (``pip install "moveo[gui]"``) draws the function registered with
``@app.ui`` every frame, built from :mod:`moveo.realtime.widgets` (the myogestic
seed's ``train_button``, ``predict_button``, ``pipeline_panel``, ... and the rig
panels), or, without one, every rig panel.

Public names: :class:`App`, :class:`Pipeline`, :class:`PipelineState`,
:class:`TrainingData`, :class:`RingBuffer`, :class:`Stream`, :class:`LSLSource`,
:class:`SyntheticSource`, :class:`ReplaySource`, :func:`save_pickle`,
:func:`load_pickle`. Imports are lazy: ``import moveo.realtime`` loads nothing
heavy until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "App": "moveo.realtime.app",
    "AppContext": "moveo.realtime.app",
    "PipelineState": "moveo.realtime.app",
    "Pipeline": "moveo.realtime.pipeline",
    "TrainingData": "moveo.realtime.training",
    "EMGExtract": "moveo.realtime.training",
    "RingBuffer": "moveo.realtime.ring",
    "Window": "moveo.realtime.ring",
    "Stream": "moveo.realtime.stream",
    "Source": "moveo.realtime.sources",
    "LSLSource": "moveo.realtime.sources",
    "SyntheticSource": "moveo.realtime.sources",
    "ReplaySource": "moveo.realtime.sources",
    "start_outlet_process": "moveo.realtime.sources",
    "Scheduler": "moveo.realtime.scheduler",
    "save_pickle": "moveo.realtime.persistence",
    "load_pickle": "moveo.realtime.persistence",
}

__all__ = [
    "App",
    "AppContext",
    "EMGExtract",
    "LSLSource",
    "Pipeline",
    "PipelineState",
    "ReplaySource",
    "RingBuffer",
    "Scheduler",
    "Source",
    "Stream",
    "SyntheticSource",
    "TrainingData",
    "Window",
    "load_pickle",
    "save_pickle",
    "start_outlet_process",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'moveo.realtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
