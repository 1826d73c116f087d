"""Reader benchmarks: ingest throughput of each reader vs the obvious pandas route.

Each group reads the same file twice in one session: with moveo's reader, and the
way one would without it (pandas ``read_csv``/``read_hdf`` with a multi-row header
and ``stack``; ``np.load(allow_pickle=True)`` into a DataFrame; ``json.load`` into a
DataFrame; sleap-io's ``Labels.numpy()`` into a DataFrame; xarray's
``to_dataframe``). Both produce one row per (individual, frame) with the keypoints
as columns and a centroid; moveo's also validates, names the columns and refuses
unsafe pickles. Figures: rows/s of ours; the ratio table reports speed-ups.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

N_BP = 8


def _rows(benchmark, figure, group, n_rows):
    figure(group, "ours: rows/s", n_rows / benchmark.stats.stats.median, "rows/s")


# --------------------------------------------------------------------------- DeepLabCut
@pytest.fixture(scope="module")
def dlc_files(tmp_path_factory, bench_size):
    pytest.importorskip("tables")
    n = bench_size(small=2_000, full=100_000)
    rng = np.random.default_rng(0)
    cols = pd.MultiIndex.from_product(
        [["DLC_resnet50"], ["m1", "m2"], [f"bp{k}" for k in range(N_BP)],
         ["x", "y", "likelihood"]],
        names=["scorer", "individuals", "bodyparts", "coords"],
    )
    df = pd.DataFrame(rng.uniform(0, 640, size=(n, len(cols))), columns=cols)
    folder = tmp_path_factory.mktemp("dlc")
    csv, h5 = folder / "videoDLC_resnet50.csv", folder / "videoDLC_resnet50.h5"
    df.to_csv(csv)
    df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
    return {"csv": csv, "h5": h5, "rows": 2 * n}


def _pandas_long(df):
    """The pandas route: stack the individuals level, flatten, add the centroid."""
    df = df.droplevel("scorer", axis=1)
    if "individuals" in df.columns.names:
        df = df.stack(level="individuals", future_stack=True)
    df.columns = [f"{bp}_{co}" for bp, co in df.columns]
    df["X"] = df[[c for c in df.columns if c.endswith("_x")]].mean(axis=1)
    df["Y"] = df[[c for c in df.columns if c.endswith("_y")]].mean(axis=1)
    return df.reset_index()


@pytest.mark.parametrize("impl", ["moveo", "pandas"])
def test_dlc_csv(benchmark, tag, figure, impl, dlc_files):
    from moveo.io import read_dlc

    group = f"io: DLC csv, 2 animals x {N_BP} bodyparts, {dlc_files['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target=">=2")
    if impl == "moveo":
        out = benchmark(read_dlc, dlc_files["csv"])
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(lambda: _pandas_long(pd.read_csv(dlc_files["csv"], header=[0, 1, 2, 3],
                                                         index_col=0)))
    assert len(out) == dlc_files["rows"]


@pytest.mark.parametrize("impl", ["moveo", "pandas"])
def test_dlc_h5(benchmark, tag, figure, impl, dlc_files):
    from moveo.io import read_dlc

    group = f"io: DLC h5, 2 animals x {N_BP} bodyparts, {dlc_files['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target=">=1")
    if impl == "moveo":
        out = benchmark(read_dlc, dlc_files["h5"])
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(lambda: _pandas_long(pd.read_hdf(dlc_files["h5"])))
    assert len(out) == dlc_files["rows"]


# --------------------------------------------------------------------------- Lightning Pose
@pytest.fixture(scope="module")
def lp_file(tmp_path_factory, bench_size):
    n = bench_size(small=4_000, full=200_000)
    rng = np.random.default_rng(1)
    cols = pd.MultiIndex.from_product(
        [["heatmap_tracker"], [f"bp{k}" for k in range(N_BP)], ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"],
    )
    path = tmp_path_factory.mktemp("lp") / "video.csv"
    pd.DataFrame(rng.uniform(0, 640, size=(n, len(cols))), columns=cols).to_csv(path)
    return {"path": path, "rows": n}


@pytest.mark.parametrize("impl", ["moveo", "pandas"])
def test_lightning_pose(benchmark, tag, figure, impl, lp_file):
    from moveo.io import read_lightning_pose

    group = f"io: Lightning Pose csv, {N_BP} bodyparts, {lp_file['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target=">=1.5")
    if impl == "moveo":
        out = benchmark(read_lightning_pose, lp_file["path"])
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(lambda: _pandas_long(pd.read_csv(lp_file["path"], header=[0, 1, 2],
                                                         index_col=0)))
    assert len(out) == lp_file["rows"]


# --------------------------------------------------------------------------- idtracker.ai
@pytest.fixture(scope="module")
def idtracker_file(tmp_path_factory, bench_size):
    n = bench_size(small=5_000, full=200_000)
    n_ind = 10
    traj = np.random.default_rng(2).uniform(0, 1000, size=(n, n_ind, 2))
    path = tmp_path_factory.mktemp("idt") / "trajectories.npy"
    np.save(path, {"trajectories": traj, "frames_per_second": 30.0, "body_length": 40.0},
            allow_pickle=True)
    return {"path": path, "rows": n * n_ind}


@pytest.mark.parametrize("impl", ["moveo", "numpy+pandas"])
def test_idtracker(benchmark, tag, figure, impl, idtracker_file):
    from moveo.io import read_idtracker

    group = f"io: idtracker.ai npy, {idtracker_file['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target="ours/base<=2")

    def pandas_route():
        traj = np.load(idtracker_file["path"], allow_pickle=True).item()["trajectories"]
        n, k, _ = traj.shape
        return pd.DataFrame({
            "id": np.repeat(np.arange(1, k + 1), n), "frame": np.tile(np.arange(n), k),
            "X": traj[:, :, 0].T.ravel(), "Y": traj[:, :, 1].T.ravel(),
        })

    if impl == "moveo":
        out = benchmark(read_idtracker, idtracker_file["path"])
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(pandas_route)
    assert len(out) == idtracker_file["rows"]


# --------------------------------------------------------------------------- CalMS21
@pytest.fixture(scope="module")
def calms_file(tmp_path_factory, bench_size):
    n_seq, n = bench_size(small=(2, 1_000), full=(20, 5_000))
    rng = np.random.default_rng(3)
    data = {"annotator-id_0": {
        f"task1/train/mouse{s:03d}": {
            "keypoints": rng.uniform(0, 1000, size=(n, 2, 2, 7)).round(2).tolist(),
            "scores": rng.uniform(size=(n, 2, 7)).round(3).tolist(),
            "annotations": rng.integers(0, 4, n).tolist(),
            "metadata": {"vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3}},
        } for s in range(n_seq)}}
    path = tmp_path_factory.mktemp("calms") / "calms21_task1_train.json"
    path.write_text(json.dumps(data))
    return {"path": path, "rows": n_seq * n * 2}


@pytest.mark.parametrize("impl", ["moveo", "json+pandas"])
def test_calms21(benchmark, tag, figure, impl, calms_file):
    from moveo.io import read_calms21

    group = f"io: CalMS21 json, {calms_file['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target=">=1")

    def pandas_route():
        with open(calms_file["path"]) as fh:
            data = json.load(fh)
        parts, labels = [], []
        for seqs in data.values():
            for name, seq in seqs.items():
                kp = np.asarray(seq["keypoints"])
                sc = np.asarray(seq["scores"])
                n = kp.shape[0]
                for m in range(kp.shape[1]):
                    cols = {f"x{k}": kp[:, m, 0, k] for k in range(7)}
                    cols |= {f"y{k}": kp[:, m, 1, k] for k in range(7)}
                    cols |= {f"p{k}": sc[:, m, k] for k in range(7)}
                    df = pd.DataFrame({"sequence": name, "id": m, "frame": np.arange(n), **cols})
                    df["X"] = kp[:, m, 0].mean(axis=1)
                    df["Y"] = kp[:, m, 1].mean(axis=1)
                    parts.append(df)
                vocab = {v: k for k, v in seq["metadata"]["vocab"].items()}
                labels.append(pd.DataFrame({"sequence": name, "frame": np.arange(n),
                                            "label": pd.Series(seq["annotations"]).map(vocab)}))
        return pd.concat(parts, ignore_index=True), pd.concat(labels, ignore_index=True)

    if impl == "moveo":
        tracks, _ = benchmark(read_calms21, calms_file["path"])
        _rows(benchmark, figure, group, tracks.height)
        n_out = tracks.height
    else:
        n_out = len(benchmark(pandas_route)[0])
    assert n_out == calms_file["rows"]


# --------------------------------------------------------------------------- SLEAP
@pytest.fixture(scope="module")
def sleap_file(tmp_path_factory, bench_size):
    sio = pytest.importorskip("sleap_io")
    n = bench_size(small=500, full=20_000)
    rng = np.random.default_rng(4)
    skel = sio.Skeleton([f"n{k}" for k in range(N_BP)])
    vid = sio.Video(filename="video.mp4", open_backend=False)
    tracks = [sio.Track(name=f"t{i}") for i in range(2)]
    lfs = [
        sio.LabeledFrame(video=vid, frame_idx=f, instances=[
            sio.PredictedInstance.from_numpy(
                rng.uniform(0, 500, size=(N_BP, 2)), skeleton=skel,
                point_scores=rng.uniform(size=N_BP), score=0.9, track=t, tracking_score=0.8)
            for t in tracks])
        for f in range(n)
    ]
    path = tmp_path_factory.mktemp("sleap") / "video.slp"
    sio.save_slp(sio.Labels(lfs, videos=[vid], skeletons=[skel], tracks=tracks), str(path))
    return {"path": path, "rows": 2 * n}


@pytest.mark.parametrize("impl", ["moveo", "sleap-io+pandas"])
def test_sleap(benchmark, tag, figure, impl, sleap_file):
    import sleap_io as sio

    from moveo.io import read_sleap

    group = f"io: SLEAP slp, {N_BP} nodes, {sleap_file['rows']} rows"
    tag(benchmark, group, ours=impl == "moveo", target="ours/base<=1.5")

    def pandas_route():
        labels = sio.load_slp(str(sleap_file["path"]), open_videos=False)
        arr = labels.numpy(return_confidence=True)  # (frames, tracks, nodes, 3), float32
        n, k, n_nodes, _ = arr.shape
        flat = arr.transpose(1, 0, 2, 3).reshape(k * n, n_nodes * 3)
        df = pd.DataFrame(flat, columns=[f"n{j}_{c}" for j in range(n_nodes)
                                         for c in ("x", "y", "score")])
        df.insert(0, "frame", np.tile(np.arange(n), k))
        df.insert(0, "track", np.repeat(np.arange(k), n))
        df["X"] = arr[..., 0].transpose(1, 0, 2).reshape(k * n, n_nodes).mean(axis=1)
        df["Y"] = arr[..., 1].transpose(1, 0, 2).reshape(k * n, n_nodes).mean(axis=1)
        return df

    if impl == "moveo":
        out = benchmark(read_sleap, sleap_file["path"])
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(pandas_route)
    assert len(out) == sleap_file["rows"]


# --------------------------------------------------------------------------- movement
@pytest.fixture(scope="module")
def movement_ds(bench_size):
    xr = pytest.importorskip("xarray")
    n = bench_size(small=5_000, full=200_000)
    rng = np.random.default_rng(5)
    return xr.Dataset(
        {"position": (("time", "space", "keypoints", "individuals"),
                      rng.uniform(size=(n, 2, N_BP, 3))),
         "confidence": (("time", "keypoints", "individuals"), rng.uniform(size=(n, N_BP, 3)))},
        coords={"time": np.arange(n) / 30.0, "space": ["x", "y"],
                "keypoints": [f"k{i}" for i in range(N_BP)], "individuals": ["a", "b", "c"]},
        attrs={"fps": 30.0, "time_unit": "seconds", "source_software": "test"},
    )


@pytest.mark.parametrize("impl", ["moveo", "xarray+pandas"])
def test_from_movement(benchmark, tag, figure, impl, movement_ds):
    from moveo.io import from_movement

    n_rows = movement_ds.sizes["time"] * movement_ds.sizes["individuals"]
    group = f"io: from_movement, {N_BP} keypoints, {n_rows} rows"
    tag(benchmark, group, ours=impl == "moveo", target=">=2")

    def pandas_route():
        pos = movement_ds["position"].to_dataframe().unstack(["space", "keypoints"])
        pos.columns = ["_".join(map(str, c)) for c in pos.columns]
        conf = movement_ds["confidence"].to_dataframe().unstack("keypoints")
        conf.columns = ["_".join(map(str, c)) for c in conf.columns]
        out = pos.join(conf)
        out["X"] = out[[c for c in out.columns if c.startswith("position_x")]].mean(axis=1)
        out["Y"] = out[[c for c in out.columns if c.startswith("position_y")]].mean(axis=1)
        return out.reset_index()

    if impl == "moveo":
        out = benchmark(from_movement, movement_ds)
        _rows(benchmark, figure, group, out.height)
    else:
        out = benchmark(pandas_route)
    assert len(out) == n_rows


@pytest.mark.parametrize("impl", ["moveo", "np.load(allow_pickle=True)"])
def test_restricted_unpickler(benchmark, tag, impl, idtracker_file):
    """Refusing code in pickles must not make loading slow: restricted vs plain np.load."""
    from moveo.io._safe_npy import load_npy

    path = idtracker_file["path"]
    tag(benchmark, f"io: pickled .npy load, {idtracker_file['rows']} rows",
        ours=impl == "moveo", target="ours/base<=1.5")
    if impl == "moveo":
        out = benchmark(load_npy, path, what="an idtracker.ai file")
    else:
        out = benchmark(lambda: np.load(path, allow_pickle=True).item())
    assert out["trajectories"].shape[1] == 10
