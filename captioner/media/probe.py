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
from .files import local_file, open_media

# Containers whose header declares the duration (phones write MP4/MOV, browsers WebM): a file of
# one of them that ends before that duration was cut short.  Others estimate it, so are not checked.
_DECLARING_FORMATS = {"mov", "mp4", "matroska", "webm"}
# Seconds the last packet may end before the declared end (muxers round; encoders drop a frame).
_END_TOLERANCE = 0.5
# How far before the declared end the check seeks (from there to the end is demuxed, not decoded).
_TAIL_SECONDS = 2.0
MIN_FRAME_SIDE, MAX_FRAME_SIDE = 16, 8192


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


def check_input_file(path: str | os.PathLike) -> Path:
    """An existing, regular, readable, non-empty local file (see :func:`captioner.media.files.local_file`)."""
    return local_file(path)


def probe(path: str | os.PathLike, *, require_audio: bool = True, require_video: bool = True) -> MediaInfo:
    """Probe a media file; raise :class:`InputError` with a one-line reason if it is unusable.

    With ``require_video=False`` an audio-only file is accepted and described
    as a 1080x1920 frame (the canvas its captions are laid out for).
    """
    p = check_input_file(path)
    with open_media(p) as container:
        astream = container.streams.audio[0] if container.streams.audio else None
        if not container.streams.video or _is_cover_art(container.streams.video[0]):
            if require_video or astream is None:
                raise InputError(f"{p}: no video stream" if astream is not None or require_video else f"{p}: no audio or video stream")
            duration = _duration(container, astream)
            if duration <= 0:
                raise InputError(f"{p}: zero duration")
            check_complete(container, p, [astream])
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
        if not (MIN_FRAME_SIDE <= width <= MAX_FRAME_SIDE and MIN_FRAME_SIDE <= height <= MAX_FRAME_SIDE):
            raise InputError(f"{p}: a {width}x{height} video is outside the frame sizes captioner burns "
                             f"({MIN_FRAME_SIDE} to {MAX_FRAME_SIDE} pixels a side)")
        check_complete(container, p, [vstream] + ([astream] if astream is not None else []))
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


def _declared_end(container, stream) -> float | None:
    """Where the header says the stream ends, in seconds, or None when it does not say."""
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
    if stream.duration and stream.time_base:
        return start + float(stream.duration * stream.time_base)
    return None


def check_complete(container, path: Path, streams) -> None:
    """Refuse a file cut short (an interrupted upload, a copy still running) before anything is burned.

    The header of an MP4/MOV or Matroska/WebM file declares how long its
    streams are; a file whose packets stop well before that end (or whose last
    packet is cut in the middle) is damaged.  Only the last seconds are
    demuxed, not decoded, so this costs milliseconds whatever the clip's length.
    """
    names = set(container.format.name.split(","))
    if not names & _DECLARING_FORMATS:
        return
    container_end = container.duration / 1_000_000 if container.duration else None
    reached: list[float] = []
    for stream in streams:
        declared = _declared_end(container, stream)
        target = declared if declared is not None else container_end
        if target is None or target <= 0 or not stream.time_base:
            continue
        last, corrupt = _tail(container, stream, target)
        if corrupt:
            raise InputError(f"{path}: the file is incomplete: its last {stream.type} packet is cut off "
                             "(cut short, or still being copied)")
        if declared is not None and (last is None or last < declared - _END_TOLERANCE):
            raise _truncated(path, stream.type, last, declared)
        reached.append(last or 0.0)
    # Matroska declares one duration for the file: some stream must reach it.
    if container_end and reached and len(reached) == len(streams) and max(reached) < container_end - _END_TOLERANCE:
        if all(_declared_end(container, s) is None for s in streams):
            raise _truncated(path, "streams", max(reached), container_end)


def _truncated(path: Path, kind: str, last: float | None, declared: float) -> InputError:
    verb = "end" if kind == "streams" else "ends"
    ends = f"{verb} at {last:.2f} s" if last is not None else "has no data near its end"
    return InputError(f"{path}: the file is incomplete: its {kind} {ends} but the file says {declared:.2f} s "
                      "(cut short, or still being copied)")


def _tail(container, stream, end: float) -> tuple[float | None, bool]:
    """The end time of the stream's last packet from ``_TAIL_SECONDS`` before ``end``, and whether it is cut off."""
    tb = stream.time_base
    try:
        container.seek(int(max(0.0, end - _TAIL_SECONDS) / tb), stream=stream, backward=True, any_frame=False)
        last, corrupt = None, False
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            packet_end = float((packet.pts + (packet.duration or 0)) * tb)
            last = packet_end if last is None else max(last, packet_end)
            corrupt = bool(packet.is_corrupt)
        return last, corrupt
    except av.error.FFmpegError:
        return None, False
