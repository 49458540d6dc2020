"""Small real media files for the reading view's players."""

from __future__ import annotations

import io
import math
import struct
import wave


def wav_bytes(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV of a 440 Hz tone: every browser decodes it."""
    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def png_bytes(rgb: tuple[int, int, int], size: int = 32) -> bytes:
    """A square RGB PNG: a coloured tile with a lighter diagonal band, decodable anywhere."""
    import zlib

    light = tuple(min(255, c + 90) for c in rgb)
    rows = b"".join(
        b"\x00" + b"".join(bytes(light if abs(x - y) < size // 6 else rgb) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
