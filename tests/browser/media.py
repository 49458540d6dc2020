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
