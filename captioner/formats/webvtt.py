"""WebVTT: marked like SRT, placed where the burn puts captions; cue identifiers are dropped on reading."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..cues import Cue, Transcript, Word
from ..render.layout import layout_cue
from ..styles.style import CaptionStyle
from ..text.bidi import sidecar_line
from .base import RawCue, register_format
from .pysubs import PysubsFormat
from .timed_text import parse_vtt

_TIMING = re.compile(r"^(\d+:\d\d:\d\d\.\d{3} --> \d+:\d\d:\d\d\.\d{3})$", re.MULTILINE)


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


def cue_settings(cue: Cue, style: CaptionStyle) -> str:
    """WebVTT cue settings that put a cue where the burn does: its first line's top where the burn
    draws it (``line``, a share of the frame's height), centred in the band (``position``,
    ``align:center``) and no wider than it (``size``).  The top, not the bottom: browsers ignore the
    line alignment (``line:…%,end``) that would anchor the bottom."""
    g = style.geometry
    top = layout_cue(cue, style)[0].box[1]
    return (f"line:{100 * top / g.height:.2f}% position:{100 * g.centre_x / g.width:.2f}% "
            f"size:{100 * (g.right - g.left) / g.width:.2f}% align:center")


@register_format
class WebVTT(PysubsFormat):
    name = "vtt"
    extensions = (".vtt",)

    def line(self, text: str, rtl: bool) -> str:
        return sidecar_line(text, rtl)

    def clean(self, text: str) -> str:
        return drop_cue_identifiers(text)

    def dumps(self, cues: Sequence[Cue], *, style: CaptionStyle | None = None,
              transcript: Transcript | None = None) -> str:
        text = super().dumps(cues, style=style, transcript=transcript)
        if style is None:
            return text
        # pysubs2 writes the cues in order of their start (a stable sort): their settings in that order.
        settings = iter([cue_settings(cue, style) for cue in sorted(cues, key=lambda c: c.start) if cue.lines])
        return _TIMING.sub(lambda m: f"{m.group(1)} {next(settings, '')}".rstrip(), text)

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        # Entities decoded, tags and NOTE blocks dropped, braces and backslashes kept (see timed_text).
        return parse_vtt(text), []
