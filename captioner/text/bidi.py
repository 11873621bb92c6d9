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
    """True when more of its words are right-to-left than left-to-right (a tie: the first strong character).

    A caption's direction is decided for the whole cue, not per line by its
    first strong character: "TikTok يجمعنا اليوم!" is an Arabic line, and so is
    "انضم إلى TikTok و Instagram الآن" (words, not letters, are counted: two
    brand names outweigh four Arabic words in letters).
    """
    rtl = ltr = 0
    for word in text.split():
        for ch in word:
            cls = unicodedata.bidirectional(ch)
            if cls in ("R", "AL"):
                rtl += 1
                break
            if cls == "L":
                ltr += 1
                break
    return rtl > ltr if rtl != ltr else is_rtl(text)


def rtl_mark(line: str, rtl: bool) -> str:
    """An RLM for a line of an RTL cue that would otherwise open left-to-right (libass
    with Encoding=-1 takes the base direction from the first strong character)."""
    return RLM if rtl and not is_rtl(line) else ""


def needs_embedding(line: str) -> bool:
    """Whether a line of a right-to-left cue shows differently in a left-to-right paragraph.

    It does when anything in it is not right-to-left: a Latin word, digits, or
    neutral punctuation at either end (``!``, ``.``, a speaker dash, ``♪``).  A
    line of Arabic words that starts and ends with an Arabic letter or mark
    (``؟`` and ``،`` are Arabic) shows the same either way.
    """
    text = line.strip()
    if not text:
        return False
    if unicodedata.bidirectional(text[0]) not in ("R", "AL") or unicodedata.bidirectional(text[-1]) not in ("R", "AL", "NSM"):
        return True
    return any(unicodedata.bidirectional(ch) in ("L", "EN", "AN") for ch in text)


def sidecar_line(line: str, rtl: bool | None = None) -> str:
    """A line of an SRT/VTT sidecar: a right-to-left line embedded right-to-left (RLE … PDF) where it needs it.

    Measured (``bench/direction_marks.py``, README "Direction marks"): players
    that lay SRT out left-to-right (ffmpeg's ``subtitles`` filter and tools
    built on it) need the embedding for a line with a Latin word, digits or
    neutral punctuation at an end; players that take each line's direction from
    its first strong character (mpv, browsers' WebVTT) need it for a line that
    opens with a Latin word.  RLE … PDF does both, with two marks.  RLMs at the
    ends and LRMs around Latin runs (what captioner wrote before) changed
    nothing any player showed, and an isolate (RLI … PDI) does the same as the
    embedding but older bidi implementations ignore it.  A line of Arabic only
    gets no mark; the text stays in logical order; LTR lines are unchanged.
    """
    if not (is_rtl_text(line) if rtl is None else rtl) or not needs_embedding(line):
        return line
    return RLE + line + PDF
