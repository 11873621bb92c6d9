"""How one output frame is put together, decided before any slow work.

The output frame (after reframing), the caption style laid out for it, and the
interpreter's inset, with the caption band narrowed for it where needed.  Bad
interpreter input fails here, before anything is recognised or encoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..media.probe import MediaInfo
from ..styles.presets import Preset
from ..styles.style import CaptionStyle
from .inset import Inset, SignOptions, caption_room, check_sign_input, place
from .reframe import Frame, output_frame


@dataclass(frozen=True)
class Composition:
    """How one output frame is put together: its size, the caption style laid out for it
    (band narrowed for the interpreter), and the interpreter's inset."""

    frame: Frame
    style: CaptionStyle
    sign: tuple[SignOptions, Inset] | None = None

    @property
    def caption_room(self) -> int:
        """Caption lines that fit above the band's bottom (overlapping cues stack into them)."""
        return caption_room(self.style, self.sign[1] if self.sign else None)


def compose(
    info: MediaInfo, preset: Preset, *, reframe: str = "auto", sign: SignOptions | None = None, lines: int | None = None
) -> Composition:
    """Lay out the output frame before any slow work: bad interpreter input fails here."""
    frame = output_frame(info, reframe)
    style = CaptionStyle.for_frame(preset, *frame.size)
    if sign is None:
        return Composition(frame, style)
    sign_info = check_sign_input(sign.path)
    if sign_info.path.resolve() == info.path.resolve():
        raise InputError(f"{sign.path}: the interpreter video is the input video")
    inset, style = place(style, sign_info, sign, max(lines or 0, preset.max_lines))
    return Composition(frame, style, (sign, inset))
