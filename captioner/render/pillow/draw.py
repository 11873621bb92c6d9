"""Drawing cues with Pillow: one RGBA image per cue, laid out like the libass burn.

The geometry is :func:`captioner.render.layout_cue`'s, so both renderers put
every line and its box at the same pixels: the box rectangles are drawn as
they are, and each line is drawn centred on the box's ``x`` with its baseline
on the box's ``baseline`` (Pillow's ``"ms"`` anchor), at the same font and em.

Arabic is shaped in one of two ways, never both (rtl-and-peers P1):

- ``raqm``: Pillow's Raqm layout (HarfBuzz + FriBiDi, what libass uses) gets
  the logical text with ``direction="rtl"`` and ``language="ar"`` for the
  lines of a right-to-left cue, so neutral punctuation lands at the logical
  end, as ``Encoding=-1`` does in libass.
- ``fallback``: where Pillow has no Raqm, arabic-reshaper turns letters into
  their joined presentation forms and python-bidi reorders the line into
  visual order with a right-to-left base direction; Pillow's basic layout then
  draws it left to right as it is.  Running either step on top of Raqm would
  reverse the text a second time.

Text coverage is composited over the translucent box with the "over" operator
in straight alpha, as the libass caption track does, so colours and box
opacity match the preset exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ... import extras
from ...cues import Cue
from ...errors import CaptionerError, InputError
from ...styles.colours import rgb
from ...styles.style import CaptionStyle
from ...text.bidi import is_rtl_text
from ..layout import LineBox, layout_cue

Shaping = Literal["auto", "raqm", "fallback"]
SHAPINGS: tuple[str, ...] = ("auto", "raqm", "fallback")
# Text is drawn this many times larger and box-filtered down: FreeType's hinting,
# which snaps outlines to whole pixels at the caption size, then no longer shows,
# and the coverage is the glyph's area per pixel, as libass (unhinted) computes it.
SUPERSAMPLE = 4


def has_raqm() -> bool:
    """Whether this Pillow lays text out with Raqm (its wheels load FriBiDi at run time)."""
    _, _, _, features = extras.pillow()
    return bool(features.check("raqm"))


def resolve_shaping(shaping: str = "auto") -> str:
    """``auto`` → ``raqm`` where Pillow has it, else ``fallback``; ``raqm`` without Raqm is an error."""
    if shaping not in SHAPINGS:
        raise InputError(f"unknown shaping {shaping!r} (use one of: {', '.join(SHAPINGS)})")
    if shaping == "auto":
        return "raqm" if has_raqm() else "fallback"
    if shaping == "raqm" and not has_raqm():
        raise CaptionerError("this Pillow has no Raqm layout (libraqm/FriBiDi); use shaping='fallback'")
    return shaping


@functools.lru_cache(maxsize=1)
def _reshaper():
    # Harakat are kept (the default deletes them) and attached to their letter.
    return extras.arabic_reshaper().ArabicReshaper({"delete_harakat": False, "support_ligatures": True})


def visual_order(line: str, rtl: bool) -> str:
    """The fallback's shaping: presentation forms, then the bidi algorithm's visual order."""
    return extras.bidi().get_display(_reshaper().reshape(line), base_dir="R" if rtl else "L")


@dataclass(frozen=True)
class CueImage:
    """One cue drawn as straight-alpha RGBA pixels, to be placed at (x, y) of the frame."""

    rgba: np.ndarray  # height x width x 4, uint8
    x: int
    y: int

    @property
    def size(self) -> tuple[int, int]:
        return self.rgba.shape[1], self.rgba.shape[0]


class CueDrawer:
    """Draws cues in one style; the font is loaded once.

    ``shaping`` is ``"auto"`` (Raqm where Pillow has it), ``"raqm"`` or
    ``"fallback"`` (arabic-reshaper + python-bidi, basic layout).
    """

    def __init__(self, style: CaptionStyle, shaping: str = "auto") -> None:
        Image, ImageDraw, ImageFont, _ = extras.pillow()
        self._image, self._draw = Image, ImageDraw
        self.style = style
        self.shaping = resolve_shaping(shaping)
        layout = ImageFont.Layout.RAQM if self.shaping == "raqm" else ImageFont.Layout.BASIC
        if self.shaping == "fallback":
            _reshaper()  # fail now, not on the first Arabic line
            visual_order("", True)
        self._truetype = functools.partial(ImageFont.truetype, str(style.font_path), layout_engine=layout)
        self.font = self._truetype(style.em * SUPERSAMPLE)
        self._scaled_fonts = {1.0: self.font}
        self._measurer = style.measurer()
        p = style.preset
        self._text_rgb = np.array(rgb(p.text_colour), dtype=np.float32)
        self._box_rgb = np.array(rgb(p.box_colour), dtype=np.float32)

    def text_args(self, line: str, rtl: bool) -> tuple[str, dict]:
        """The text Pillow is given for a line, and the layout arguments with it."""
        if self.shaping == "raqm":
            # Raqm shapes logical text; the base direction is the cue's, as in the libass burn.
            return line, ({"direction": "rtl", "language": "ar"} if rtl else {"direction": "ltr"})
        # The fallback: presentation forms in visual order, drawn as they are by basic layout.
        return visual_order(line, rtl), {}

    def font_for(self, scale: float):
        """The font at ``scale`` times the style's em (a cue with a word wider than the band is drawn smaller)."""
        if scale not in self._scaled_fonts:
            self._scaled_fonts[scale] = self._truetype(self.style.em * scale * SUPERSAMPLE)
        return self._scaled_fonts[scale]

    def layout(self, cue: Cue) -> list[LineBox]:
        return layout_cue(cue, self.style, self._measurer)

    def draw(self, cue: Cue) -> CueImage | None:
        """The cue's lines over their boxes, cropped to what they cover; None for an empty cue."""
        if not cue.lines:
            return None
        boxes = self.layout(cue)
        rtl = is_rtl_text(cue.text)
        lines = [(lb, *self.text_args(lb.text, rtl)) for lb in boxes]
        g = self.style.geometry
        # The region: every box, and any ink outside them (a word wider than a line).
        left, top = min(lb.box[0] for lb in boxes), min(lb.box[1] for lb in boxes)
        right, bottom = max(lb.box[2] for lb in boxes), max(lb.box[3] for lb in boxes)
        k = SUPERSAMPLE
        for lb, text, kwargs in lines:
            l, t, r, b = self.font_for(lb.scale).getbbox(text, anchor="ms", **kwargs)
            left, top = min(left, int(lb.x + l / k)), min(top, int(lb.baseline + t / k))
            right, bottom = max(right, int(lb.x + r / k) + 1), max(bottom, int(lb.baseline + b / k) + 1)
        left, top = max(0, left - 1), max(0, top - 1)
        right, bottom = min(g.width, right + 1), min(g.height, bottom + 1)
        width, height = right - left, bottom - top

        coverage_img = self._image.new("L", (width * k, height * k), 0)
        pen = self._draw.Draw(coverage_img)
        for lb, text, kwargs in lines:
            pen.text(((lb.x - left) * k, (lb.baseline - top) * k), text, fill=255, font=self.font_for(lb.scale),
                     anchor="ms", **kwargs)
        coverage = np.asarray(coverage_img.reduce(k), dtype=np.float32) / 255
        box_alpha = np.zeros((height, width), dtype=np.float32)
        for bl, bt, br, bb in (lb.box for lb in boxes):
            box_alpha[max(bt - top, 0) : max(bb - top, 0), max(bl - left, 0) : max(br - left, 0)] = (
                self.style.preset.box_opacity
            )
        # Text over the translucent box ("over", straight alpha), as the libass track composites.
        alpha = coverage + box_alpha * (1 - coverage)
        rgb = (coverage[..., None] * self._text_rgb + (box_alpha * (1 - coverage))[..., None] * self._box_rgb) / (
            np.maximum(alpha, 1e-6)[..., None]
        )
        rgba = np.dstack([np.clip(rgb + 0.5, 0, 255), np.clip(alpha * 255 + 0.5, 0, 255)]).astype(np.uint8)
        return CueImage(rgba, left, top)
