"""Landscape and square input on a vertical preset: fit or fill a 1080x1920 frame.

``fit`` shows the whole picture, centred, over a blurred and darkened copy of
itself that fills the frame (the look creators know from the apps); ``fill``
crops the centre to 9:16.  The blurred copy is made at an eighth of the size
and scaled back up: a box blur at full 1080x1920 would cost more than the
encode.
"""

from __future__ import annotations

from dataclasses import dataclass

import ffmpeg

from ..errors import InputError
from ..media.probe import MediaInfo

MODES = ("auto", "fit", "fill", "none")
VERTICAL = (1080, 1920)
_ASPECT_TOLERANCE = 0.01  # 1080x1916 is still 9:16
_BLUR_SCALE = 8
_DARKEN = -0.18  # eq brightness: the background recedes behind the picture and the captions


@dataclass(frozen=True)
class Frame:
    """The output frame: its size and how the input is put into it."""

    width: int
    height: int
    mode: str  # fit | fill | none

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def is_vertical(width: int, height: int) -> bool:
    return abs(width / height - 9 / 16) <= _ASPECT_TOLERANCE * 9 / 16


def output_frame(info: MediaInfo, mode: str = "auto") -> Frame:
    """``auto`` is ``fit`` for input that is not 9:16 (every preset is vertical), else ``none``."""
    if mode not in MODES:
        raise InputError(f"reframe must be one of {', '.join(MODES)}, not {mode!r}")
    w, h = info.display_width, info.display_height
    if mode == "auto":
        mode = "none" if is_vertical(w, h) else "fit"
    if mode == "none":
        return Frame(w, h, "none")
    return Frame(*VERTICAL, mode)


def reframe_stream(video, frame: Frame):
    """Apply the frame's mode to an ffmpeg-python video stream."""
    W, H = frame.size
    if frame.mode == "fill":
        return video.filter("scale", W, H, force_original_aspect_ratio="increase", flags="bicubic").filter("crop", W, H)
    if frame.mode != "fit":
        return video
    split = video.split()
    picture, backdrop = split[0], split[1]
    bw, bh = W // _BLUR_SCALE, H // _BLUR_SCALE
    backdrop = (
        backdrop.filter("scale", bw, bh, force_original_aspect_ratio="increase", flags="fast_bilinear")
        .filter("crop", bw, bh)
        .filter("boxblur", luma_radius=6, luma_power=2)
        .filter("eq", brightness=_DARKEN)
        .filter("scale", W, H, flags="bilinear")
    )
    picture = picture.filter("scale", W, H, force_original_aspect_ratio="decrease", force_divisible_by=2, flags="bicubic")
    return ffmpeg.overlay(backdrop, picture, x="(W-w)/2", y="(H-h)/2")
