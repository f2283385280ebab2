"""The surface's PNG overlay, decoded back to pixels."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from core.aqi.engine import categories
from dashboard.surface_image import png_bytes, surface_png


def test_surface_png_is_a_valid_rgba_png_in_category_colours():
    surface = {"z": [[10.0, 75.0], [120.0, 400.0]], "mask": [[True, True], [True, False]]}
    data = surface_png(surface, categories("us_epa"), alpha=200)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (2, 2)
    idat = data.index(b"IDAT")
    raw = zlib.decompress(data[idat + 4: idat + 4 + struct.unpack(">I", data[idat - 4: idat])[0]])
    pixels = [raw[1:9], raw[10:18]]
    assert pixels[0][:4] == bytes([0x00, 0xE4, 0x00, 200])  # Good
    assert pixels[0][4:] == bytes([0xFF, 0xFF, 0x00, 200])  # Moderate
    assert pixels[1][:4] == bytes([0xFF, 0x7E, 0x00, 200])  # USG
    assert pixels[1][4:] == bytes([0, 0, 0, 0])  # masked: transparent
    assert png_bytes(np.zeros((1, 1, 4), np.uint8))[12:16] == b"IHDR"
