"""ASS/SSA: the editable sidecar, drawn as burned; an ASS file's own styling is replaced on reading.

The sidecar is the burn's own script (:func:`captioner.render.ass_script.burn_script`):
PlayRes equal to the video size, the caption style (font, size, colours,
``Encoding=-1``), each caption line positioned where the burn puts it, over a
box drawn on a lower layer.  So mpv, VLC or Aegisub (libass) show it as the
video shows it — which one event per caption cannot do, since libass would
stack its lines by the font's 2.17 em line height and size the box by the font.

Reading an ASS file keeps the text events (drawings are left out) and takes
consecutive events with the same start and end as the lines of one caption, as
the sidecar writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..cues import Cue, Transcript, Word
from ..errors import InputError
from ..render.ass_script import burn_script
from ..styles.style import CaptionStyle
from .base import RawCue, register_format
from .pysubs import PysubsFormat

__all__ = ["AdvancedSubStationAlpha"]


@register_format
class AdvancedSubStationAlpha(PysubsFormat):
    name = "ass"
    extensions = (".ass", ".ssa")

    def dumps(self, cues: Sequence[Cue], *, style: CaptionStyle | None = None,
              transcript: Transcript | None = None) -> str:
        if style is None:
            raise InputError("an ASS sidecar needs the caption style")
        return burn_script(cues, style).to_string("ass")

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        raw, words = super().parse(text, path)
        merged: list[RawCue] = []
        for start, end, lines in raw:
            if merged and merged[-1][0] == start and merged[-1][1] == end:
                merged[-1][2].extend(lines)  # the lines of one caption, one event each
            else:
                merged.append((start, end, list(lines)))
        return merged, words
