"""Image files made byte by byte for the reliability tests (nothing is committed)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, *, depth: int = 8, colour: int = 2, rows: bytes | None = None) -> bytes:
    """A PNG with any header; ``rows`` is the raw scanline data (filter bytes included) or
    None for a header with an empty image stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(rows) if rows is not None else b""
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png16_rgb(values: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one) from a (H, W, 3) uint16 array."""
    h, w, _ = values.shape
    rows = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(h))
    return png_bytes(w, h, depth=16, colour=2, rows=rows)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def gradient(width: int = 24, height: int = 16) -> Image.Image:
    """A smooth RGB image: damage to it shows, and it compresses to a few hundred bytes."""
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1)
    return Image.fromarray(arr.astype(np.uint8), "RGB")
