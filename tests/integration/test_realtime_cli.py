"""``moveo realtime demo`` end to end (outlet process, recording, LDA, prediction)."""

from __future__ import annotations

import pytest

from moveo.cli import main

pytestmark = pytest.mark.lsl


def test_realtime_demo_prints_accuracy_and_stats(tmp_path, capsys):
    code = main(
        [
            "realtime",
            "demo",
            "--record-s",
            "3",
            "--predict-s",
            "1.5",
            "--no-warmup",
            "--dataset",
            str(tmp_path / "emg"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "training LDA on HTD features" in out
    line = next(x for x in out.splitlines() if x.startswith("accuracy"))
    assert float(line.split()[1]) > 0.8
    assert "latency_ms" in out
    assert "ticks" in out
    from moveo import Dataset

    ds = Dataset.open(tmp_path / "emg")
    assert ds.entries() == [("demo", "cued")]


def test_demo_rejects_window_longer_than_cue():
    from moveo.cli.realtime import run_demo

    with pytest.raises(ValueError, match="must be shorter than a cue"):
        run_demo(window_ms=600, cue_s=0.5)


def test_realtime_help(capsys):
    assert main(["realtime"]) == 2
    assert "demo" in capsys.readouterr().out
