"""Decoding a file's speech for recognition: 16 kHz mono float32, as Whisper expects.

The same decoding as faster-whisper's ``decode_audio`` (its resampler settings,
frame grouping and s16 round trip, so the samples are identical), but on a
container opened by :func:`captioner.media.files.open_media`: the file's name
is never read as a URL and only media demuxers may open it.
"""

from __future__ import annotations

import gc
import io
import itertools
import os

import av
import numpy as np

from ..errors import InputError
from .files import open_media

SAMPLE_RATE = 16_000
_GROUP_SAMPLES = 500_000  # as faster-whisper groups frames before resampling


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32, as Whisper expects."""
    try:
        audio = _decode(path)
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: cannot decode audio ({_first_line(exc)})") from None
    if audio.size == 0:
        raise InputError(f"{path}: the audio stream is empty")
    return audio


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0] if text.splitlines() else text


def _decode(path: str | os.PathLike) -> np.ndarray:
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    raw = io.BytesIO()
    dtype = None
    with open_media(path) as container:
        if not container.streams.audio:
            raise InputError(f"{path}: no audio stream")
        frames = _resampled(_grouped(_valid(container.decode(audio=0))), resampler)
        for frame in frames:
            array = frame.to_ndarray()
            dtype = array.dtype
            raw.write(array)
    del resampler
    gc.collect()  # PyAV's resampler keeps buffers until collected (faster-whisper issue 390)
    if dtype is None:
        return np.zeros(0, dtype=np.float32)
    return np.frombuffer(raw.getbuffer(), dtype=dtype).astype(np.float32) / 32768.0


def _valid(frames):
    iterator = iter(frames)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _grouped(frames):
    fifo = av.audio.fifo.AudioFifo()
    for frame in frames:
        frame.pts = None  # no timestamp check
        fifo.write(frame)
        if fifo.samples >= _GROUP_SAMPLES:
            yield fifo.read()
    if fifo.samples > 0:
        yield fifo.read()


def _resampled(frames, resampler):
    for frame in itertools.chain(frames, [None]):  # None flushes the resampler
        yield from resampler.resample(frame)
