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


def test_realtime_demo_regression_scores_continuous_outputs(tmp_path, capsys):
    # outlet process with continuous targets -> recording -> targets dataset -> time-block CV
    # -> ridge on HTD -> smoothed + deadbanded live outputs over real LSL on loopback
    code = main(
        [
            "realtime",
            "demo",
            "--regression",
            "--record-s",
            "4",
            "--predict-s",
            "1.5",
            "--no-warmup",
            "--dataset",
            str(tmp_path / "emg"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "training ridge on HTD features" in out
    cv_line = next(x for x in out.splitlines() if x.startswith("time-block CV"))
    assert float(cv_line.split("R²")[1]) > 0.8
    line = next(x for x in out.splitlines() if x.startswith("online R²"))
    assert float(line.split()[2]) > 0.7
    assert "latency_ms" in out
    from moveo import Dataset

    assert Dataset.open(tmp_path / "emg").entries() == [("demo", "regression")]
    targets = Dataset.open(tmp_path / "emg-targets")
    assert targets.entries() == [("demo", "regression")]
    assert targets.meta["channels"] == ["dof1", "dof2"]


def test_regression_demo_validates_arguments():
    from moveo.cli.regression_demo import run_regression_demo

    with pytest.raises(ValueError, match="at least two blocks"):
        run_regression_demo(record_s=1.0, block_s=1.0)
    with pytest.raises(ValueError, match="n_dofs"):
        run_regression_demo(n_dofs=0)
