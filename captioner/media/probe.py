"""Media probing with PyAV: what a file holds, and its display geometry.

Everything downstream needs the *display* geometry of the video: a phone clip
stored 1920x1080 with a 90° rotation matrix is shown, and must be captioned,
as 1080x1920.  ffmpeg applies that rotation when it decodes (autorotate), so
the caption canvas is laid out at the display size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    width: int  # stored (coded) size
    height: int
    rotation: int  # degrees, as the display matrix says (0, 90, 180, 270)
    fps: Fraction
    duration: float  # seconds
    video_codec: str
    audio_codec: str | None
    audio_sample_rate: int | None

    @property
    def display_width(self) -> int:
        return self.height if self.rotation % 180 else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation % 180 else self.height

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def frame_duration(self) -> float:
        return float(1 / self.fps) if self.fps else 1 / 30


def _open(path: Path):
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable media file ({exc.strerror or type(exc).__name__})") from None


def check_input_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a media file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: not readable (permission denied)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file (0 bytes)")
    return p


def probe(path: str | os.PathLike, *, require_audio: bool = True, require_video: bool = True) -> MediaInfo:
    """Probe a media file; raise :class:`InputError` with a one-line reason if it is unusable.

    With ``require_video=False`` an audio-only file is accepted and described
    as a 1080x1920 frame (the canvas its captions are laid out for).
    """
    p = check_input_file(path)
    with _open(p) as container:
        astream = container.streams.audio[0] if container.streams.audio else None
        if not container.streams.video or _is_cover_art(container.streams.video[0]):
            if require_video or astream is None:
                raise InputError(f"{p}: no video stream" if astream is not None or require_video else f"{p}: no audio or video stream")
            duration = _duration(container, astream)
            if duration <= 0:
                raise InputError(f"{p}: zero duration")
            return MediaInfo(p, 1080, 1920, 0, Fraction(30), duration, "", astream.codec_context.name, astream.codec_context.sample_rate)
        vstream = container.streams.video[0]
        if require_audio and astream is None:
            raise InputError(f"{p}: no audio stream, nothing to transcribe")
        duration = _duration(container, vstream)
        if duration <= 0:
            raise InputError(f"{p}: zero duration")
        fps = vstream.average_rate or vstream.guessed_rate or vstream.base_rate or Fraction(30)
        rotation = 0
        try:
            frame = next(container.decode(vstream))
            rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
        except (StopIteration, av.error.FFmpegError):
            raise InputError(f"{p}: the video stream has no decodable frame") from None
        width, height = vstream.codec_context.width, vstream.codec_context.height
        if not width or not height:
            raise InputError(f"{p}: the video stream has no frame size")
        return MediaInfo(
            path=p,
            width=width,
            height=height,
            rotation=rotation,
            fps=Fraction(fps),
            duration=duration,
            video_codec=vstream.codec_context.name,
            audio_codec=astream.codec_context.name if astream is not None else None,
            audio_sample_rate=astream.codec_context.sample_rate if astream is not None else None,
        )


def _is_cover_art(stream) -> bool:
    # An MP3 or M4A with album art has a one-picture "video" stream.
    return bool(int(stream.disposition) & 0x400)  # AV_DISPOSITION_ATTACHED_PIC


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0
