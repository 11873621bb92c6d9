"""Formats read and written through pysubs2 (SRT, VTT, ASS): what they share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pysubs2

from ..cues import Cue, Transcript, Word
from ..errors import InputError, first_line
from ..styles.style import CaptionStyle
from ..text.bidi import is_rtl_text
from .base import RawCue, SubtitleFormat


def ms(seconds: float) -> int:
    return int(round(seconds * 1000))


class PysubsFormat(SubtitleFormat):
    """A format pysubs2 knows by ``name``; subclasses say how a line is written."""

    def line(self, text: str, rtl: bool) -> str:
        """One caption line as the file holds it."""
        raise NotImplementedError

    def prepare(self, subs: pysubs2.SSAFile, style: CaptionStyle | None) -> None:
        """File-level settings (styles, canvas) before the events."""

    def clean(self, text: str) -> str:
        """The file's text as pysubs2 should parse it."""
        return text

    def to_ssafile(self, cues: Sequence[Cue], style: CaptionStyle | None = None) -> pysubs2.SSAFile:
        subs = pysubs2.SSAFile()
        self.prepare(subs, style)
        for cue in cues:
            rtl = is_rtl_text(cue.text)
            text = "\\N".join(self.line(line, rtl) for line in cue.lines)
            subs.append(pysubs2.SSAEvent(start=ms(cue.start), end=ms(cue.end), text=text))
        return subs

    def dumps(self, cues: Sequence[Cue], *, style: CaptionStyle | None = None,
              transcript: Transcript | None = None) -> str:
        return self.to_ssafile(cues, style).to_string(self.name)

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        try:
            subs = pysubs2.SSAFile.from_string(self.clean(text), format_=self.name)
        except Exception as exc:  # pysubs2 raises several unrelated types on bad input
            raise InputError(f"{path}: not a valid {self.name.upper()} file ({first_line(exc)})") from None
        raw = [(event.start / 1000, event.end / 1000, event.plaintext.splitlines())
               for event in subs if not (event.is_comment or event.is_drawing)]
        return raw, []
