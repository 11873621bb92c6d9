"""Subtitle files: SRT, VTT and ASS through pysubs2, plus captioner's JSON, one module a format.

Sidecars keep text in logical order.  SRT and VTT lines get directional marks
(:func:`captioner.text.bidi.sidecar_line`) for players without full bidi; the ASS
sidecar needs none because its style has ``Encoding=-1`` (libass then resolves
the base direction per line) and its PlayRes equals the video size.  All files
are UTF-8 without a BOM (rtl-and-peers S4).  Formats are registered by
extension (:mod:`.base`); importing this package registers them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..cues import Cue, Transcript, Word
from ..errors import InputError
from ..styles.style import CaptionStyle
from ..text.arabic import normalise_line
from . import ass, captioner_json, subrip, webvtt  # noqa: F401  (register the formats)
from .base import FORMATS, SubtitleFormat, format_for

__all__ = ["FORMATS", "SIDECAR_FORMATS", "SubtitleFormat", "decode_text", "dumps", "format_for", "load_cues",
           "load_words", "sidecar_paths"]

# The sidecars written beside a captioned video, with its stem.
SIDECAR_FORMATS = (".srt", ".vtt", ".ass", ".json")


def sidecar_paths(output: Path) -> dict[str, Path]:
    return {ext: output.with_suffix(ext) for ext in SIDECAR_FORMATS}


def dumps(cues: Sequence[Cue], fmt: str | SubtitleFormat, *, style: CaptionStyle | None = None,
          transcript: Transcript | None = None) -> str:
    """Serialise cues (and, for JSON, every recognised word) as format ``fmt`` (a name or a format)."""
    if isinstance(fmt, str):
        if fmt not in FORMATS:
            raise InputError(f"unknown subtitle format {fmt!r} (use one of: {', '.join(FORMATS)})")
        fmt = FORMATS[fmt]
    return fmt.dumps(cues, style=style, transcript=transcript)


def decode_text(data: bytes, path: Path) -> str:
    """A subtitle file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1256."""
    # Editors on Arabic Windows still save cp1256; UTF-8 (with or without BOM) first.
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text
    try:
        return data.decode("cp1256")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def load_cues(path: str | os.PathLike) -> list[Cue]:
    """Read cues from an SRT, VTT, ASS or captioner JSON file, normalising the text."""
    p = Path(path)
    fmt = format_for(p)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    raw, words = fmt.parse(decode_text(p.read_bytes(), p), p)
    cues = []
    for start, end, lines in raw:
        lines = tuple(filter(None, (normalise_line(line) for line in lines)))
        # A cue typed with no duration (or an end before its start) is kept at its start:
        # lint reports it and burn shows it for the minimum duration, saying so.
        end = max(end, start)
        if lines:
            # captioner JSON keeps every word's timing: the words spoken during the cue.
            spoken = tuple(w for w in words if start - 0.05 <= w.start < end)
            cues.append(Cue(start, end, lines, spoken))
    if not cues:
        raise InputError(f"{p}: no captions found")
    cues.sort(key=lambda c: (c.start, c.end))
    return cues


def load_words(path: str | os.PathLike) -> list[Word]:
    """Every timed word a subtitle file keeps (captioner JSON's ``words``; none for SRT, VTT, ASS)."""
    p = Path(path)
    fmt = format_for(p)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    return fmt.parse(decode_text(p.read_bytes(), p), p)[1]
