"""WebVTT: marked like SRT; cue identifiers are dropped on reading."""

from __future__ import annotations

from pathlib import Path

from ..cues import Word
from ..text.bidi import sidecar_line
from .base import RawCue, register_format
from .pysubs import PysubsFormat
from .timed_text import parse_vtt


def drop_cue_identifiers(text: str) -> str:
    """Remove WebVTT cue identifiers (the optional line above a timing line), which
    pysubs2 would otherwise read as the last line of the previous cue's text."""
    lines = text.splitlines()
    kept = [
        line
        for i, line in enumerate(lines)
        if not (
            line.strip()
            and "-->" not in line
            and i + 1 < len(lines)
            and "-->" in lines[i + 1]
            and (i == 0 or not lines[i - 1].strip())
        )
    ]
    return "\n".join(kept) + "\n"


@register_format
class WebVTT(PysubsFormat):
    name = "vtt"
    extensions = (".vtt",)

    def line(self, text: str, rtl: bool) -> str:
        return sidecar_line(text, rtl)

    def clean(self, text: str) -> str:
        return drop_cue_identifiers(text)

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        # Entities decoded, tags and NOTE blocks dropped, braces and backslashes kept (see timed_text).
        return parse_vtt(text), []
