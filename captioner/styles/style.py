"""A preset resolved for one frame: font, sizes in pixels, colours, caption band."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pysubs2

from ..errors import InputError
from .colours import rgb
from .fonts import FontInfo, TextMeasurer, font_info, package_font
from .presets import Geometry, Preset

STYLE_NAME = "Caption"


def preset_font(preset: Preset) -> Path:
    """The font file a preset or house style names: its ``font_file``, else its package's font."""
    if not preset.font_file:
        return package_font(preset.font_package)
    path = Path(preset.font_file)
    try:
        font_info(path)
    except Exception as exc:  # uharfbuzz raises plain Exceptions on unreadable fonts
        raise InputError(f"{path}: not a usable font ({exc})") from None
    return path


@dataclass(frozen=True)
class CaptionStyle:
    preset: Preset
    geometry: Geometry
    font: FontInfo

    @classmethod
    def for_frame(cls, preset: Preset, width: int, height: int) -> "CaptionStyle":
        return cls(preset, preset.scaled(width, height), font_info(preset_font(preset)))

    def with_band(self, left: int, right: int) -> "CaptionStyle":
        """The same style with the caption band narrowed to ``left``..``right`` (frame pixels)."""
        return replace(self, geometry=replace(self.geometry, left=left, right=right))

    @property
    def font_path(self) -> Path:
        return self.font.path

    @property
    def em(self) -> float:
        return self.geometry.em

    @property
    def ass_fontsize(self) -> float:
        # libass sizes fonts by winAscent + winDescent, not by the em (rtl-and-peers L6).
        return round(self.em * self.font.ass_size_ratio, 2)

    @property
    def max_line_width(self) -> float:
        return self.geometry.text_width(self.preset.box_padding_em)

    def measurer(self) -> TextMeasurer:
        return TextMeasurer(self.font.path, self.em)

    def apply_to(self, subs: pysubs2.SSAFile) -> None:
        """Set PlayRes and one caption style on an ASS file (the editable sidecar)."""
        g, p = self.geometry, self.preset
        subs.info["PlayResX"] = str(g.width)
        subs.info["PlayResY"] = str(g.height)
        subs.info["ScaledBorderAndShadow"] = "yes"
        subs.info["WrapStyle"] = "2"  # lines are broken by captioner; never re-wrap
        subs.info["YCbCr Matrix"] = "TV.709"
        r, gr, b = rgb(p.text_colour)
        br, bg, bb = rgb(p.box_colour)
        pad = p.box_padding_em * self.em
        subs.styles = {
            STYLE_NAME: pysubs2.SSAStyle(
                fontname=self.font.family,
                fontsize=self.ass_fontsize,
                primarycolor=pysubs2.Color(r, gr, b, 0),
                secondarycolor=pysubs2.Color(r, gr, b, 0),
                outlinecolor=pysubs2.Color(br, bg, bb, round(255 * (1 - p.box_opacity))),
                backcolor=pysubs2.Color(br, bg, bb, round(255 * (1 - p.box_opacity))),
                bold=False,
                italic=False,
                spacing=0,  # letter-spacing breaks Arabic joins (rtl-and-peers L10)
                borderstyle=3,  # opaque box; the burned captions draw their own (L7)
                outline=round(pad / 2, 1),
                shadow=0,
                alignment=pysubs2.Alignment.BOTTOM_CENTER,
                marginl=g.left + round(pad),
                marginr=g.width - g.right + round(pad),
                marginv=g.height - g.bottom + round(pad / 2),
                encoding=-1,  # base direction per line, so "!" ends an Arabic line (L3)
            )
        }
        for event in subs:
            event.style = STYLE_NAME
