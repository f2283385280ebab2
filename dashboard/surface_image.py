"""A city's IDW surface as a PNG overlay for the map, coloured by category (a hand-written encoder)."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from core.aqi.categories import band_positions

SURFACE_ALPHA = 150  # 0–255: the surface must not hide the tiles or the markers


def surface_png(surface: dict, cats: list[dict], alpha: int = SURFACE_ALPHA) -> bytes:
    """The surface as an RGBA PNG coloured by category (transparent where masked or without a category)."""
    z = np.array(surface["z"], dtype=float)
    mask = np.array(surface["mask"], dtype=bool)
    rgba = np.zeros(z.shape + (4,), dtype=np.uint8)
    # Index bounds are integers with gaps (50 → 51): the registry's rule rounds an interpolated 50.4 into "Good".
    position = band_positions([cat["low"] for cat in cats], z)
    for i, cat in enumerate(cats):
        rgba[(position == i) & mask] = [*(int(cat["color"][j:j + 2], 16) for j in (1, 3, 5)), alpha]
    return png_bytes(rgba)


def png_bytes(rgba: np.ndarray) -> bytes:
    """A minimal RGBA PNG encoder (no imaging library needed for a few-KB overlay)."""
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
