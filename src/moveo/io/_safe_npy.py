"""Load ``.npy`` files that hold pickled Python objects without running their code.

idtracker.ai's ``trajectories.npy`` and the CalMS21 ``.npy`` files are
``np.save(path, some_dict)``: a 0-d object array whose payload is a pickle.
``np.load(allow_pickle=True)`` would execute whatever that pickle asks for, and
moveo trusts nothing from a data file as code. :func:`load_npy` parses the
``.npy`` header itself and unpickles the payload with an allow-list that admits
only what numpy arrays, numpy scalars and plain containers need; anything else
(``os.system``, ``builtins.eval``, arbitrary classes) is refused with an error
naming the file and the refused name, before it is ever called.
"""

from __future__ import annotations

import ast
import io
import pathlib
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_npy"]

_MAGIC = b"\x93NUMPY"


def _numpy_callables() -> dict[tuple[str, str], Any]:
    # Take numpy's own reconstruction helpers from what numpy itself pickles, so the
    # names work for numpy 1.x ("numpy.core...") and 2.x ("numpy._core...") files
    # without importing the deprecated "numpy.core" aliases.
    reconstruct = np.ndarray((0,)).__reduce__()[0]
    scalar = np.float64(0.0).__reduce__()[0]
    frombuffer = np.arange(2).__reduce_ex__(5)[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = frombuffer
    # numpy >= 1.25 pickles dtypes of builtin kinds by their DType class name
    for name in dir(np.dtypes):
        if name.endswith("DType"):
            allowed[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    return allowed


_ALLOWED: dict[tuple[str, str], Any] = {
    **_numpy_callables(),
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "slice"): slice,
    ("collections", "OrderedDict"): dict,
    # protocol-2 pickles (Python 2 era) encode bytes as _codecs.encode(str, "latin1")
    ("_codecs", "encode"): lambda text, encoding="latin1": str(text).encode(str(encoding)),
    # paths become pure paths: a string holder, no file-system access
    ("pathlib", "Path"): pathlib.PurePath,
    ("pathlib", "PosixPath"): pathlib.PurePosixPath,
    ("pathlib", "WindowsPath"): pathlib.PureWindowsPath,
    ("pathlib", "PurePath"): pathlib.PurePath,
    ("pathlib", "PurePosixPath"): pathlib.PurePosixPath,
    ("pathlib", "PureWindowsPath"): pathlib.PureWindowsPath,
}


_PY2_MODULES = {"__builtin__": "builtins"}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # protocol 0-2 pickles name Python 2 modules (what fix_imports maps in pickle)
        module = _PY2_MODULES.get(module, module)
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None


def _read_header(fh: io.BufferedReader, path: Path, what: str) -> dict[str, Any]:
    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != _MAGIC:
        raise ValueError(f"{path}: not a .npy file (no NumPy magic bytes); {what} expected")
    major = magic[6]
    if major == 1:
        size_bytes, encoding = 2, "latin1"
    elif major in (2, 3):
        size_bytes, encoding = 4, "latin1" if major == 2 else "utf8"
    else:
        raise ValueError(f"{path}: unsupported .npy format version {major}.{magic[7]}")
    raw = fh.read(size_bytes)
    if len(raw) < size_bytes:
        raise ValueError(f"{path}: truncated .npy header; {what} expected")
    (length,) = struct.unpack("<H" if size_bytes == 2 else "<I", raw)
    text = fh.read(length)
    if len(text) < length:
        raise ValueError(f"{path}: truncated .npy header; {what} expected")
    try:
        header = ast.literal_eval(text.decode(encoding))
    except (ValueError, SyntaxError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: corrupt .npy header ({exc}); {what} expected") from exc
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise ValueError(f"{path}: corrupt .npy header; {what} expected")
    return header


def load_npy(path: str | Path, *, what: str) -> Any:
    """Load a ``.npy`` file; pickled object payloads go through an allow-list.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file should hold (used in error messages), e.g.
        ``"an idtracker.ai trajectories.npy"``.

    Returns
    -------
    object
        A numeric array as :func:`numpy.load` returns it; for an object array, its
        content (``.item()`` of a 0-d array, e.g. the dict that ``np.save`` stored).

    Raises
    ------
    ValueError
        Not a ``.npy`` file, a truncated or corrupt one, or a pickle that asks for
        anything outside the allow-list (the message names it).
    """
    path = Path(path)
    with open(path, "rb") as fh:
        header = _read_header(fh, path, what)
        if header["descr"] != "|O":
            fh.seek(0)
            try:
                return np.load(fh, allow_pickle=False)
            except ValueError as exc:
                raise ValueError(f"{path}: truncated or corrupt .npy ({exc}); {what} "
                                 "expected") from exc
        try:
            obj = _RestrictedUnpickler(fh, encoding="latin1").load()
        except _RefusedGlobal as exc:
            raise ValueError(
                f"{path}: refused to load: its pickle asks for {exc}, which is not a numpy "
                f"array, number, string or container. moveo never runs code from a data file; "
                f"{what} holds only arrays and plain values"
            ) from None
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
                IndexError, struct.error) as exc:
            raise ValueError(
                f"{path}: truncated or corrupt pickled .npy ({type(exc).__name__}: {exc}); "
                f"{what} expected"
            ) from exc
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        return obj.item()
    return obj
