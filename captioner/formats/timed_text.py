"""Reading SRT and WebVTT cue text as it was written.

pysubs2 reads both formats by turning them into ASS text, and its plain text
then loses what ASS gives a meaning to: ``{live}`` vanishes as an override
block, ``C:\\new`` and ``\\N`` become line breaks, WebVTT entities (``&lt;``,
``&amp;``, ``&lrm;``) stay undecoded, a NOTE block becomes caption text, and a
last line that is a number (``2024``) is taken for the next cue's index.  So
the cues are read here, with pysubs2's timestamp patterns (the same lines
count as timing lines as before):

- SRT: ``<i>``/``<b>``/``<font ...>`` tags and ``{\\an8}``-style position tags
  (Subtitle Edit writes them) are removed; any other brace or backslash is text;
- WebVTT: every ``<...>`` is a tag (``<c.x>``, ``<v Name>``, ``<00:01.000>``:
  the format writes a text ``<`` as ``&lt;``) and is removed, then character
  references are decoded; the header, NOTE, STYLE and REGION blocks and cue
  identifiers are not text.
"""

from __future__ import annotations

import html
import re

from pysubs2.formats.subrip import SubripFormat
from pysubs2.formats.webvtt import WebVTTFormat

from .base import RawCue

_SRT_TAG = re.compile(r"< */? *[a-zA-Z][^>]*>")  # as pysubs2 strips them
_SRT_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # {\an8}, {\i1}: ASS tags some SRT editors write
_VTT_TAG = re.compile(r"<[^>\n]*>")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")


def parse_srt(text: str) -> list[RawCue]:
    return [(start, end, [_srt_line(line) for line in lines]) for start, end, lines in _cues(text, vtt=False)]


def parse_vtt(text: str) -> list[RawCue]:
    return [(start, end, [_vtt_line(line) for line in lines]) for start, end, lines in _cues(text, vtt=True)]


def _srt_line(line: str) -> str:
    return _SRT_OVERRIDE.sub("", _SRT_TAG.sub("", line))


def _vtt_line(line: str) -> str:
    return html.unescape(_VTT_TAG.sub("", line))


def _cues(text: str, *, vtt: bool) -> list[tuple[float, float, list[str]]]:
    fmt = WebVTTFormat if vtt else SubripFormat
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[tuple[float, float, list[str]]] = []
    for line in lines:
        stamps = fmt.TIMESTAMP.findall(line)
        if len(stamps) == 2:
            start, end = (fmt.timestamp_to_ms(s) / 1000 for s in stamps)
            blocks.append((start, end, []))
        elif blocks:
            blocks[-1][2].append(line)
    cues = []
    for k, (start, end, body) in enumerate(blocks):
        followed = k + 1 < len(blocks)
        cues.append((start, end, _text_lines(body, followed, vtt)))
    return cues


def _text_lines(body: list[str], followed: bool, vtt: bool) -> list[str]:
    """A cue's text lines: what follows its timing line, less the next cue's identifier and (VTT) other blocks."""
    # The next cue's identifier is the line right before its timing line, after a blank line (SRT numbers its
    # cues; a WebVTT identifier is any text).  A cue whose text ends in a number, then a blank line, keeps it.
    if followed and len(body) >= 2 and body[-1].strip():
        last = body[-1].strip()
        if not body[-2].strip() or (not vtt and last.isdigit() and last.isascii()):  # (a missing blank line)
            body = body[:-1]
    while body and not body[-1].strip():
        body = body[:-1]
    if vtt:
        kept, skipping, after_blank = [], False, False
        for line in body:
            if not line.strip():
                after_blank, skipping = True, False
                continue
            if after_blank and line.split(" ", 1)[0].split("\t", 1)[0] in _VTT_BLOCKS:
                skipping = True
            after_blank = False
            if not skipping:
                kept.append(line)
        return kept
    return [line for line in body if line.strip()]
