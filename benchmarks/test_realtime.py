"""Realtime benchmarks: ring buffer, scheduler, end-to-end latency and CPU (ratios in one run)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from moveo.realtime import App, LSLSource, Pipeline, RingBuffer, start_outlet_process
from moveo.realtime._util import clock
from moveo.realtime.scheduler import Scheduler
from reference.realtime import CopyRing, RollRing

N_CH = 64
CAPACITY = 4096
WRITE = 10
WINDOW = 400


def _make(impl):
    return {"moveo": RingBuffer, "lock+copy": CopyRing, "lock+np.roll": RollRing}[impl](
        CAPACITY, N_CH
    )


def _chunks(n):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n, WRITE, N_CH)).astype(np.float32)
    ts = np.arange(n * WRITE, dtype=np.float64).reshape(n, WRITE)
    return data, ts


@pytest.mark.parametrize("impl", ["moveo", "lock+copy", "lock+np.roll"])
def test_ring_write_read_throughput(benchmark, tag, bench_size, impl):
    """10-sample writes, each followed by a 400-sample window read (64 ch float32)."""
    n = bench_size(small=100, full=2000)
    data, ts = _chunks(n)
    ring = _make(impl)
    for i in range(CAPACITY // WRITE):  # fill once so reads are full windows
        ring.write(data[i % n], ts[i % n])
    out = np.empty((WINDOW, N_CH), np.float32)
    if impl == "moveo":
        def run():
            for i in range(n):
                ring.write(data[i], ts[i])
                ring.latest(WINDOW, out=out)
    else:
        def run():
            for i in range(n):
                ring.write(data[i], ts[i])
                ring.latest(WINDOW)

    target = {"lock+copy": ">=2", "lock+np.roll": ">=10"}.get(impl)
    tag(benchmark, f"ring: {n} x (write 10 + read 400), 64 ch", ours=impl == "moveo",
        target=target, label=impl)
    benchmark(run)


@pytest.mark.parametrize("impl", ["moveo", "lock+copy", "lock+np.roll"])
def test_ring_write_only(benchmark, tag, bench_size, impl):
    n = bench_size(small=200, full=5000)
    data, ts = _chunks(n)
    ring = _make(impl)

    def run():
        for i in range(n):
            ring.write(data[i], ts[i])

    target = {"lock+copy": ">=2", "lock+np.roll": ">=10"}.get(impl)
    tag(benchmark, f"ring: {n} writes of 10 x 64", ours=impl == "moveo", target=target,
        label=impl)
    benchmark(run)


@pytest.mark.parametrize("impl", ["moveo", "memcpy"])
def test_window_read_vs_memcpy(benchmark, tag, impl):
    """One 400 x 64 float32 window read against a memcpy of the same bytes."""
    ring = RingBuffer(CAPACITY, N_CH)
    data, ts = _chunks(CAPACITY // WRITE + 7)  # wraps: the window crosses the end
    for i in range(data.shape[0]):
        ring.write(data[i], ts[i])
    out = np.empty((WINDOW, N_CH), np.float32)
    src = np.ascontiguousarray(data.reshape(-1, N_CH)[:WINDOW])
    reps = 200

    if impl == "moveo":
        def run():
            for _ in range(reps):
                ring.latest(WINDOW, out=out)
    else:
        def run():
            for _ in range(reps):
                np.copyto(out, src)

    tag(benchmark, "ring: read 400 x 64 window (x200)", ours=impl == "moveo",
        target=None if impl == "moveo" else "ours/base<=2", label=impl)
    benchmark(run)


# ---------------------------------------------------------------------------- scheduler
def _sleep_remainder_loop(rate, duration):
    """Baseline: do the work, then sleep for what is left of the period (drifts)."""
    period = 1.0 / rate
    t0 = clock()
    starts = []
    while clock() - t0 < duration:
        t = clock()
        starts.append(t)
        time.sleep(max(0.0, period - (clock() - t)))
    return t0, np.array(starts)


def _scheduler_loop(rate, duration):
    s = Scheduler(rate)
    t0 = None
    starts = []
    while True:
        tick = s.wait()
        if t0 is None:
            t0 = tick.deadline
        if tick.start - t0 >= duration:
            break
        starts.append(tick.start)
    return t0, np.array(starts)


@pytest.mark.parametrize("impl", ["moveo", "sleep-remainder"])
def test_scheduler_200hz(benchmark, tag, bench_size, figure, impl):
    rate = 200.0
    duration = bench_size(small=1.0, full=20.0)
    loop = _scheduler_loop if impl == "moveo" else _sleep_remainder_loop
    result = {}

    def run():
        result["t0"], result["starts"] = loop(rate, duration)

    tag(benchmark, f"scheduler 200 Hz x {duration:g} s (wall time)", ours=impl == "moveo",
        label=impl)
    benchmark.pedantic(run, rounds=1, iterations=1)
    t0, starts = result["t0"], result["starts"]
    ideal = round(duration * rate)
    k = np.arange(len(starts))
    lateness = starts - (t0 + k / rate)  # against the ideal grid
    group = f"scheduler 200 Hz {duration:g} s"
    figure(group, f"{impl}: ticks - ideal", len(starts) - ideal, "ticks",
           "within +-1" if impl == "moveo" else "")
    figure(group, f"{impl}: p99 |lateness|", np.percentile(np.abs(lateness), 99) * 1e3, "ms",
           "<=0.5" if impl == "moveo" else "")
    figure(group, f"{impl}: drift at end", lateness[-1] * 1e3, "ms")
    assert len(starts) > 0


# ---------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def outlet_64ch():
    sid = f"bench-{uuid.uuid4().hex}"
    proc, stop = start_outlet_process(sid, source_id=sid, n_channels=64, fs=2000.0, chunk=10)
    yield sid
    stop.set()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


@pytest.mark.lsl
@pytest.mark.parametrize("mode", ["fixed", "on-new-data"])
def test_end_to_end_latency(benchmark, tag, bench_size, figure, outlet_64ch, mode):
    """Outlet process (64 ch, 2 kHz, 10-sample chunks) -> LSL -> ring -> predict at 200 Hz."""
    duration = bench_size(small=2.0, full=10.0)
    app = App(warmup=False)
    app.add_stream("emg", LSLSource(source_id=outlet_64ch, timeout=30.0), window_ms=200)
    p = Pipeline(app, predict_hz=200.0, mode=mode)
    p.extract(lambda w: np.abs(w["emg"]).mean(axis=1))
    p.predict(lambda model, f: {"level": float(f.mean())})
    p.model = "threshold"
    out = {}

    def run():
        with app:
            assert app.wait_for_samples(400, 30)
            p.start_predicting()
            time.sleep(0.3)
            p.reset_stats()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            time.sleep(duration)
            out["cpu"] = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            out["stats"] = p.stats()

    tag(benchmark, f"end-to-end 64 ch 2 kHz ({duration:g} s)", ours=mode == "on-new-data",
        label=mode)
    benchmark.pedantic(run, rounds=1, iterations=1)
    stats = out["stats"]
    group = f"end-to-end latency 64 ch 2 kHz, {mode}"
    chunk_ms = 10 / 2000.0 * 1e3
    figure(group, "latency p50", stats["latency_ms"]["p50"], "ms")
    figure(group, "latency p99", stats["latency_ms"]["p99"], "ms",
           f"<={chunk_ms + 1.5:g}" if mode == "on-new-data" else "")
    figure(group, "ticks/s", stats["rate_hz"], "Hz")
    figure(group, "skipped ticks", stats["skipped"], "ticks")
    figure(group, "CPU of the whole loop", 100 * out["cpu"], "% of one core")
    assert stats["ticks"] > 0
    assert stats["callback_errors"] == 0
