"""Rig GUI benchmarks: does an open window slow the predict loop? Is the signal view cheap?

* Predict loop (64 ch, 2 kHz from an LSL outlet process, HTD + a linear model at
  100 Hz) headless vs with the rig window open at 60 fps (Xvfb + llvmpipe, i.e.
  OpenGL rendered on the CPU), reported as gui / headless ratios of rate,
  lateness and latency; a second baseline draws the same panels with Hello
  ImGui's C++ runner, which keeps the GIL while it renders.
* Signal view at 256 ch x 2 kHz, 5 s shown in 1000 columns: per-frame cost of the
  incremental min/max envelope + raster vs recomputing the columns from the whole
  window each frame (numpy), and the window's achieved frame rate.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import numpy as np
import pytest

from guitest import require, xvfb
from moveo.realtime import App, LSLSource, Pipeline, RingBuffer, start_outlet_process
from moveo.realtime.display import SignalEnvelope
from moveo.realtime.training import EMGExtract

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def display():
    require("glfw")
    require("OpenGL.GL")
    require("imgui_bundle")
    # what moveo's window sets for Mesa's llvmpipe, for both runners compared here
    old = os.environ.get("LP_NUM_THREADS")
    os.environ["LP_NUM_THREADS"] = "0"
    try:
        with xvfb() as name:
            yield name
    finally:
        if old is None:
            os.environ.pop("LP_NUM_THREADS", None)
        else:
            os.environ["LP_NUM_THREADS"] = old


@pytest.fixture(scope="module")
def outlet_64ch():
    sid = f"bench-gui-{uuid.uuid4().hex}"
    proc, stop = start_outlet_process(sid, source_id=sid, n_channels=64, fs=2000.0, chunk=10)
    yield sid
    stop.set()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def _rig(source_id):
    app = App(warmup=False)
    app.add_stream("emg", LSLSource(source_id=source_id, timeout=30.0), window_ms=200)
    p = Pipeline(app, predict_hz=100.0)
    htd = EMGExtract("HTD", fs=2000.0)
    weights = np.random.default_rng(0).standard_normal((64 * 4, 4))
    p.extract(htd)

    @p.predict
    def predict(model, features):
        z = features @ model
        proba = np.exp(z - z.max())
        proba /= proba.sum()
        return {"class": int(proba.argmax()), "proba": proba}

    p.model = weights
    return app, p


def _hello_imgui_runner(app, ui, duration):
    """The same panels in Hello ImGui's C++ runner (fps capped at 60, no vsync).

    The signal view gets the same OpenGL texture uploader as in moveo's window
    (PyOpenGL draws into Hello ImGui's current context), so both draw the same.
    """
    import OpenGL.GL as gl
    from imgui_bundle import hello_imgui, immapp

    from moveo.realtime import widgets
    from moveo.realtime.gui import _GLTextures

    params = hello_imgui.RunnerParams()
    params.app_window_params.window_geometry.size = (1280, 800)
    params.fps_idling.enable_idling = False
    params.fps_idling.vsync_to_monitor = False
    params.fps_idling.fps_max = 60
    params.ini_disable = True
    end = time.monotonic() + duration

    def show():
        ui(app.ctx)
        if time.monotonic() > end or app._stop_requested.is_set():
            hello_imgui.get_runner_params().app_shall_exit = True

    textures = {}

    def post_init():
        textures["gl"] = _GLTextures(gl)
        widgets.set_texture_uploader(textures["gl"])

    def before_exit():
        textures["gl"].destroy()
        widgets.set_texture_uploader(None)

    params.callbacks.show_gui = show
    params.callbacks.post_init = post_init
    params.callbacks.before_exit = before_exit
    addons = immapp.AddOnsParams()
    addons.with_implot = True
    widgets.reset_state()
    app.start()
    try:
        immapp.run(params, addons)
    finally:
        app.stop()


def _measure(impl, source_id, duration, warm=1.5):
    from moveo.realtime import widgets

    app, p = _rig(source_id)
    frames = []
    out = {}

    @app.ui
    def ui(ctx):
        frames.append(time.perf_counter())
        widgets.rig_layout(app, classes=4)

    def operator():
        assert app.wait_for_samples(400, 30)
        p.start_predicting()
        time.sleep(warm)
        p.reset_stats()
        n0 = len(frames)
        t0 = time.perf_counter()
        time.sleep(duration)
        out["stats"] = p.stats()
        out["fps"] = (len(frames) - n0) / (time.perf_counter() - t0)
        app.request_stop()

    t = threading.Thread(target=operator)
    t.start()
    if impl == "headless":
        app.run(duration=duration + 60)
    elif impl == "gui 60 fps":
        app.run(mode="gui", fps=60.0, duration=duration + 60)
    else:
        _hello_imgui_runner(app, ui, duration + 60)
    t.join(30)
    return out


@pytest.mark.lsl
def test_predict_loop_with_the_gui_open(figure, bench_size, outlet_64ch, display):
    duration = bench_size(small=3.0, full=15.0)
    rounds = bench_size(small=1, full=2)
    impls = ["headless", "gui 60 fps", "hello_imgui C++ runner"]
    runs = {impl: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:  # interleaved, so a change in machine load hits all alike
            runs[impl].append(_measure(impl, outlet_64ch, duration))
    group = f"predict loop 64 ch 2 kHz 100 Hz, GUI open vs headless ({duration:g} s)"

    def metric(impl, fn):
        return float(np.median([fn(r["stats"]) for r in runs[impl]]))

    keys = {
        "rate": lambda s: s["rate_hz"],
        "lateness p50": lambda s: s["lateness_ms"]["p50"],
        "lateness p99": lambda s: s["lateness_ms"]["p99"],
        "latency p50": lambda s: s["latency_ms"]["p50"],
        "latency p99": lambda s: s["latency_ms"]["p99"],
        "skipped ticks": lambda s: s["skipped"],
    }
    units = {"rate": "Hz", "skipped ticks": "ticks"}
    for impl in impls:
        for name, fn in keys.items():
            figure(group, f"{impl}: {name}", metric(impl, fn), units.get(name, "ms"))
        if impl != "headless":
            figure(group, f"{impl}: frames/s", np.median([r["fps"] for r in runs[impl]]),
                   "fps")
    base = {name: metric("headless", fn) for name, fn in keys.items()}
    for impl in impls[1:]:
        for name in ("rate", "lateness p99", "latency p50", "latency p99"):
            ratio = metric(impl, keys[name]) / base[name] if base[name] else float("nan")
            figure(group, f"{impl} / headless: {name}", ratio, "x",
                   "~1 (within noise)" if impl == "gui 60 fps" else "")
    for impl in impls:
        for r in runs[impl]:
            assert r["stats"]["ticks"] > 0
            assert r["stats"]["callback_errors"] == 0


def _recompute_columns(ring, n, spb, colors, rows, out):
    """Baseline: every frame, copy the whole 5 s window and take min/max per column."""
    from moveo.kernels.display import envelope_raster

    w = ring.latest(n)
    blocks = w.data.reshape(n // spb, spb, -1)
    lo = np.ascontiguousarray(blocks.min(axis=1).T)
    hi = np.ascontiguousarray(blocks.max(axis=1).T)
    amp = float(np.abs(w.data).max())
    envelope_raster(lo, hi, 1.0 / (1.2 * amp), colors, out)
    return out


@pytest.mark.parametrize("impl", ["incremental envelope", "recompute window (numpy)"])
def test_signal_view_frame_cost_256ch(benchmark, tag, impl):
    fs, n_ch, seconds, columns, rows = 2000.0, 256, 5.0, 1000, 460
    per_frame = round(fs / 60)  # new samples per 60 fps frame
    ring = RingBuffer(round(fs * 10), n_ch)
    rng = np.random.default_rng(1)
    chunk = rng.standard_normal((per_frame, n_ch)).astype(np.float32)
    t = [0.0]

    def write():
        ring.write(chunk, t[0] + np.arange(per_frame) / fs)
        t[0] += per_frame / fs

    for _ in range(round(seconds * 60) + 5):
        write()
    colors = np.full((n_ch, 4), 255, np.uint8)
    img = np.empty((rows, columns, 4), np.uint8)
    env = SignalEnvelope(fs, n_ch, seconds, columns)
    env.update(ring)
    n = env.span_samples

    def ours():
        write()
        env.update(ring)
        env.raster(rows, colors, out=img)

    def baseline():
        write()
        _recompute_columns(ring, n, env.spb, colors, rows, img)

    tag(benchmark, "signal view frame: 256 ch x 2 kHz, 5 s in 1000 columns",
        ours=impl.startswith("incremental"), target=">=3", label=impl)
    benchmark(ours if impl.startswith("incremental") else baseline)


def test_rig_window_frame_rate_256ch(figure, bench_size, display):
    from moveo.realtime import SyntheticSource, widgets

    duration = bench_size(small=3.0, full=10.0)
    app = App(warmup=False)
    app.add_stream("emg", SyntheticSource(n_channels=256, fs=2000.0, chunk=20, seed=3),
                   window_ms=200)
    p = Pipeline(app, predict_hz=50.0)
    p.extract(lambda w: np.abs(w["emg"]).mean(axis=1))
    p.predict(lambda model, f: {"value": float(f.mean())})
    p.model = "level"
    frames = []

    @app.ui
    def ui(ctx):
        frames.append(time.perf_counter())
        widgets.rig_layout(app)

    def operator():
        assert app.wait_for_samples(2000, 30)
        p.start_predicting()

    threading.Thread(target=operator, daemon=True).start()
    app.run(mode="gui", fps=60.0, duration=duration + 1.0)
    stamps = np.array(frames)
    stamps = stamps[stamps > stamps[0] + 1.0]  # after start-up
    dt = np.diff(stamps) * 1e3
    group = f"rig window, 256 ch x 2 kHz signal view ({duration:g} s, Xvfb + llvmpipe)"
    figure(group, "frames/s", 1e3 / np.mean(dt), "fps", "60 (capped)")
    figure(group, "frame interval p50", np.percentile(dt, 50), "ms")
    figure(group, "frame interval p99", np.percentile(dt, 99), "ms")
    figure(group, "predict loop lateness p99", p.stats()["lateness_ms"]["p99"], "ms")
    assert dt.size > 10
