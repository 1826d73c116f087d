"""moveo vs LibEMG 2.0.3, side by side: values per feature code and the batch speed-up.

Not a pytest module (no ``test_`` prefix, never collected): LibEMG is not a moveo
dependency, so it runs in its own virtual environment, in a child process this
script starts. The same windows go to both sides (written to a temporary ``.npy``).

Usage (from the repository root)::

    python3.11 -m venv /work/throwaway/libemg
    /work/throwaway/libemg/bin/pip install libemg==2.0.3
    PYTHONPATH=src python benchmarks/libemg_compare.py values \\
        --libemg-python /work/throwaway/libemg/bin/python
    PYTHONPATH=src python benchmarks/libemg_compare.py speed --channels 64 --seconds 60 \\
        --libemg-python /work/throwaway/libemg/bin/python

``values`` prints, for every code both libraries have, the largest relative
difference on the same windows (8 channels, 2 kHz, window 200 / hop 25 by default).
``speed`` times one ``moveo.emg.extract`` call over the 36 codes of issue 19
against one ``FeatureExtractor.extract_features`` call over the same codes
(best of ``--repeat`` runs each, LibEMG timed inside its own process) and prints
the ratio.

When run by the LibEMG interpreter with ``--libemg-side``, this file imports only
numpy and libemg (the top of the module imports nothing from moveo).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FS = 2000.0
SIZE, HOP = 200, 25

BATCH_CODES = [
    "MAV", "IAV", "RMS", "VAR", "MEAN", "MPK", "LD", "TM", "ISD", "MLK", "LS", "WL", "MFL",
    "MAVFD", "DASDV", "MDIFF", "MZP", "COR", "WAMP", "SSC", "ZC", "ACT", "MOB", "M0", "M2",
    "M4", "SPARSI", "IRF", "WLF", "SKEW", "KURT", "MNF", "MDF", "MNP", "SM", "PAP",
]  # fmt: skip
"""The 36 codes of issue 19 §2 (those LibEMG 2.0.3 has with one column per channel)."""


def recording(n_channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Synthetic surface EMG: amplitude-modulated coloured noise, float64 (n_samples, n_ch)."""
    rng = np.random.default_rng(seed)
    n = int(FS * seconds)
    noise = rng.standard_normal((n + 2, n_channels))
    coloured = noise[2:] - 0.5 * noise[1:-1] + 0.2 * noise[:-2]
    t = np.arange(n) / FS
    envelope = 0.2 + np.abs(np.sin(2 * np.pi * 0.5 * t[:, None] + np.arange(n_channels)))
    return np.ascontiguousarray(coloured * envelope * 1e-3)  # volts: 0.2 .. 1.2 mV


def libemg_windows(data: np.ndarray) -> np.ndarray:
    """Windows as LibEMG's ``utils.get_windows`` makes them: a C-ordered copy (n_w, n_ch, size)."""
    n_w = (data.shape[0] - SIZE) // HOP + 1
    return np.ascontiguousarray(np.stack([data[w * HOP : w * HOP + SIZE].T for w in range(n_w)]))


# --------------------------------------------------------------------------- LibEMG side

_TAKES_FS = ("MDF", "MNF", "SM", "DFTR", "WENG", "WV", "WWL", "WENT")


def _libemg_side(windows_path: str, out_path: str, codes: list[str], repeat: int) -> None:
    import warnings

    from libemg.feature_extractor import FeatureExtractor

    warnings.simplefilter("ignore")
    wins = np.load(windows_path)
    fe = FeatureExtractor()
    # the sampling rate for the codes that take one (LibEMG's default is 1000 Hz)
    params = {f"{code}_fs": FS for code in codes if code in _TAKES_FS}
    timings = {}
    if repeat:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            feats = fe.extract_features(codes, wins, params)
            best = min(best, time.perf_counter() - start)
        timings["all"] = best
    else:
        # one code per call: LibEMG hands a code every key containing "<code>_", so
        # WWL_fs would also reach getWLfeat
        feats = {}
        for code in codes:
            mine = {k: v for k, v in params.items() if k.startswith(code + "_")}
            feats.update(fe.extract_features([code], wins, mine))
    np.savez(out_path, **{k: np.asarray(v, dtype=np.float64) for k, v in feats.items()})
    Path(out_path + ".json").write_text(json.dumps(timings))


def run_libemg(
    python: str, wins: np.ndarray, codes: list[str], repeat: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Run LibEMG's FeatureExtractor on ``wins`` in ``python`` (its own venv)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "windows.npy")
        dst = os.path.join(tmp, "features.npz")
        np.save(src, wins)
        subprocess.run(
            [python, __file__, "--libemg-side", src, dst, str(repeat), *codes],
            check=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        with np.load(dst) as z:
            feats = {k: z[k] for k in z.files}
        timings = json.loads(Path(dst + ".json").read_text())
    return feats, timings


# --------------------------------------------------------------------------- moveo side


def _moveo_matrix(code: str, value: np.ndarray, libemg_shape: tuple[int, ...]) -> np.ndarray:
    # LibEMG stacks multi-column features band-major for wavelets, channel-major otherwise
    n_w = value.shape[0]
    if value.ndim == 2:
        return value
    if code in ("WENG", "WV", "WWL"):
        return value.transpose(0, 2, 1).reshape(n_w, -1)
    return value.reshape(n_w, -1)


def values(args: argparse.Namespace) -> None:
    """Print the largest relative difference per shared code."""
    from moveo.emg import FEATURES, extract, windows

    data = recording(args.channels, args.seconds)
    lib_codes = list(FEATURES)
    ours_w = windows(data, SIZE, HOP)
    lib, _ = run_libemg(args.libemg_python, libemg_windows(data), list(FEATURES))
    print(f"{'code':10s} {'max rel diff':>14s}  shapes (moveo / LibEMG)")
    for code in lib_codes:
        if code not in lib:
            print(f"{code:10s} {'(not in LibEMG)':>14s}")
            continue
        try:
            mine = extract(ours_w, code, fs=FS)[code]
        except ValueError as err:
            print(f"{code:10s} {'moveo error':>14s}  {err}")
            continue
        theirs = lib[code]
        mat = _moveo_matrix(code, mine, theirs.shape)
        if mat.shape != theirs.shape:
            print(f"{code:10s} {'shape':>14s}  {mine.shape} / {theirs.shape}")
            continue
        with np.errstate(all="ignore"):
            scale = np.maximum(np.abs(theirs), 1e-300)
            rel = np.abs(mat - theirs) / scale
            both_nan = np.isnan(mat) & np.isnan(theirs)
            same_inf = np.isinf(mat) & (mat == theirs)
            rel[both_nan | same_inf] = 0.0
        print(
            f"{code:10s} {np.nanmax(rel) if np.isfinite(rel).any() else np.inf:14.3e}  "
            f"{mine.shape} / {theirs.shape}"
        )


def speed(args: argparse.Namespace) -> None:
    """Time the 36-code batch call on both sides and print the ratio."""
    import moveo
    from moveo.emg import extract, windows

    moveo.warmup()
    data = recording(args.channels, args.seconds)
    w = windows(data, SIZE, HOP)
    extract(w[:2], BATCH_CODES, fs=FS)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        extract(w, BATCH_CODES, fs=FS)
        best = min(best, time.perf_counter() - start)
    _, timings = run_libemg(args.libemg_python, libemg_windows(data), BATCH_CODES, args.repeat)
    theirs = timings["all"]
    print(
        f"{len(BATCH_CODES)} codes, {args.channels} ch x {FS / 1000:g} kHz x {args.seconds:g} s, "
        f"window {SIZE} / hop {HOP}, float64 (n_samples, n_channels): moveo {best:.3f} s, "
        f"LibEMG 2.0.3 {theirs:.3f} s, ratio {theirs / best:.1f}x"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--libemg-side":
        _libemg_side(argv[1], argv[2], argv[4:], int(argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["values", "speed"])
    parser.add_argument("--libemg-python", default="/work/throwaway/libemg/bin/python")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    {"values": values, "speed": speed}[args.mode](args)


if __name__ == "__main__":
    main()
