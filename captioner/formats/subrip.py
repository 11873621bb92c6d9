"""SRT: lines of right-to-left cues carry directional marks for players without full bidi."""

from __future__ import annotations

from ..text.bidi import sidecar_line
from .base import register_format
from .pysubs import PysubsFormat


@register_format
class SubRip(PysubsFormat):
    name = "srt"
    extensions = (".srt",)

    def line(self, text: str, rtl: bool) -> str:
        return sidecar_line(text, rtl)
