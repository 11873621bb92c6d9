"""Subtitle files: SRT, VTT and ASS through pysubs2, plus captioner's JSON, one module a format.

Sidecars keep text in logical order.  SRT and VTT lines get directional marks
(:func:`captioner.text.bidi.sidecar_line`) for players without full bidi; the ASS
sidecar needs none because its style has ``Encoding=-1`` (libass then resolves
the base direction per line) and its PlayRes equals the video size.  All files
are UTF-8 without a BOM (rtl-and-peers S4).  Formats are registered by
extension (:mod:`.base`); importing this package registers them all.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..cues import Cue, Transcript, Word
from ..errors import InputError
from ..media.files import read_data_file
from ..styles.style import CaptionStyle
from ..text.arabic import normalise_line
from . import ass, captioner_json, subrip, webvtt  # noqa: F401  (register the formats)
from .base import FORMATS, SubtitleFormat, format_for

__all__ = ["FORMATS", "SIDECAR_FORMATS", "SubtitleFormat", "decode_text", "dumps", "format_for", "load_cues",
           "load_words", "sidecar_paths"]

# The sidecars written beside a captioned video, with its stem.
SIDECAR_FORMATS = (".srt", ".vtt", ".ass", ".json")

# What a subtitle file may hold: a caption file is text, not a dump.  Limits far above any real one, so that a
# hostile or broken file is one line (exit 2) instead of minutes of work or gigabytes of memory.
MAX_SUBTITLE_BYTES = 20_000_000
MAX_CUES = 100_000
MAX_CUE_CHARS = 2_000
MAX_TIME = 86_400.0  # seconds: 24 hours
# Control characters are not text: a line break inside a line, an escape sequence, a NUL.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


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
    if not p.exists() and not p.is_symlink():
        raise InputError(f"{p}: no such file")
    raw, words = fmt.parse(decode_text(read_data_file(p, "subtitle file", MAX_SUBTITLE_BYTES), p), p)
    if len(raw) > MAX_CUES:
        raise InputError(f"{p}: {len(raw)} cues (at most {MAX_CUES})")
    for k, (start, end, _) in enumerate(raw, start=1):
        check_time(start, p, f"cue {k} start")
        check_time(end, p, f"cue {k} end")
    for k, word in enumerate(words, start=1):
        check_time(word.start, p, f"word {k} start")
        check_time(word.end, p, f"word {k} end")
    cues = []
    for k, (start, end, lines) in enumerate(raw, start=1):
        lines = tuple(filter(None, (normalise_line(_CONTROL.sub("", line)) for line in lines)))
        if sum(map(len, lines)) > MAX_CUE_CHARS:
            raise InputError(f"{p}: cue {k} holds {sum(map(len, lines))} characters (a caption has at most "
                             f"{MAX_CUE_CHARS})")
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


def check_time(value: float, path: Path, what: str) -> None:
    """A time read from a file: a finite number of seconds from 0 to 24 hours, else one line (exit 2)."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= MAX_TIME):
        raise InputError(f"{path}: {what} {value!r} is not a time from 0 to {MAX_TIME:g} s")


def load_words(path: str | os.PathLike) -> list[Word]:
    """Every timed word a subtitle file keeps (captioner JSON's ``words``; none for SRT, VTT, ASS)."""
    p = Path(path)
    fmt = format_for(p)
    if not p.exists() and not p.is_symlink():
        raise InputError(f"{p}: no such file")
    words = fmt.parse(decode_text(read_data_file(p, "subtitle file", MAX_SUBTITLE_BYTES), p), p)[1]
    for k, word in enumerate(words, start=1):
        check_time(word.start, p, f"word {k} start")
        check_time(word.end, p, f"word {k} end")
    return words
