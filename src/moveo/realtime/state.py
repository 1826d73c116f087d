"""The realtime app's states (a module of its own so the widgets need not import the app)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PipelineState"]


class PipelineState(StrEnum):
    """What the app is doing; stored in ``app.ctx.state``.

    The states are mutually exclusive, with one exception: a recording may run
    while predicting (online evaluation); the state then stays ``predicting`` and
    :attr:`App.is_recording` is True. Because this is a ``StrEnum`` it compares
    equal to the plain strings (``ctx.state == "idle"``).

    Attributes
    ----------
    IDLE
        Streams run, nothing else.
    RECORDING
        A recording session is being written.
    TRAINING
        ``@pipeline.train`` runs on a worker thread; predict ticks do nothing.
    PREDICTING
        The predict thread calls extract + predict every tick and stores dict
        results in ``pipeline.predictions``.
    """

    IDLE = "idle"
    RECORDING = "recording"
    TRAINING = "training"
    PREDICTING = "predicting"
