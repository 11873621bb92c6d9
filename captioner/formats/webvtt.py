"""WebVTT: marked like SRT, placed where the burn puts captions; cue identifiers are dropped on reading."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..cues import Cue, Transcript
from ..styles.style import CaptionStyle
from ..text.bidi import sidecar_line
from .base import register_format
from .pysubs import PysubsFormat

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


def cue_settings(style: CaptionStyle) -> str:
    """WebVTT cue settings that put a cue where the burn does: its bottom on the band's bottom
    (``line:…%,end``), centred in the band (``position``, ``align:center``), no wider than it (``size``)."""
    g = style.geometry
    return (f"line:{100 * g.bottom / g.height:.2f}%,end position:{100 * g.centre_x / g.width:.2f}% "
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
        settings = cue_settings(style)
        return _TIMING.sub(lambda m: f"{m.group(1)} {settings}", text)
