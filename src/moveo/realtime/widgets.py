"""Dear ImGui widgets for a rig: the myogestic seed's six, plus recording, streams, views.

Call them every frame from an ``@app.ui`` function (or any imgui frame). The six
widgets of the myogestic seed keep its signatures, enable/disable rules, status
messages and widget IDs:

* :func:`train_button`, :func:`predict_button`, :func:`training_log`,
  :func:`save_model_button`, :func:`load_model_button`, :func:`pipeline_panel`.

The rig panels in the same style:

* :func:`recording_controls` -- start/stop a recording, cue buttons bound to
  ``app.label``;
* :func:`stream_panel` -- status, rate, lost samples, reconnects of a stream;
* :func:`signal_view` -- every channel of a stream, min/max per pixel column;
* :func:`stats_panel` -- the predict loop's rate, lateness, latency, errors;
* :func:`prediction_view` -- class probabilities or regression outputs over time;
* :func:`status_bar`, :func:`panel_header` and :func:`rig_layout` (all of the
  above in one window, what ``app.run(mode="gui")`` shows without ``@app.ui``).

The widgets only read the realtime side (ring buffers, counters, the latest
prediction) and call the same transition methods a script would
(``pipeline.start_predicting()``, ``app.start_recording(...)``, ...); nothing in
them waits for the acquisition or predict threads.

Needs the GUI extra: ``pip install "moveo[gui]"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    from imgui_bundle import icons_fontawesome_6 as fa
    from imgui_bundle import imgui, implot
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "moveo.realtime.widgets needs the GUI extra: pip install 'moveo[gui]' "
        f"(imgui-bundle is missing: {exc})"
    ) from exc

from moveo.realtime._util import clock
from moveo.realtime.display import PredictionHistory, RateMeter, SignalEnvelope
from moveo.realtime.state import PipelineState
from moveo.realtime.stream import Stream, StreamStatus

if TYPE_CHECKING:  # the app opens the window that draws these: no runtime import back
    from moveo.realtime.app import App
    from moveo.realtime.pipeline import Pipeline

__all__ = [
    "load_model_button",
    "panel_header",
    "pipeline_panel",
    "predict_button",
    "prediction_view",
    "recording_controls",
    "rig_layout",
    "save_model_button",
    "signal_view",
    "stats_panel",
    "status_bar",
    "stream_panel",
    "train_button",
    "training_log",
]

# Labels (icon + text + the seed's widget IDs); tests click items by these.
TRAIN_LABEL = f"{fa.ICON_FA_GEARS}  Train##ml_train"
PREDICT_LABEL = f"{fa.ICON_FA_PLAY}  Predict##ml_pred"
STOP_PREDICT_LABEL = f"{fa.ICON_FA_STOP}  Predict##ml_pred"
SAVE_LABEL = f"{fa.ICON_FA_FLOPPY_DISK}  Save##ml_save"
LOAD_LABEL = f"{fa.ICON_FA_FOLDER_OPEN}  Load##ml_load"
LOG_POPOUT_TITLE = "Model training log"

_GREEN = imgui.ImVec4(0.30, 0.80, 0.40, 1.0)
_YELLOW = imgui.ImVec4(0.95, 0.75, 0.25, 1.0)
_RED = imgui.ImVec4(0.95, 0.35, 0.30, 1.0)
_GREY = imgui.ImVec4(0.60, 0.60, 0.60, 1.0)

# Per-widget GUI state (which toggles are on, what a view has read so far), keyed by
# widget id: owned by the GUI thread, never touched by the realtime threads.
_autoscroll: dict[str, bool] = {}
_popout_open: dict[str, bool] = {}
_log_follow: dict[str, tuple[int, bool]] = {}
_recording: dict[str, dict[str, str]] = {}
_views: dict[Any, Any] = {}
_textures: Any = None


def reset_state() -> None:
    """Forget every widget's GUI state (toggles, text fields, view buffers).

    The window runner calls it when a window opens, so a new window starts from
    the widgets' defaults.
    """
    for store in (_autoscroll, _popout_open, _log_follow, _recording, _views):
        store.clear()


def set_texture_uploader(uploader: Any) -> None:
    """Install how :func:`signal_view` turns an RGBA image into a texture.

    The window of ``app.run(mode="gui")`` installs an OpenGL uploader (an object
    with ``upload(key, rgba) -> imgui.ImTextureRef``). Without one (another imgui
    host, a test context) the signal view draws the same envelopes with ImPlot
    shaded plots instead.

    Parameters
    ----------
    uploader : object or None
        ``upload(key, rgba)`` taking a hashable key and a ``(height, width, 4)``
        uint8 array.
    """
    global _textures
    _textures = uploader


def _check(obj: Any, cls: type | str, name: str) -> None:
    # App and Pipeline by name (this module must not import them at run time)
    kind = cls if isinstance(cls, str) else cls.__name__
    ok = any(
        c.__name__ == kind and c.__module__.startswith("moveo.realtime")
        for c in type(obj).__mro__
    )
    if not ok:
        raise TypeError(f"{name} must be a moveo.realtime.{kind}, got {type(obj).__name__}")


def _size(size: tuple[float, float], name: str = "size") -> imgui.ImVec2:
    try:
        w, h = size
        return imgui.ImVec2(float(w), float(h))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a (width, height) pair, got {size!r}") from None


def _disabled_button(label: str, size: imgui.ImVec2) -> None:
    imgui.begin_disabled()
    imgui.button(label, size)
    imgui.end_disabled()


# ---------------------------------------------------------------------------- seed widgets
def panel_header(title: str, icon: str | None = None) -> None:
    """Draw a panel's title line: muted capitals, an optional Font Awesome icon.

    Parameters
    ----------
    title : str
        Title (shown in capitals).
    icon : str, optional
        An ``imgui_bundle.icons_fontawesome_6`` glyph.
    """
    imgui.spacing()
    text = f"{icon}  {title.upper()}" if icon else title.upper()
    imgui.text_disabled(text)
    imgui.separator()


def train_button(pipeline: Pipeline, size: tuple[float, float] = (80, 0)) -> None:
    """Draw a Train button that calls :meth:`Pipeline.start_training` on click.

    Always enabled, as in the seed: a click in a state that cannot train leaves
    the reason in ``ctx.status_message`` ("Cannot start training: ...", "No train
    callback set ...", "No training data ...").

    Parameters
    ----------
    pipeline : Pipeline
    size : (float, float), default (80, 0)
        Button size in pixels (0: fit the label).
    """
    _check(pipeline, "Pipeline", "pipeline")
    if imgui.button(TRAIN_LABEL, _size(size)):
        pipeline.start_training()


def predict_button(pipeline: Pipeline, size: tuple[float, float] = (92, 0)) -> None:
    """Draw a Predict/Stop toggle button reflecting the pipeline's predict state.

    Enabled to start only when the state is ``idle``, a model is loaded, and both
    the extract and predict callbacks are registered (``@pipeline.extract`` and
    ``@pipeline.predict``; a model alone, e.g. just loaded, is not enough); shows a
    Stop button (:meth:`Pipeline.stop_predicting`) while predicting and is
    disabled otherwise.

    Parameters
    ----------
    pipeline : Pipeline
    size : (float, float), default (92, 0)
        Button size in pixels.
    """
    _check(pipeline, "Pipeline", "pipeline")
    state = pipeline.app.ctx.state
    vec = _size(size)
    can_start = (
        state == PipelineState.IDLE
        and pipeline.model is not None
        and pipeline.on_extract is not None
        and pipeline.on_predict is not None
    )
    if can_start:
        if imgui.button(PREDICT_LABEL, vec):
            pipeline.start_predicting()
    elif state == PipelineState.PREDICTING:
        if imgui.button(STOP_PREDICT_LABEL, vec):
            pipeline.stop_predicting()
    else:
        _disabled_button(PREDICT_LABEL, vec)


def _render_log(widget_id: str, lines: Sequence[str], height: float, autoscroll: bool) -> None:
    """Draw ``lines`` in a scrolling child window that follows the tail at the bottom."""
    snapshot = list(lines)  # the trainer thread appends; read one consistent list
    imgui.begin_child(f"##{widget_id}_log", imgui.ImVec2(-1, height),
                      imgui.ChildFlags_.borders, imgui.WindowFlags_.horizontal_scrollbar)
    seen, at_bottom = _log_follow.get(widget_id, (0, True))
    clipper = imgui.ListClipper()
    clipper.begin(len(snapshot))
    while clipper.step():
        for i in range(clipper.display_start, clipper.display_end):
            imgui.text_unformatted(snapshot[i])
    # smart autoscroll: follow new lines only if the reader was at the bottom, so
    # scrolling up to read an old line is not undone by the next message
    if autoscroll and len(snapshot) != seen and at_bottom:
        imgui.set_scroll_here_y(1.0)
    at_bottom = imgui.get_scroll_y() >= imgui.get_scroll_max_y() - 1.0
    _log_follow[widget_id] = (len(snapshot), at_bottom or len(snapshot) != seen and autoscroll)
    imgui.end_child()


def training_log(pipeline: Pipeline, height: float = 100.0, *, widget_id: str = "ml") -> None:
    """Read-only view of ``pipeline.train_log`` with smart autoscroll.

    Draws nothing while the log is empty. New lines scroll into view while the
    reader is at the bottom and autoscroll is on (the toggle sits in
    :func:`pipeline_panel`'s control row; default on).

    Parameters
    ----------
    pipeline : Pipeline
    height : float, default 100.0
        Height in pixels.
    widget_id : str, default "ml"
        Keys the scroll state and the autoscroll toggle (shared with a
        :func:`pipeline_panel` of the same id).
    """
    _check(pipeline, "Pipeline", "pipeline")
    if not pipeline.train_log:
        return
    autoscroll = _autoscroll.setdefault(widget_id, True)
    _render_log(widget_id, pipeline.train_log, height, autoscroll)


def save_model_button(
    pipeline: Pipeline, path: str, size: tuple[float, float] = (100, 0)
) -> None:
    """Draw a Save button that writes the model to ``path`` via ``pipeline.save_model``.

    Disabled unless both ``pipeline.save_model`` and ``pipeline.model`` are set; on
    click calls ``save_model(model, path)`` and reports the result through the
    status message (``"Saved model to <path>"`` / ``"Save failed: <error>"``) and
    the app log.

    Parameters
    ----------
    pipeline : Pipeline
    path : str
        Where to save (e.g. ``"models/lda.joblib"``).
    size : (float, float), default (100, 0)
        Button size in pixels.
    """
    _check(pipeline, "Pipeline", "pipeline")
    vec = _size(size)
    if pipeline.save_model is None or pipeline.model is None:
        _disabled_button(SAVE_LABEL, vec)
        return
    if imgui.button(SAVE_LABEL, vec):
        ctx = pipeline.app.ctx
        try:
            pipeline.save_model(pipeline.model, path)
        except Exception as exc:  # noqa: BLE001 - reported in the status line and log
            ctx.status_message = f"Save failed: {exc}"
            ctx.log(f"Model save failed: {exc}")
        else:
            ctx.status_message = f"Saved model to {path}"
            ctx.log(f"Model saved → {path}")


def load_model_button(
    pipeline: Pipeline, path: str, size: tuple[float, float] = (100, 0)
) -> None:
    """Draw a Load button that reads a model from ``path`` via ``pipeline.load_model``.

    Disabled unless ``pipeline.load_model`` is set; on click stores the returned
    object on ``pipeline.model`` and reports the result through the status message
    (``"Loaded model from <path>"`` / ``"Load failed: <error>"``) and the app log.
    A failed load keeps the previous model.

    Parameters
    ----------
    pipeline : Pipeline
    path : str
        File to load.
    size : (float, float), default (100, 0)
        Button size in pixels.
    """
    _check(pipeline, "Pipeline", "pipeline")
    vec = _size(size)
    if pipeline.load_model is None:
        _disabled_button(LOAD_LABEL, vec)
        return
    if imgui.button(LOAD_LABEL, vec):
        ctx = pipeline.app.ctx
        try:
            model = pipeline.load_model(path)
        except Exception as exc:  # noqa: BLE001 - reported in the status line and log
            ctx.status_message = f"Load failed: {exc}"
            ctx.log(f"Model load failed: {exc}")
        else:
            pipeline.model = model
            ctx.status_message = f"Loaded model from {path}"
            ctx.log(f"Model loaded ← {path}")


def _toggle(label: str, on: bool, tooltip: str) -> bool:
    """Draw an icon button, highlighted while ``on``; return the new value."""
    if on:
        imgui.push_style_color(imgui.Col_.button, imgui.get_style_color_vec4(
            imgui.Col_.button_active))
    clicked = imgui.button(label)
    if on:
        imgui.pop_style_color()
    imgui.set_item_tooltip(tooltip)
    return not on if clicked else on


def pipeline_panel(
    pipeline: Pipeline, *, log_height: float = 80.0, widget_id: str = "ml"
) -> None:
    """Train + Predict + log as a single titled panel.

    A ``MODEL`` header, :func:`train_button` and :func:`predict_button`, then two
    toggles: a double-chevron-down icon turns autoscroll (tail-follow) of the log
    on and off, a box-out icon detaches the log into a floating
    ``"Model training log"`` window (closing that window docks it back). The log
    itself is drawn below while it has lines and is not popped out.

    Parameters
    ----------
    pipeline : Pipeline
    log_height : float, default 80.0
        Height of the inline log in pixels.
    widget_id : str, default "ml"
        Keys the toggles and the log's scroll state.
    """
    _check(pipeline, "Pipeline", "pipeline")
    autoscroll = _autoscroll.setdefault(widget_id, True)
    if _popout_open.get(widget_id, False):
        imgui.set_next_window_size(imgui.ImVec2(640, 320), imgui.Cond_.first_use_ever)
        expanded, still_open = imgui.begin(f"{LOG_POPOUT_TITLE}##{widget_id}_popout_window",
                                           True)
        if expanded:
            _render_log(f"{widget_id}_pop", pipeline.train_log, -1.0, autoscroll)
        imgui.end()
        if not still_open:
            _popout_open[widget_id] = False

    panel_header("MODEL", fa.ICON_FA_BRAIN)
    train_button(pipeline)
    imgui.same_line()
    predict_button(pipeline)
    imgui.same_line()
    autoscroll = _toggle(f"{fa.ICON_FA_ANGLES_DOWN}##{widget_id}_autoscroll", autoscroll,
                         "Follow the newest log line" + (" (on)" if autoscroll else " (off)"))
    _autoscroll[widget_id] = autoscroll
    imgui.same_line()
    popped = _popout_open.get(widget_id, False)
    popped = _toggle(f"{fa.ICON_FA_UP_RIGHT_FROM_SQUARE}##{widget_id}_popout", popped,
                     "Dock the log back inline" if popped
                     else "Pop the log out into a floating window")
    _popout_open[widget_id] = popped
    if popped:
        imgui.text_disabled(f"(log popped out — see '{LOG_POPOUT_TITLE}' window)")
    elif pipeline.train_log:
        _render_log(widget_id, pipeline.train_log, log_height, autoscroll)


# ---------------------------------------------------------------------------- rig panels
_STATE_COLOURS = {
    PipelineState.IDLE: _GREY,
    PipelineState.RECORDING: _RED,
    PipelineState.TRAINING: _YELLOW,
    PipelineState.PREDICTING: _GREEN,
}


def status_bar(app: App) -> None:
    """Draw the app's state and ``ctx.status_message`` on one line.

    Parameters
    ----------
    app : App
    """
    _check(app, "App", "app")
    state = app.ctx.state
    imgui.text_colored(_STATE_COLOURS.get(state, _GREY), f"{fa.ICON_FA_CIRCLE}")
    imgui.same_line()
    label = state.value + (" + recording" if app.is_recording
                           and state != PipelineState.RECORDING else "")
    imgui.text(label)
    imgui.same_line()
    imgui.text_wrapped(app.ctx.status_message)


def _class_names(classes: int | Sequence[str]) -> list[str]:
    if isinstance(classes, int | np.integer):
        k = int(classes)
        if k < 1:
            raise ValueError(f"classes must be >= 1, got {k}")
        return ["rest"] + [f"class {i}" for i in range(1, k)]
    names = [str(c) for c in classes]
    if not names:
        raise ValueError("classes must name at least one class")
    return names


def _next_session(name: str) -> str:
    m = re.fullmatch(r"(.*?)(\d+)", name)
    if m:
        return f"{m.group(1)}{int(m.group(2)) + 1}"
    return f"{name}2"


def recording_controls(
    app: App,
    dataset: Any,
    *,
    subject: str = "subject",
    session: str = "session1",
    stream: str | None = None,
    classes: int | Sequence[str] = 4,
    widget_id: str = "rec",
    size: tuple[float, float] = (100, 0),
) -> None:
    """Start/stop a recording into ``dataset`` and cue movements while it runs.

    A ``RECORDING`` header; subject and session fields (editable while not
    recording; initialised from the arguments); a **Record** button, enabled when
    no recording runs, the state is ``idle`` or ``predicting`` (online evaluation)
    and a dataset is given, which calls ``app.start_recording(dataset, subject,
    session, stream=stream)``; while recording a **Stop** button instead
    (``app.stop_recording()``; after a successful save the session name's number
    is incremented, ``session1`` -> ``session2``) and the seconds recorded. Below,
    one cue button per class, enabled only while recording: a click calls
    ``app.label(k)``; the current cue is highlighted.

    A refused start (the entry exists, the dataset's rate differs, ...) leaves
    ``"Cannot start recording: <reason>"`` in ``ctx.status_message``.

    Parameters
    ----------
    app : App
    dataset : moveo.Dataset or None
        EMG dataset to record into (``kind="emg"``); None disables Record.
    subject, session : str
        Initial entry names.
    stream : str, optional
        Stream to record (default: the only one).
    classes : int or sequence of str, default 4
        Cue labels: names, or a count (``"rest", "class 1", ...``).
    widget_id : str, default "rec"
        Keys the text fields and the widget IDs (``"##rec_start"``, ...).
    size : (float, float), default (100, 0)
        Record/Stop button size.
    """
    _check(app, "App", "app")
    names = _class_names(classes)
    fields = _recording.setdefault(widget_id, {"subject": subject, "session": session})
    ctx = app.ctx
    recorder = app.recorder
    panel_header("RECORDING", fa.ICON_FA_CIRCLE_DOT)
    imgui.push_item_width(120)
    if recorder is not None:
        imgui.begin_disabled()
    _, fields["subject"] = imgui.input_text(f"Subject##{widget_id}_subject", fields["subject"])
    _, fields["session"] = imgui.input_text(f"Session##{widget_id}_session", fields["session"])
    if recorder is not None:
        imgui.end_disabled()
    imgui.pop_item_width()
    vec = _size(size)
    if recorder is None:
        can_start = dataset is not None and ctx.state in (PipelineState.IDLE,
                                                          PipelineState.PREDICTING)
        label = f"{fa.ICON_FA_CIRCLE}  Record##{widget_id}_start"
        if not can_start:
            _disabled_button(label, vec)
        elif imgui.button(label, vec):
            try:
                app.start_recording(dataset, fields["subject"], fields["session"],
                                    stream=stream)
            except (ValueError, TypeError, KeyError, OSError) as exc:
                ctx.status_message = f"Cannot start recording: {exc}"
                ctx.log(f"recording not started: {exc}")
        if dataset is None:
            imgui.same_line()
            imgui.text_disabled("(no dataset to record into)")
    else:
        if imgui.button(f"{fa.ICON_FA_STOP}  Stop##{widget_id}_stop", vec):
            try:
                entry = app.stop_recording()
            except Exception:  # noqa: BLE001 - the app put the reason in the status line
                entry = None
            if entry is not None:
                fields["session"] = _next_session(fields["session"])
        else:
            imgui.same_line()
            # where this recording started in the ring (first seen by this widget)
            mark = _views.get(("rec-start", widget_id))
            if mark is None or mark[0] is not recorder:
                mark = (recorder, recorder.stream.ring.count)
                _views[("rec-start", widget_id)] = mark
            seconds = (recorder.stream.ring.count - mark[1]) / recorder.stream.fs
            imgui.text_colored(_RED, f"{fa.ICON_FA_CIRCLE} {recorder.subject}/"
                                     f"{recorder.session}  {seconds:.1f} s")
    current = None
    if recorder is not None:
        now = clock()
        for t, k in list(recorder.events):  # cues may be scheduled ahead: the latest due
            if t <= now and (current is None or t >= current[0]):
                current = (t, k)
        current = None if current is None else current[1]
    for k, name in enumerate(names):
        if k:
            imgui.same_line()
        label = f"{name}##{widget_id}_cue{k}"
        if recorder is None:
            _disabled_button(label, imgui.ImVec2(0, 0))
            continue
        highlighted = k == current
        if highlighted:
            imgui.push_style_color(imgui.Col_.button, imgui.get_style_color_vec4(
                imgui.Col_.button_active))
        if imgui.button(label):
            try:
                app.label(k)
            except RuntimeError as exc:  # the recording ended meanwhile
                ctx.status_message = str(exc)
        if highlighted:
            imgui.pop_style_color()


_STREAM_COLOURS = {
    StreamStatus.CONNECTED: _GREEN,
    StreamStatus.CONNECTING: _YELLOW,
    StreamStatus.DISCONNECTED: _RED,
}


def stream_panel(stream: Stream, *, pipeline: Pipeline | None = None) -> None:
    """Draw a stream's status and counters.

    Status (connected / connecting / disconnected / finished / stopped) with a
    coloured dot; layout; the measured sample rate; samples received; lost
    samples (window samples overwritten before the predict thread copied them,
    from ``pipeline``, plus any the signal view missed); disconnects, reconnects,
    errors and the last error.

    Parameters
    ----------
    stream : Stream
        E.g. ``app.streams["emg"]``.
    pipeline : Pipeline, optional
        Source of the predict-side lost-sample count.
    """
    _check(stream, Stream, "stream")
    status = stream.status
    panel_header(f"STREAM {stream.name}", fa.ICON_FA_TOWER_BROADCAST)
    imgui.text_colored(_STREAM_COLOURS.get(status, _GREY), fa.ICON_FA_CIRCLE)
    imgui.same_line()
    imgui.text(f"{status}   {stream.n_channels} ch @ {stream.fs:g} Hz")
    counters = stream.counters
    meter = _views.setdefault(("rate", id(stream)), RateMeter())
    rate = meter.update(counters["samples"])
    lost = 0
    if pipeline is not None:
        lost = pipeline.lost_by_stream.get(stream.name, 0)
    env = _views.get(("env-stream", id(stream)))
    if env is not None:
        lost += env.lost
    rows = [
        ("rate", "—" if math.isnan(rate) else f"{rate:,.0f} samples/s"),
        ("samples", f"{counters['samples']:,}"),
        ("lost samples", f"{lost:,}"),
        ("disconnects", f"{counters['disconnects']}"),
        ("reconnects", f"{counters['reconnects']}"),
        ("errors", f"{counters['errors']}"),
    ]
    _table(f"##stream_{stream.name}", rows)
    if stream.last_error:
        imgui.text_colored(_RED, "last error:")
        imgui.same_line()
        imgui.text_wrapped(stream.last_error)


def _table(table_id: str, rows: Sequence[tuple[str, str]]) -> None:
    if imgui.begin_table(table_id, 2, imgui.TableFlags_.sizing_stretch_prop):
        for key, value in rows:
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text_disabled(key)
            imgui.table_next_column()
            imgui.text(value)
        imgui.end_table()


def _ms(p: dict[str, float]) -> str:
    if any(math.isnan(v) for v in p.values()):
        return "—"
    return f"{p['p50']:.2f} / {p['p99']:.2f} / {p['max']:.2f}"


def stats_panel(pipeline: Pipeline, *, refresh_s: float = 0.25, ticks: int = 1024) -> None:
    """Draw the predict loop's statistics and a rate control.

    Tick rate (achieved vs ``predict_hz``), lateness, tick duration and latency
    (p50 / p99 / max in ms over the newest ``ticks`` ticks), skipped ticks,
    overruns, callback errors (by callback), non-dict results, stale ticks and lost
    samples. The figures come from :meth:`Pipeline.recent_stats`, which never
    makes the predict thread wait, refreshed every ``refresh_s`` seconds. The
    ``Rate (Hz)`` field sets ``pipeline.predict_hz`` (effective from the next
    tick; 0 removes the cap).

    Parameters
    ----------
    pipeline : Pipeline
    refresh_s : float, default 0.25
        Seconds between refreshes of the figures.
    ticks : int, default 1024
        Ticks the percentiles cover.
    """
    _check(pipeline, "Pipeline", "pipeline")
    key = ("stats", id(pipeline))
    cached = _views.get(key)
    now = clock()
    if cached is None or now - cached[0] >= refresh_s:
        cached = (now, pipeline.recent_stats(ticks))
        _views[key] = cached
    s = cached[1]
    panel_header("PREDICT LOOP", fa.ICON_FA_GAUGE)
    imgui.push_item_width(100)
    changed, rate = imgui.input_float("Rate (Hz)##stats_rate", float(pipeline.predict_hz),
                                      0.0, 0.0, "%.1f",
                                      imgui.InputTextFlags_.enter_returns_true)
    imgui.pop_item_width()
    if changed and math.isfinite(rate):
        pipeline.predict_hz = rate
    errors = s["errors_by_callback"]
    by = ", ".join(f"{k} {v}" for k, v in errors.items() if v)
    rate_hz = s["rate_hz"]
    rows = [
        ("ticks", f"{s['ticks']:,}"),
        ("tick rate", "—" if math.isnan(rate_hz) else f"{rate_hz:.1f} Hz"),
        ("lateness ms p50/p99/max", _ms(s["lateness_ms"])),
        ("duration ms p50/p99/max", _ms(s["duration_ms"])),
        ("latency ms p50/p99/max", _ms(s["latency_ms"])),
        ("skipped ticks", f"{s['skipped']}"),
        ("overruns", f"{s['overruns']}"),
        ("callback errors", f"{s['callback_errors']}" + (f" ({by})" if by else "")),
        ("non-dict results", f"{s['non_dict_results']}"),
        ("stale ticks", f"{s['stale_ticks']}"),
        ("lost samples", f"{s['lost_samples']}"),
    ]
    _table("##stats", rows)


def _channel_colors(n: int) -> np.ndarray:
    out = np.empty((n, 4), np.uint8)
    size = implot.get_colormap_size()
    for c in range(n):
        col = implot.get_colormap_color(c % size)
        out[c] = [round(255 * col.x), round(255 * col.y), round(255 * col.z), 255]
    return out


def signal_view(
    stream: Stream,
    *,
    seconds: float = 5.0,
    height: float = -1.0,
    gain: float = 1.0,
    widget_id: str | None = None,
) -> None:
    """Plot every channel of a stream, stacked, min/max per pixel column (ImPlot).

    Each pixel column shows the minimum-to-maximum range of the samples it
    covers (:class:`~moveo.realtime.display.SignalEnvelope`), so no spike is lost
    however many samples a column holds, and the cost is per new sample and per
    lit pixel, not per sample shown: 256 channels at 2 kHz stay smooth. Channel 0
    is at the top; the gain follows the recent peak amplitude (times ``gain``).

    Parameters
    ----------
    stream : Stream
    seconds : float, default 5.0
        Time span shown.
    height : float, default -1.0
        Plot height in pixels (-1: the remaining height).
    gain : float, default 1.0
        Multiplies the automatic gain.
    widget_id : str, optional
        Plot id (default: the stream name).
    """
    _check(stream, Stream, "stream")
    wid = widget_id or stream.name
    key = ("env", wid, id(stream))
    env = _views.get(key)
    if env is None or env.seconds != float(seconds):
        env = SignalEnvelope(stream.fs, stream.n_channels, seconds, columns=800)
        _views[key] = env
        _views[("env-stream", id(stream))] = env
    n_ch = stream.n_channels
    flags = (implot.Flags_.no_legend | implot.Flags_.no_menus | implot.Flags_.no_box_select
             | implot.Flags_.no_mouse_text)
    if not implot.begin_plot(f"{stream.name}##{wid}_signal", imgui.ImVec2(-1, height), flags):
        return
    implot.setup_axes("time (s)", "", implot.AxisFlags_.none,
                      implot.AxisFlags_.no_grid_lines)
    implot.setup_axes_limits(-float(seconds), 0.0, -0.5, n_ch - 0.5, implot.Cond_.always)
    step = max(1, math.ceil(n_ch / 16))
    chans = list(range(0, n_ch, step))
    implot.setup_axis_ticks(implot.ImAxis_.y1, [float(n_ch - 1 - c) for c in chans],
                            [stream.channel_names[c] for c in chans], False)
    plot_size = implot.get_plot_size()
    columns = max(16, min(int(plot_size.x), 4096))
    if columns != env.columns:
        env.resize(columns)
    env.update(stream.ring)
    left, right = env.times()
    g = env.auto_gain * float(gain)
    rows = max(1, min(int(plot_size.y), 4096))
    if _textures is not None:
        colors = _views.get(("colors", n_ch))
        if colors is None:
            colors = _channel_colors(n_ch)
            _views[("colors", n_ch)] = colors
        image = env.raster(rows, colors, g, out=_views.get(("img", key)))
        _views[("img", key)] = image
        tex = _textures.upload(key, image)
        implot.plot_image("##envelope", tex, implot.Point(left, -0.5),
                          implot.Point(right, n_ch - 0.5))
    else:  # no texture uploader (another imgui host): the same envelopes as shaded plots
        x = np.linspace(left, right, env.n_columns, endpoint=False)
        x += 0.5 * (right - left) / env.n_columns
        for c in range(n_ch):
            offset = n_ch - 1 - c
            lo = np.clip(env.lo[c] * (0.5 * g), -0.5, 0.5) + offset
            hi = np.clip(env.hi[c] * (0.5 * g), -0.5, 0.5) + offset
            implot.plot_shaded(f"##{c}", x, lo.astype(np.float64), hi.astype(np.float64))
    implot.end_plot()


def prediction_view(
    pipeline: Pipeline,
    *,
    seconds: float = 10.0,
    keys: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    height: float = 200.0,
    widget_id: str = "pred",
) -> None:
    """Show the latest prediction and its numeric outputs over the last ``seconds``.

    A line with the current ``"class"`` (by name if ``class_names`` is given) or
    the other scalar outputs, marked *stale* while a stream does not deliver;
    below, an ImPlot of the outputs over time: one line per class for
    probabilities (``"proba"``), else one per numeric output (regression values;
    a ``"class"`` alone is drawn as a staircase).

    Parameters
    ----------
    pipeline : Pipeline
    seconds : float, default 10.0
        Time span plotted.
    keys : sequence of str, optional
        Prediction entries to plot (default: ``"proba"`` if the predictions have
        it, else every numeric entry).
    class_names : sequence of str, optional
        Names of the classes (legend of ``"proba"``, the current-class line).
    height : float, default 200.0
        Plot height in pixels (-1: the remaining height).
    widget_id : str, default "pred"
        Keys the history (one per widget id and pipeline).
    """
    _check(pipeline, "Pipeline", "pipeline")
    hkey = ("pred", widget_id, id(pipeline))
    history = _views.get(hkey)
    if history is None or history.seconds != float(seconds):
        history = PredictionHistory(seconds)
        _views[hkey] = history
    history.update(pipeline)
    panel_header("PREDICTION", fa.ICON_FA_CHART_LINE)
    latest = pipeline.predictions
    if not latest:
        imgui.text_disabled("no prediction yet")
    else:
        parts = []
        for key, value in latest.items():
            if key in ("time", "proba"):
                continue
            if key == "class" and class_names is not None and isinstance(
                    value, int | np.integer) and 0 <= int(value) < len(class_names):
                parts.append(f"class: {class_names[int(value)]} ({int(value)})")
            elif isinstance(value, float | np.floating):
                parts.append(f"{key}: {float(value):.3g}")
            elif isinstance(value, int | np.integer | str):
                parts.append(f"{key}: {value}")
        imgui.text("   ".join(parts) or "(non-scalar prediction)")
        if pipeline.stale:
            imgui.same_line()
            imgui.text_colored(_RED, "stale")
    times, series = history.window()
    if not implot.begin_plot(f"##{widget_id}_plot", imgui.ImVec2(-1, height),
                             implot.Flags_.no_menus | implot.Flags_.no_box_select):
        return
    implot.setup_axes("time (s)", "", implot.AxisFlags_.none, implot.AxisFlags_.auto_fit)
    implot.setup_axis_limits(implot.ImAxis_.x1, -float(seconds), 0.0, implot.Cond_.always)
    implot.setup_legend(implot.Location_.north_west, implot.LegendFlags_.horizontal)
    if keys is None:  # probabilities when there are some, else every numeric output
        keys = ["proba"] if "proba" in series else list(series)
    for key, values in series.items():
        if key not in keys or not times.size:
            continue
        for j in range(values.shape[1]):
            if values.shape[1] == 1:
                label = key
            elif key == "proba" and class_names is not None and j < len(class_names):
                label = str(class_names[j])
            else:
                label = f"{key}[{j}]"
            ys = np.ascontiguousarray(values[:, j])
            if key == "class":
                implot.plot_stairs(label, times, ys)
            else:
                implot.plot_line(label, times, ys)
    implot.end_plot()


def rig_layout(
    app: App,
    *,
    dataset: Any = None,
    subject: str = "subject",
    session: str = "session1",
    classes: int | Sequence[str] = 4,
    model_path: str = "moveo-model.joblib",
    seconds: float = 5.0,
    panel: Callable[[], None] | None = None,
    left_width: float = 400.0,
) -> None:
    """Every rig panel in one window: controls on the left, live views on the right.

    Left column: :func:`status_bar`, ``panel()`` if given, then for each
    pipeline of the app :func:`pipeline_panel` with :func:`save_model_button` /
    :func:`load_model_button` (``model_path``), :func:`recording_controls`,
    :func:`stats_panel` and a :func:`stream_panel` per stream. Right column: a
    :func:`signal_view` per stream and the :func:`prediction_view`.
    ``app.run(mode="gui")`` draws this when no ``@app.ui`` function is registered.

    Parameters
    ----------
    app : App
    dataset : moveo.Dataset, optional
        Where recordings go (no dataset: recording is disabled).
    subject, session : str
        Initial recording entry names.
    classes : int or sequence of str, default 4
        Cue buttons and class names.
    model_path : str, default "moveo-model.joblib"
        Path of the Save/Load buttons.
    seconds : float, default 5.0
        Span of the signal views.
    panel : callable, optional
        Your own panel, drawn at the top of the left column.
    left_width : float, default 400.0
        Width of the left column in pixels.
    """
    _check(app, "App", "app")
    names = _class_names(classes)
    imgui.begin_child("##moveo_left", imgui.ImVec2(left_width, 0), imgui.ChildFlags_.borders)
    status_bar(app)
    if panel is not None:
        panel()
    for i, pipeline in enumerate(app.pipelines):
        imgui.push_id(f"pipeline{i}")
        pipeline_panel(pipeline)
        save_model_button(pipeline, model_path)
        imgui.same_line()
        load_model_button(pipeline, model_path)
        imgui.pop_id()
    if app.streams:
        recording_controls(app, dataset, subject=subject, session=session, classes=names,
                           stream=next(iter(app.streams)) if len(app.streams) == 1 else None)
    for i, pipeline in enumerate(app.pipelines):
        imgui.push_id(f"pipeline_stats{i}")
        stats_panel(pipeline)
        imgui.pop_id()
    first = app.pipelines[0] if app.pipelines else None
    for stream in app.streams.values():
        stream_panel(stream, pipeline=first)
    imgui.end_child()
    imgui.same_line()
    imgui.begin_child("##moveo_right", imgui.ImVec2(0, 0))
    avail = imgui.get_content_region_avail().y
    pred_h = 0.3 * avail if first is not None else 0.0
    n = max(len(app.streams), 1)
    each = max((avail - pred_h) / n - imgui.get_style().item_spacing.y, 80.0)
    for stream in app.streams.values():
        signal_view(stream, seconds=seconds, height=each)
    if first is not None:
        prediction_view(first, class_names=names, height=-1.0)
    imgui.end_child()
