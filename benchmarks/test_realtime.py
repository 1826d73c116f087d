"""Realtime benchmarks: ring buffer, scheduler, end-to-end latency and CPU (ratios in one run)."""

from __future__ import annotations

import sys
import threading
import time
import uuid

import numba
import numpy as np
import pytest

from moveo._numba import jit
from moveo.kernels.ring import (
    ring_latest_exact,
    ring_latest_exact_unchecked,
    ring_push,
    ring_push_unchecked,
    ring_read,
    ring_views,
    ring_write,
)
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
def test_ring_write_read_into_caller_buffers(benchmark, tag, bench_size, impl):
    """As above, but our reads also reuse the caller's timestamp buffer (``ts_out``).

    The baselines cannot write into caller buffers, so they run exactly as above;
    this shows what a reader that keeps both destination arrays gets.
    """
    n = bench_size(small=100, full=2000)
    data, ts = _chunks(n)
    ring = _make(impl)
    for i in range(CAPACITY // WRITE):
        ring.write(data[i % n], ts[i % n])
    out = np.empty((WINDOW, N_CH), np.float32)
    ts_out = np.empty(WINDOW)
    if impl == "moveo":
        def run():
            for i in range(n):
                ring.write(data[i], ts[i])
                ring.latest(WINDOW, out=out, ts_out=ts_out)
    else:
        def run():
            for i in range(n):
                ring.write(data[i], ts[i])
                ring.latest(WINDOW)

    target = {"lock+copy": ">=2", "lock+np.roll": ">=10"}.get(impl)
    tag(benchmark, f"ring: {n} x (write 10 + read 400 into out, ts_out), 64 ch",
        ours=impl == "moveo", target=target, label=impl)
    benchmark(run)


@jit
def _floor_window_copies(mem, n, out, tout):  # pragma: no cover - compiled
    """n window reads with no per-call cost at all: the copy alone."""
    state, tbuf, buf = mem
    for _ in range(n):
        ring_read(buf, tbuf, state[1] - out.shape[0], out.shape[0], out, tout)
    return 0


@jit
def _floor_write_read(mem, data, ts, out, tout):  # pragma: no cover - compiled
    """All writes and window reads of the throughput loop in one compiled call."""
    state, tbuf, buf = mem
    count = state[1]
    for i in range(data.shape[0]):
        ring_write(buf, tbuf, data[i], ts[i], count)
        count += data.shape[1]
        ring_read(buf, tbuf, count - out.shape[0], out.shape[0], out, tout)
    return count


@jit
def _write_then_read(mem, data, ts, out, tout):  # pragma: no cover - compiled
    """One write and one window read, in one compiled call."""
    if ring_push(mem, data, ts):
        return -1
    return ring_latest_exact(mem, out.shape[0], out, tout)


def test_ring_single_thread_floor(benchmark, bench_size, figure):
    """Where the time of 'write 10 + read 400' goes, and what bounds the speed-up.

    Each figure is nanoseconds per iteration of the throughput loop above (same data,
    same Python loop and ``data[i]``, ``ts[i]`` views where there is a Python loop):

    - the window copies alone, and all writes and reads, in one compiled loop: no
      Python and no per-call cost, a floor no implementation can go below;
    - one compiled call per iteration doing the write and the read;
    - the two ring kernels called through their unchecked entry points, i.e. numba's
      irreducible per-call cost with no RingBuffer layer around it;
    - our RingBuffer (reading into ``out``, and into ``out`` + ``ts_out``);
    - the lock + copy ring.

    'lock+copy / X' is the largest speed-up over lock+copy that anything built
    like X could reach.
    """
    n = bench_size(small=100, full=2000)
    data, ts = _chunks(n)
    out = np.empty((WINDOW, N_CH), np.float32)
    ts_out = np.empty(WINDOW)
    rings = {}
    for impl in ("moveo", "lock+copy"):
        rings[impl] = _make(impl)
        for i in range(CAPACITY // WRITE):
            rings[impl].write(data[i % n], ts[i % n])
    ours, base = rings["moveo"], rings["lock+copy"]
    scratch = RingBuffer(CAPACITY, N_CH)  # the floors write here, not into `ours`
    for i in range(CAPACITY // WRITE):
        scratch.write(data[i % n], ts[i % n])
    mem, views = scratch._mem, ring_views(scratch._mem)
    push, latest = ring_push_unchecked(), ring_latest_exact_unchecked()
    fused = _write_then_read.compile(tuple(numba.typeof(a) for a in (mem, data[0], ts[0], out,
                                                                       ts_out)))

    def one_call():
        for i in range(n):
            fused(mem, data[i], ts[i], out, ts_out)

    def two_calls():
        for i in range(n):
            push(mem, data[i], ts[i])
            latest(mem, WINDOW, out, ts_out)

    def ring_ours():
        for i in range(n):
            ours.write(data[i], ts[i])
            ours.latest(WINDOW, out=out)

    def ring_ours_ts():
        for i in range(n):
            ours.write(data[i], ts[i])
            ours.latest(WINDOW, out=out, ts_out=ts_out)

    def ring_base():
        for i in range(n):
            base.write(data[i], ts[i])
            base.latest(WINDOW)

    floors = {
        "floor: window copies only (one compiled loop)":
            lambda: _floor_window_copies(views, n, out, ts_out),
        "floor: all writes + reads (one compiled loop)":
            lambda: _floor_write_read(views, data, ts, out, ts_out),
        "one compiled call per iteration (write + read)": one_call,
        "two compiled calls per iteration (entry points)": two_calls,
    }
    loops = {
        **floors,
        "moveo RingBuffer write + latest(out)": ring_ours,
        "moveo RingBuffer write + latest(out, ts_out)": ring_ours_ts,
        "lock+copy write + latest": ring_base,
    }
    for f in loops.values():  # compile and warm
        f()
    best = {}

    def measure():
        for name, f in loops.items():
            t0 = time.perf_counter()
            f()
            dt = (time.perf_counter() - t0) / n * 1e9
            best[name] = min(best.get(name, np.inf), dt)

    benchmark.pedantic(measure, rounds=bench_size(small=3, full=15), iterations=1)
    group = "ring single-thread floor: ns per (write 10 + read 400), 64 ch"
    copy_ring = best["lock+copy write + latest"]
    for name, ns in best.items():
        figure(group, name, ns, "ns")
    for name in floors:
        figure(group, f"lock+copy / ({name})", copy_ring / best[name], "x max speed-up")
    for name in ("moveo RingBuffer write + latest(out)",
                 "moveo RingBuffer write + latest(out, ts_out)"):
        figure(group, f"lock+copy / ({name})", copy_ring / best[name], "x", ">=2")
    assert all(np.isfinite(v) and v > 0 for v in best.values())


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


# ------------------------------------------------------------------ concurrent ring use
# The realtime case the ring exists for: one acquisition thread writing 10-sample chunks
# as fast as it can while a predict thread keeps reading 400-sample windows, both at
# once. Here lock-freedom matters: our producer never waits for a reader, a locked
# producer waits whenever a reader holds the lock for its copy.
CONCURRENT_IMPLS = ["lock+copy", "lock+np.roll", "moveo"]  # moveo last: it reports ratios
_CONCURRENT: dict[str, dict[str, float]] = {}


class _Reader:
    """A thread reading 400-sample windows from ``ring`` until stopped."""

    def __init__(self, impl: str, ring):
        self.ring = ring
        self.windows = 0  # only this thread writes it; the producer reads snapshots
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._out = np.empty((WINDOW, N_CH), np.float32) if impl == "moveo" else None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self):
        latest, out, stop = self.ring.latest, self._out, self._stop
        try:
            w = latest(WINDOW) if out is None else latest(WINDOW, out=out)
            assert len(w[0] if out is None else w) == WINDOW
            self._ready.set()
            while not stop.is_set():
                if out is None:
                    latest(WINDOW)
                else:
                    latest(WINDOW, out=out)
                self.windows += 1
        except BaseException as exc:  # pragma: no cover - re-raised by stop()
            self.error = exc
            self._ready.set()

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize("impl", CONCURRENT_IMPLS)
def test_ring_concurrent_writer_reader(benchmark, tag, bench_size, figure, impl):
    """Producer throughput and reader windows/s with both threads running at once.

    The timed call is the producer's loop of ``n_writes`` 10-sample writes; a reader
    thread (started, and in its steady loop, before the timer starts) reads 400-sample
    windows all the while. Reader windows/s counts the windows completed during the
    producer's loop.
    """
    # enough writes that the loop spans several GIL switch intervals (5 ms by default):
    # with both threads in Python, the reader mostly runs when the interpreter hands it
    # the GIL, so shorter loops would measure thread start-up rather than sharing
    n_writes = bench_size(small=3_000, full=50_000)
    rounds = bench_size(small=2, full=5)
    data, ts = _chunks(64)
    rounds_seen: list[dict] = []

    def setup():
        ring = _make(impl)
        for i in range(CAPACITY // WRITE):  # full ring: every read is a full window
            ring.write(data[i % 64], ts[i % 64])
        state = {"ring": ring, "reader": _Reader(impl, ring)}
        return (state,), {}

    def produce(state):
        write, reader = state["ring"].write, state["reader"]
        w0, t0 = reader.windows, time.perf_counter()
        for i in range(n_writes):
            j = i & 63
            write(data[j], ts[j])
        state["seconds"] = time.perf_counter() - t0
        state["windows"] = reader.windows - w0

    def teardown(state):
        state["reader"].stop()
        rounds_seen.append(state)

    tag(benchmark, f"ring concurrent: producer {n_writes} x (10 x 64) beside a 400 x 64 reader",
        ours=impl == "moveo", target={"lock+copy": ">=2", "lock+np.roll": ">=10"}.get(impl),
        label=impl)
    benchmark.pedantic(produce, setup=setup, teardown=teardown, rounds=rounds, iterations=1)

    samples_per_s = float(np.median([n_writes * WRITE / r["seconds"] for r in rounds_seen]))
    windows_per_s = float(np.median([r["windows"] / r["seconds"] for r in rounds_seen]))
    _CONCURRENT[impl] = {"samples": samples_per_s, "windows": windows_per_s}
    group = "ring concurrent: 1 writer (10 x 64) + 1 reader (400 x 64)"
    figure(group, f"{impl}: producer throughput", samples_per_s, "samples/s")
    figure(group, f"{impl}: reader windows", windows_per_s, "windows/s")
    if impl == "moveo":
        figure(group, "GIL switch interval (sys.getswitchinterval)",
               sys.getswitchinterval() * 1e3, "ms")
        for base, target in (("lock+copy", ">=2"), ("lock+np.roll", ">=10")):
            if base in _CONCURRENT:
                b = _CONCURRENT[base]
                figure(group, f"producer speed-up vs {base}", samples_per_s / b["samples"],
                       "x", target)
                figure(group, f"reader speed-up vs {base}",
                       windows_per_s / max(b["windows"], 1e-9), "x")
    assert len(rounds_seen) == rounds
    if impl == "moveo":  # nothing lost by the producer: every sample was published
        assert rounds_seen[-1]["ring"].count == (CAPACITY // WRITE + n_writes) * WRITE


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
