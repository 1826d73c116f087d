"""pair-wavelet: the log power equals pywt.cwt run per (id1, id2, perspective) block, as
mosaic does; frame gaps and NaN start new segments; column choice (PC prefix, cols,
numeric fallback); the empty table for one individual; clear errors; and the chain
pair-posedistance-pca -> pair-wavelet through run_feature and Pipeline (cached, stale
when the tracks change)."""

import numpy as np
import polars as pl
import pytest
import pywt

import moveo
from moveo.features import PairPoseDistancePCA, PairWavelet, get_feature
from moveo.features.pairs.wavelet import wavelet_band
from moveo.pipeline import FeatureStep, Pipeline


def pair_table(n=120, n_pc=2, seed=0, frames=None):
    rng = np.random.default_rng(seed)
    f = np.arange(n) if frames is None else np.asarray(frames)
    m = f.shape[0]
    cols = {f"PC{k}": rng.normal(size=2 * m) for k in range(n_pc)}
    return pl.DataFrame(
        {
            "frame": np.r_[f, f],
            "id1": [1] * m + [2] * m,
            "id2": [2] * m + [1] * m,
            "perspective": [0] * m + [1] * m,
            **cols,
        }
    )


def mosaic_block(signal, fps=30.0, f_min=0.2, f_max=5.0, n_freq=25, floor=-3.0):
    """mosaic's computation of one block: pywt.cwt, |.|^2 as float32, log, clamp."""
    _, scales = wavelet_band("cmor1.5-1.0", f_min, f_max, n_freq, fps)
    coef, _ = pywt.cwt(signal, scales, pywt.ContinuousWavelet("cmor1.5-1.0"), 1.0 / fps)
    power = (np.abs(coef) ** 2).astype(np.float32)
    return np.maximum(np.log(power + np.finfo(np.float32).tiny), floor).T


def w_cols(col, n_freq=25):
    return [f"W_{col}_f{k}" for k in range(n_freq)]


def test_registered_and_frequencies():
    assert get_feature("pair-wavelet") is PairWavelet
    freqs, scales = wavelet_band("cmor1.5-1.0", 0.2, 5.0, 25, 30.0)
    assert freqs[0] == pytest.approx(0.2) and freqs[-1] == pytest.approx(5.0)
    np.testing.assert_allclose(np.diff(np.log2(freqs)), np.log2(25.0) / 24)
    assert scales.dtype == np.float32 and scales[0] == pytest.approx(150.0)


def test_equals_pywt_per_block():
    df = pair_table(n_pc=6)
    out = PairWavelet().apply(df)
    assert out.columns[:4] == ["frame", "id1", "id2", "perspective"]
    assert len(out.columns) == 4 + 150 and out.columns[-1] == "W_PC5_f24"
    assert out.schema["W_PC0_f0"] == pl.Float32
    for ident in (1, 2):
        block = df.filter(pl.col("id1") == ident)
        got = out.filter(pl.col("id1") == ident)
        for col in ("PC0", "PC5"):
            want = mosaic_block(block[col].to_numpy())
            np.testing.assert_allclose(got.select(w_cols(col)).to_numpy(), want, atol=2e-6)


def test_gaps_and_nan_start_new_segments():
    frames = np.r_[np.arange(50), np.arange(60, 110)]  # a 10-frame gap
    df = pair_table(frames=frames, n_pc=1, seed=2)
    df = df.with_columns(PC0=pl.when(pl.int_range(pl.len()) == 70).then(np.nan).otherwise("PC0"))
    out = PairWavelet({"n_freq": 5}).apply(df)
    a = df.filter(pl.col("id1") == 1)["PC0"].to_numpy()
    got = out.filter(pl.col("id1") == 1).select(w_cols("PC0", 5)).to_numpy()
    for lo, hi in ((0, 50), (50, 70), (71, 100)):  # row 70 is NaN
        np.testing.assert_allclose(got[lo:hi], mosaic_block(a[lo:hi], n_freq=5), atol=2e-6)
    assert np.isnan(got[70]).all()
    # the other perspective is untouched by the NaN (its own block)
    b = df.filter(pl.col("id1") == 2)["PC0"].to_numpy()
    got_b = out.filter(pl.col("id1") == 2).select(w_cols("PC0", 5)).to_numpy()
    np.testing.assert_allclose(got_b[50:], mosaic_block(b[50:], n_freq=5), atol=2e-6)


def test_columns_fps_and_errors():
    df = pair_table(n_pc=2).rename({"PC0": "a", "PC1": "b"})
    # no PC columns: every numeric non-key column
    assert [c for c in PairWavelet({"n_freq": 2}).apply(df).columns if c.startswith("W_")] == [
        "W_a_f0",
        "W_a_f1",
        "W_b_f0",
        "W_b_f1",
    ]
    out = PairWavelet({"n_freq": 2, "cols": ["b", "zz"]}).apply(df)
    assert [c for c in out.columns if c.startswith("W_")] == ["W_b_f0", "W_b_f1"]
    with pytest.raises(ValueError, match="none of cols"):
        PairWavelet({"cols": ["zz"]}).apply(df)
    with pytest.raises(ValueError, match="perspective"):
        PairWavelet().apply(df.drop("perspective"))
    with pytest.raises(ValueError, match="continuous"):
        PairWavelet({"wavelet": "db4"})
    # an fps column with one value sets the frame rate
    fast = pair_table(n_pc=1).with_columns(fps=pl.lit(60.0))
    got = PairWavelet({"n_freq": 3}).apply(fast).filter(pl.col("id1") == 1)
    want = mosaic_block(fast.filter(pl.col("id1") == 1)["PC0"].to_numpy(), fps=60.0, n_freq=3)
    np.testing.assert_allclose(got.select(w_cols("PC0", 3)).to_numpy(), want, atol=2e-6)


def pose_tracks(n_ids=2, n=90, shift=0.0):
    rows = []
    for ident in range(n_ids):
        for f in range(n):
            h = 0.05 * f * (ident + 1)
            row = {"id": ident, "frame": f, "X": 10.0 * ident + shift, "Y": 0.0, "ANGLE": h}
            for k in range(7):
                row[f"poseX{k}"] = 10.0 * ident + (3 - k) * np.cos(h + 0.1 * k) + shift
                row[f"poseY{k}"] = (3 - k) * np.sin(h + 0.1 * k * np.sin(f / 4))
            rows.append(row)
    return pl.DataFrame(rows)


def test_pipeline_chain_cached_and_stale(tmp_path):
    ds = moveo.Dataset.create(tmp_path / "ds", fps=30.0)
    ds.add_tracks(pose_tracks(), group="g", sequence="s")
    pipe = (
        Pipeline(name="spectra")
        .add(FeatureStep("pca", PairPoseDistancePCA, params={"n_components": 3}))
        .add(FeatureStep("wavelet", PairWavelet, params={"n_freq": 4}, input_names=["pca"]))
    )
    res = pipe.run(ds)
    pca = moveo.read_feature(ds, res["pca"], "g", "s")
    spec = moveo.read_feature(ds, res["wavelet"], "g", "s")
    assert spec.height == pca.height == 180
    assert spec.columns[-1] == "W_PC2_f3"
    block = pca.filter(pl.col("id1") == 0)
    np.testing.assert_allclose(
        spec.filter(pl.col("id1") == 0).select(w_cols("PC1", 4)).to_numpy(),
        mosaic_block(block["PC1"].to_numpy(), n_freq=4),
        atol=2e-6,
    )
    assert set(pipe.status(ds)["state"]) == {"cached"}
    ds.add_tracks(pose_tracks(shift=1.0), group="g", sequence="s", overwrite=True)
    assert set(pipe.status(ds)["state"]) == {"stale"}
    again = pipe.run(ds)
    assert set(pipe.status(ds)["state"]) == {"cached"}
    # the entry was recomputed from the new tracks (the stale output is not served)
    fresh = moveo.read_feature(ds, again["wavelet"], "g", "s")
    pca2 = moveo.read_feature(ds, again["pca"], "g", "s").filter(pl.col("id1") == 0)
    np.testing.assert_allclose(
        fresh.filter(pl.col("id1") == 0).select(w_cols("PC1", 4)).to_numpy(),
        mosaic_block(pca2["PC1"].to_numpy(), n_freq=4),
        atol=2e-6,
    )


def test_one_individual_gives_an_empty_table_with_all_columns():
    # one individual: its pair table has no rows (pair-posedistance-pca itself refuses to
    # fit on no rows, with a clear error); the spectrogram of it is empty too
    empty = pair_table(n_pc=2).head(0).with_columns(group=pl.lit("g"), sequence=pl.lit("s"))
    out = PairWavelet({"n_freq": 2}).apply(empty)
    assert out.height == 0
    assert out.columns == [
        "group",
        "sequence",
        "frame",
        "id1",
        "id2",
        "perspective",
        "W_PC0_f0",
        "W_PC0_f1",
        "W_PC1_f0",
        "W_PC1_f1",
    ]
