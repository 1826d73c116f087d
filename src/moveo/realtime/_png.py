"""Minimal PNG writer and reader (8-bit greyscale, RGB, RGBA; no extra dependency).

The rig window saves its screenshots with :func:`write_png`; tests read them back
with :func:`read_png` to compare regions.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_png", "write_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOUR_TYPES.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an 8-bit image as PNG.

    Parameters
    ----------
    path : str or Path
        Destination (parent folders are created).
    image : ndarray of shape (height, width) or (height, width, 1 | 3 | 4), uint8
        Rows top to bottom.

    Returns
    -------
    Path
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in _COLOUR_TYPES or 0 in img.shape[:2]:
        raise ValueError(f"image must have shape (h, w[, 1|3|4]) with h, w > 0, got {img.shape}")
    h, w, c = img.shape
    raw = np.zeros((h, 1 + w * c), np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = np.ascontiguousarray(img).reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOUR_TYPES[c], 0, 0, 0)
    data = _SIGNATURE + _chunk(b"IHDR", header) + _chunk(
        b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b"")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: str | Path) -> np.ndarray:
    """Read an 8-bit, non-interlaced greyscale / RGB / RGBA PNG.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of shape (height, width, channels), uint8
    """
    blob = Path(path).read_bytes()
    if not blob.startswith(_SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    pos = len(_SIGNATURE)
    idat = []
    header = None
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind = blob[pos + 4:pos + 8]
        body = blob[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    w, h, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported")
    c = _CHANNELS[colour]
    stride = w * c
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + stride)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth depend on the reconstructed left neighbour
            row = np.zeros(stride, np.int32)
            for x in range(stride):
                left = row[x - c] if x >= c else 0
                up = prev[x]
                upleft = prev[x - c] if x >= c else 0
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) // 2
                elif kind == 4:
                    pred = _paeth(left, up, upleft)
                else:
                    raise ValueError(f"{path}: unknown PNG filter type {kind}")
                row[x] = (line[x] + pred) & 0xFF
        out[y] = row
        prev = row
    return out.reshape(h, w, c)
