"""Bidirectional text: direction of a line or cue, directional controls, and the marks SRT/VTT sidecars carry.

Text stays in logical order; the only visual-order help captioner adds is
directional marks in SRT/VTT sidecars, for players whose bidi support is
incomplete (``rtl-and-peers.md`` S1), and an RLM where libass would otherwise
pick the wrong base direction for a line.
"""

from __future__ import annotations

import re
import unicodedata

RLM, LRM = "\u200f", "\u200e"
RLE, PDF = "\u202b", "\u202c"
# Only directional controls; ZWNJ/ZWJ (U+200C/D) are orthographic and kept (rtl-and-peers S2).
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = BIDI_CONTROLS | {"\u200c", "\u200d", "\ufeff"}

_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
_LTR_RUN_RE = re.compile(r"[A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F.,:%/@#&+'_-]*(?: [A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F.,:%/@#&+'_-]*)*")


def strip_bidi_controls(text: str) -> str:
    return _BIDI_RE.sub("", text).replace("\ufeff", "")



def bidi_class_counts(text: str) -> tuple[int, int]:
    """Number of strong right-to-left and strong left-to-right characters."""
    rtl = ltr = 0
    for ch in text:
        cls = unicodedata.bidirectional(ch)
        if cls in ("R", "AL"):
            rtl += 1
        elif cls == "L":
            ltr += 1
    return rtl, ltr


def is_rtl(text: str) -> bool:
    """True when the first strong character is right-to-left (the Unicode P2 rule)."""
    for ch in text:
        cls = unicodedata.bidirectional(ch)
        if cls in ("R", "AL"):
            return True
        if cls == "L":
            return False
    return False


def is_rtl_text(text: str) -> bool:
    """True when right-to-left letters outnumber left-to-right ones.

    A caption's direction is decided for the whole cue, not per line by its
    first strong character: "TikTok يجمعنا اليوم!" is an Arabic line.
    """
    rtl, ltr = bidi_class_counts(text)
    return rtl > ltr


def rtl_mark(line: str, rtl: bool) -> str:
    """An RLM for a line of an RTL cue that would otherwise open left-to-right (libass
    with Encoding=-1 takes the base direction from the first strong character)."""
    return RLM if rtl and not is_rtl(line) else ""


def sidecar_line(line: str, rtl: bool | None = None) -> str:
    """Add directional marks so SRT/VTT players without full bidi keep an RTL line in place.

    The line is embedded right-to-left (RLE … PDF), so a player that lays the
    paragraph out left-to-right still orders its runs as an RTL paragraph
    would; RLMs inside the embedding hold trailing neutral punctuation
    (``!``, ``.``) at the logical end for players that only honour marks, and
    Latin and digit runs are fenced with LRM so neighbouring punctuation does
    not join them.  The text stays in logical order; LTR lines are unchanged.
    """
    if not (is_rtl_text(line) if rtl is None else rtl):
        return line
    fenced = _LTR_RUN_RE.sub(lambda m: LRM + m.group(0) + LRM, line)
    return RLE + RLM + fenced + RLM + PDF
