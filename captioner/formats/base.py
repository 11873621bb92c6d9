"""The subtitle-format registry: one class per format, found by file extension.

As pysubs2 does with its format classes, each format is a class registered
under its name with the extensions it owns; reading and writing go through
:func:`format_for`, so adding a format is adding its module (and importing it
in :mod:`captioner.formats`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from ..cues import Cue, Transcript, Word
from ..errors import InputError
from ..styles.style import CaptionStyle

# (start s, end s, lines as written) before the text is normalised.
RawCue = tuple[float, float, list[str]]

FORMATS: dict[str, "SubtitleFormat"] = {}
_BY_EXTENSION: dict[str, "SubtitleFormat"] = {}


class SubtitleFormat:
    """A subtitle format: text in, cues out, and back."""

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]

    def dumps(self, cues: Sequence[Cue], *, style: CaptionStyle | None = None,
              transcript: Transcript | None = None) -> str:
        raise NotImplementedError

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        """The cues of a file's text (and, where the format keeps them, every word's timing)."""
        raise NotImplementedError


def register_format(cls: type[SubtitleFormat]) -> type[SubtitleFormat]:
    """Class decorator: read and write ``cls.extensions`` with ``cls``."""
    instance = cls()
    FORMATS[cls.name] = instance
    for ext in cls.extensions:
        _BY_EXTENSION[ext] = instance
    return cls


def format_for(path: str | os.PathLike) -> SubtitleFormat:
    ext = Path(path).suffix.lower()
    if ext not in _BY_EXTENSION:
        known = ", ".join(sorted(_BY_EXTENSION))
        raise InputError(f"{path}: unknown subtitle format {ext or '(no extension)'!r} (use {known})")
    return _BY_EXTENSION[ext]
