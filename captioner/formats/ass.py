"""ASS/SSA: the editable sidecar, styled as burned; an ASS file's own styling is replaced on reading.

No directional marks beyond one RLM: the style has ``Encoding=-1`` (libass
resolves each line's base direction) and PlayRes equals the video size.
"""

from __future__ import annotations

import pysubs2

from ..errors import InputError
from ..styles.style import CaptionStyle
from ..text.bidi import rtl_mark
from .base import register_format
from .pysubs import PysubsFormat


def ass_escape(text: str) -> str:
    # Braces open override blocks and backslashes start escapes (\N, \h) in ASS text.
    return text.replace("\\", "\uff3c").replace("{", "\uff5b").replace("}", "\uff5d")


@register_format
class AdvancedSubStationAlpha(PysubsFormat):
    name = "ass"
    extensions = (".ass", ".ssa")

    def line(self, text: str, rtl: bool) -> str:
        return rtl_mark(text, rtl) + ass_escape(text)

    def prepare(self, subs: pysubs2.SSAFile, style: CaptionStyle | None) -> None:
        if style is None:
            raise InputError("an ASS sidecar needs the caption style")
        style.apply_to(subs)
