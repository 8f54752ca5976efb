"""A tiny valid PNG generated with zlib (no image library needed)."""

from __future__ import annotations

import base64
import struct
import zlib


def tiny_png(width: int = 16, height: int = 16, rgb: tuple[int, int, int] = (220, 60, 40)) -> str:
    """A solid-colour PNG as base64 text, as notebooks store images."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()
