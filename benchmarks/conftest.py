"""Benchmark harness: ours vs baseline, side by side in one run, reported as ratios.

Every benchmark is a pytest-benchmark test. Tag it with the ``tag`` fixture so the
summary at the end of the run can pair it with its baseline::

    @pytest.mark.parametrize("impl", ["moveo", "numpy"])
    def test_speed(benchmark, tag, impl, bench_size):
        n = bench_size(small=10_000, full=10_000_000)
        fn = {"moveo": ours, "numpy": baseline}[impl]
        tag(benchmark, "speed-angvel 10M", ours=impl == "moveo", target=">=3")
        benchmark(fn, data)

Targets are written from the point of view of the *speed-up* (baseline time /
our time): ``">=3"`` means "at least 3x faster than this baseline"; ``"<=3"``
on a roofline baseline (a memcpy) means "at most 3x slower than the copy" and
is written as ``"ours/base<=3"``.

Figures that are not timings of a callable (jitter percentiles, latency, peak
memory) go through the ``figure`` fixture and land in a second table.

Sizes: ``MOVEO_BENCH_SIZE=small`` (default; CI runs these so they never rot)
or ``full`` (``nox -s bench``). Ratios are reported, not asserted: machines
here are shared and noisy, so a ratio is a measurement for a human to read.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

SIZE = os.environ.get("MOVEO_BENCH_SIZE", "small").strip().lower()
if SIZE not in {"small", "full"}:
    raise RuntimeError(f"MOVEO_BENCH_SIZE must be 'small' or 'full', not {SIZE!r}")

_FIGURES: list[dict[str, Any]] = []


def _tag(
    benchmark: Any, group: str, *, ours: bool, target: str | None = None, label: str = ""
) -> None:
    """Label a pytest-benchmark run as ours or a baseline within ``group``.

    Parameters
    ----------
    benchmark : pytest-benchmark fixture
    group : str
        Comparison group; one "ours" and any number of baselines per group.
    ours : bool
        True for moveo's implementation.
    target : str, optional
        On a baseline: ``">=K"`` (speed-up of ours over it at least K) or
        ``"ours/base<=K"`` (our time at most K times the baseline's).
    label : str, optional
        Display name (defaults to the test id).
    """
    benchmark.group = group
    benchmark.extra_info["role"] = "ours" if ours else "baseline"
    if target:
        benchmark.extra_info["target"] = target
    if label:
        benchmark.extra_info["label"] = label


@pytest.fixture(scope="session")
def tag():
    """Return :func:`_tag`: ``tag(benchmark, group, ours=..., target=...)``."""
    return _tag


@pytest.fixture(scope="session")
def bench_size():
    """Return a chooser ``bench_size(small=..., full=...)`` for the current size."""

    def choose(*, small: Any, full: Any) -> Any:
        return full if SIZE == "full" else small

    return choose


@pytest.fixture
def figure():
    """Record a measured figure: ``figure(group, metric, value, unit="", target="")``."""

    def record(group: str, metric: str, value: float, unit: str = "", target: str = "") -> None:
        _FIGURES.append(
            {
                "group": group,
                "metric": metric,
                "value": float(value),
                "unit": unit,
                "target": target,
            }
        )

    return record


def _check_target(target: str, speedup: float) -> str:
    target = target.replace(" ", "")
    try:
        if target.startswith(">="):
            return "yes" if speedup >= float(target[2:]) else "NO"
        if target.startswith("ours/base<="):
            return "yes" if (1.0 / speedup) <= float(target[len("ours/base<=") :]) else "NO"
    except ValueError:
        return "?"
    return "?"


def _ratio_rows(config: pytest.Config) -> list[dict[str, Any]]:
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return []
    by_group: dict[str, list[Any]] = defaultdict(list)
    for bench in session.benchmarks:
        if getattr(bench, "stats", None) is None or not bench.extra_info.get("role"):
            continue
        by_group[bench.group].append(bench)
    rows = []
    for group, benches in sorted(by_group.items()):
        ours = [b for b in benches if b.extra_info["role"] == "ours"]
        if len(ours) != 1:
            continue
        ours_t = ours[0].stats.median
        for base in benches:
            if base.extra_info["role"] != "baseline":
                continue
            base_t = base.stats.median
            speedup = base_t / ours_t if ours_t > 0 else float("inf")
            target = base.extra_info.get("target", "")
            rows.append(
                {
                    "group": group,
                    "ours": ours[0].extra_info.get("label") or ours[0].name,
                    "baseline": base.extra_info.get("label") or base.name,
                    "ours_s": ours_t,
                    "baseline_s": base_t,
                    "speedup": speedup,
                    "target": target,
                    "met": _check_target(target, speedup) if target else "",
                }
            )
    return rows


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    rows = _ratio_rows(config)
    if not rows and not _FIGURES:
        return
    lines = [f"moveo benchmark ratios (size={SIZE}; speed-up = baseline time / our time)", ""]
    if rows:
        lines.append(
            "| group | baseline | ours median s | baseline median s | speed-up | target | met |"
        )
        lines.append("|---|---|---:|---:|---:|---|---|")
        for r in rows:
            lines.append(
                f"| {r['group']} | {r['baseline']} | {r['ours_s']:.6g} | {r['baseline_s']:.6g} "
                f"| {r['speedup']:.2f}x | {r['target']} | {r['met']} |"
            )
    if _FIGURES:
        lines += ["", "| group | metric | value | unit | target |", "|---|---|---:|---|---|"]
        for f in _FIGURES:
            lines.append(
                f"| {f['group']} | {f['metric']} | {f['value']:.6g} | {f['unit']} | {f['target']} |"
            )
    text = "\n".join(lines)
    terminalreporter.write_sep("=", "moveo benchmark ratios")
    terminalreporter.write_line(text)
    out = Path(config.rootpath) / f".bench-ratios-{SIZE}.md"
    out.write_text(text + "\n")
    (Path(config.rootpath) / f".bench-ratios-{SIZE}.json").write_text(
        json.dumps({"ratios": rows, "figures": _FIGURES}, indent=2)
    )
