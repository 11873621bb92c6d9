"""SRT: lines of right-to-left cues carry directional marks for players without full bidi."""

from __future__ import annotations

from pathlib import Path

from ..cues import Word
from ..text.bidi import sidecar_line
from .base import RawCue, register_format
from .pysubs import PysubsFormat
from .timed_text import parse_srt


@register_format
class SubRip(PysubsFormat):
    name = "srt"
    extensions = (".srt",)

    def line(self, text: str, rtl: bool) -> str:
        return sidecar_line(text, rtl)

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        # Braces and backslashes are text in SRT (see timed_text), not ASS tags as pysubs2 reads them.
        return parse_srt(text), []
