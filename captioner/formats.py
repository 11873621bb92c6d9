"""Subtitle files: SRT, VTT and ASS through pysubs2, plus captioner's JSON.

Sidecars keep text in logical order.  SRT and VTT lines get directional marks
(:func:`captioner.text.sidecar_line`) for players without full bidi; the ASS
sidecar needs none because its style has ``Encoding=-1`` (libass then resolves
the base direction per line) and its PlayRes equals the video size.  All files
are UTF-8 without a BOM (rtl-and-peers S4).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pysubs2

from .cues import Cue, Word, Transcript
from .errors import InputError
from .render import ass_escape
from .style import CaptionStyle
from .text import is_rtl_text, normalise_line, rtl_mark, sidecar_line

FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ass", ".json": "json"}
JSON_SCHEMA = "captioner/1"


def format_for(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{path}: unknown subtitle format {ext or '(no extension)'!r} (use .srt, .vtt, .ass or .json)")
    return FORMATS[ext]


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def to_ssafile(cues: Sequence[Cue], fmt: str, style: CaptionStyle | None = None) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    if fmt == "ass":
        if style is None:
            raise ValueError("an ASS sidecar needs the caption style")
        style.apply_to(subs)
    for cue in cues:
        rtl = is_rtl_text(cue.text)
        if fmt == "ass":
            lines = tuple(rtl_mark(line, rtl) + ass_escape(line) for line in cue.lines)
        else:
            lines = tuple(sidecar_line(line, rtl) for line in cue.lines)
        text = "\\N".join(lines)
        subs.append(pysubs2.SSAEvent(start=_ms(cue.start), end=_ms(cue.end), text=text))
    return subs


def dumps(cues: Sequence[Cue], fmt: str, *, style: CaptionStyle | None = None, transcript: Transcript | None = None) -> str:
    """Serialise cues (and, for JSON, every recognised word) to text."""
    if fmt == "json":
        doc = {"schema": JSON_SCHEMA, "cues": [c.to_dict() for c in cues]}
        if transcript is not None:
            doc = {
                "schema": JSON_SCHEMA,
                "language": transcript.language,
                "language_probability": round(transcript.language_probability, 3),
                "duration": round(transcript.duration, 3),
                "words": [w.to_dict() for w in transcript.words],
                "cues": doc["cues"],
            }
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    return to_ssafile(cues, fmt, style).to_string(fmt)


def _decode(data: bytes, path: Path) -> str:
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


def _drop_vtt_cue_identifiers(text: str) -> str:
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


def load_cues(path: str | os.PathLike) -> list[Cue]:
    """Read cues from an SRT, VTT, ASS or captioner JSON file, normalising the text."""
    p = Path(path)
    fmt = format_for(p)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    text = _decode(p.read_bytes(), p)
    if fmt == "json":
        try:
            doc = json.loads(text)
            raw = [(float(c["start"]), float(c["end"]), list(c["lines"])) for c in doc["cues"]]
            words = [
                Word(str(w["text"]), float(w["start"]), float(w["end"]), float(w.get("probability", 1.0)))
                for w in doc.get("words", ())
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: not a captioner JSON file ({exc})") from None
    else:
        words = []
        if fmt == "vtt":
            text = _drop_vtt_cue_identifiers(text)
        try:
            subs = pysubs2.SSAFile.from_string(text, format_=fmt)
        except Exception as exc:  # pysubs2 raises several unrelated types on bad input
            raise InputError(f"{p}: not a valid {fmt.upper()} file ({exc})") from None
        raw = []
        for event in subs:
            if event.is_comment or event.is_drawing:
                continue
            raw.append((event.start / 1000, event.end / 1000, event.plaintext.splitlines()))
    cues = []
    for start, end, lines in raw:
        lines = tuple(filter(None, (normalise_line(line) for line in lines)))
        if lines and end > start:
            # captioner JSON keeps every word's timing: the words spoken during the cue.
            spoken = tuple(w for w in words if start - 0.05 <= w.start < end)
            cues.append(Cue(start, end, lines, spoken))
    if not cues:
        raise InputError(f"{p}: no captions found")
    cues.sort(key=lambda c: (c.start, c.end))
    return cues
