"""Captions as a moviepy clip, for moviepy users to composite in their own projects.

>>> from moviepy import VideoFileClip
>>> from captioner.moviepy import caption_clip
>>> clip = caption_clip(VideoFileClip("clip.mp4"), "clip.srt")   # or cues, or None to transcribe
>>> clip.write_videofile("clip.captioned.mp4")

The captions are drawn by :mod:`captioner.render.pillow.draw` with the same layout, font and
Arabic shaping as ``captioner burn --renderer pillow``, one ``ImageClip`` per
cue over the video in a ``CompositeVideoClip``.  Needs the ``moviepy`` extra:
``pip install 'captioner[moviepy]'``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import av
import numpy as np

from . import extras
from .asr import Recognizer, check_language, make_recognizer
from .captions.flags import review_transcript
from .cues import Cue, Transcript
from .errors import InputError
from .formats import load_cues
from .media.audio import SAMPLE_RATE
from .media.probe import probe
from .captions.reflow import reflow
from .pipeline import caption_rules, make_cues
from .render.inset import caption_room
from .render.pillow.composite import CaptionLayer, open_video
from .styles.presets import Preset, get_preset
from .styles.style import CaptionStyle

__all__ = ["caption_clip", "caption_layer"]


def _clip_audio(clip) -> np.ndarray:
    """A clip's sound as 16 kHz mono float32, as the recognizer takes it."""
    if clip.audio is None:
        raise InputError("the clip has no audio, nothing to transcribe; pass cues or a subtitle file")
    # Read at the clip's own rate (moviepy 2.2 returns a constant for some other rates)
    # and resampled by libswresample, with its anti-aliasing filter.
    rate = int(clip.audio.fps)
    sound = np.asarray(clip.audio.to_soundarray(fps=rate), dtype=np.float32)
    if sound.ndim == 1:
        sound = sound[:, None]
    mono = np.ascontiguousarray(sound.mean(axis=1)[None, :])
    frame = av.AudioFrame.from_ndarray(mono, format="fltp", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks = [f.to_ndarray().reshape(-1) for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


def caption_layer(
    size: tuple[int, int],
    cues: Sequence[Cue],
    *,
    preset: str | Preset = "tiktok",
    shaping: str = "auto",
) -> CaptionLayer:
    """Every cue drawn for a frame of ``size``: ``.image_clips()`` gives one moviepy ``ImageClip``
    per cue; ``.apply(frame, t)`` blends the captions into one RGB frame.  Cues are re-flowed to
    fit the caption band first, as ``burn`` does (:func:`captioner.captions.reflow.reflow`)."""
    style = CaptionStyle.for_frame(get_preset(preset) if isinstance(preset, str) else preset, *size)
    fitted = reflow(list(cues), caption_rules(style), style.measurer().width, room=caption_room(style)).cues
    return CaptionLayer(fitted, style, shaping=shaping)


def caption_clip(
    video,
    cues: Sequence[Cue] | Transcript | str | os.PathLike | None = None,
    *,
    preset: str | Preset = "tiktok",
    lang: str | None = "ar",
    model: str = "base",
    recognizer: Recognizer | None = None,
    cps: float | None = None,
    shaping: str = "auto",
):
    """``video`` (a file or a moviepy clip) with captions, as a moviepy ``CompositeVideoClip``.

    ``cues`` are :class:`~captioner.cues.Cue` objects, a
    :class:`~captioner.cues.Transcript` (cut into cues here), a subtitle file
    (SRT, VTT, ASS, captioner JSON), or None to transcribe the clip's audio
    (``lang``, ``model``, ``recognizer`` as for :func:`captioner.transcribe`).
    The result's first layer is the video, the others one ``ImageClip`` per
    cue; its audio is the video's.
    """
    moviepy = extras.moviepy()
    if isinstance(video, (str, os.PathLike)):
        clip = open_video(video, audio=True, info=probe(video, require_audio=False))
    else:
        clip = video
    size = tuple(clip.size)
    fps = float(clip.fps or 30.0)
    if cues is None:
        language = check_language(lang)
        recognizer = recognizer or make_recognizer("faster-whisper", model)
        # Reviewed as the pipeline does: words with no speech under them are not captioned.
        cues = review_transcript(recognizer.transcribe(_clip_audio(clip), language=language))
    if isinstance(cues, (str, os.PathLike)):
        cues = load_cues(cues)
    elif isinstance(cues, Transcript):
        cues = make_cues(cues, preset=preset, frame=size, fps=fps, cps=cps, duration=clip.duration)
    layer = caption_layer(size, list(cues), preset=preset, shaping=shaping)
    return moviepy.CompositeVideoClip([clip, *layer.image_clips()], size=size)
