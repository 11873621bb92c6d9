"""Decoding a file's speech for recognition: 16 kHz mono float32, as Whisper expects."""

from __future__ import annotations

import os

import av
import numpy as np
from faster_whisper.audio import decode_audio

from ..errors import InputError

SAMPLE_RATE = 16_000


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32, as Whisper expects."""
    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: cannot decode audio ({exc})") from None
    if audio.size == 0:
        raise InputError(f"{path}: the audio stream is empty")
    return audio
