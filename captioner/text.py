"""Text hygiene for Arabic and other right-to-left captions.

Text is kept in logical order everywhere in captioner.  Shaping and reordering
are the renderer's job (libass + HarfBuzz + FriBiDi); the only visual-order
help we add is directional marks in SRT/VTT sidecars, for players whose bidi
support is incomplete (``rtl-and-peers.md`` S1).
"""

from __future__ import annotations

import re
import unicodedata

# Harakat and the superscript alef: not counted for reading speed (caption-standards §2).
HARAKAT = frozenset(chr(c) for c in range(0x064B, 0x0653)) | {"\u0670"}
TATWEEL = "\u0640"
RLM, LRM = "\u200f", "\u200e"
RLE, PDF = "\u202b", "\u202c"
# Only directional controls; ZWNJ/ZWJ (U+200C/D) are orthographic and kept (rtl-and-peers S2).
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = BIDI_CONTROLS | {"\u200c", "\u200d", "\ufeff"}
ARABIC_COMMA, ARABIC_SEMICOLON, ARABIC_QUESTION = "\u060c", "\u061b", "\u061f"
# Marks Whisper should attach to the preceding word (faster-whisper lacks the Arabic ones).
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、" + ARABIC_COMMA + ARABIC_SEMICOLON + ARABIC_QUESTION
SENTENCE_END = frozenset(".!?؟…")
CLAUSE_END = frozenset(",،;؛:")
# Punctuation that may not be preceded by a space in Arabic typography.
_NO_SPACE_BEFORE = "،؛؟!.:…"

_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
_WS_RE = re.compile(r"\s+")
_ARABIC_LETTER = r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]"
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


def reading_length(text: str) -> int:
    """Characters a viewer reads: spaces and punctuation count, harakat and controls do not."""
    return sum(1 for ch in text if ch not in HARAKAT and ch not in INVISIBLE and ch != TATWEEL)


def normalise_line(line: str) -> str:
    """Clean one caption line, keeping logical order.

    - directional controls removed (re-added for sidecars only), white space collapsed;
    - in Arabic text, ASCII ``, ; ?`` after an Arabic letter become ``، ؛ ؟``;
    - ``...`` becomes ``…``; no space before ``، ؛ ؟ ! . : …``;
    - tanwin fath written before the alif (``شكرًا``, not ``شكراً``);
    - punctuation that a visual-order editor put at the start of an Arabic line
      (``!مرحبا``) is moved to its logical end.
    """
    text = _WS_RE.sub(" ", strip_bidi_controls(line)).strip()
    if not text:
        return text
    text = text.replace("...", "…")
    text = _speaker_dash(text)
    if re.search(_ARABIC_LETTER, text):
        text = re.sub(f"({_ARABIC_LETTER}[\u064b-\u0652]*) ?,(?!\\d)", "\\1" + ARABIC_COMMA, text)
        text = re.sub(f"({_ARABIC_LETTER}[\u064b-\u0652]*) ?;", "\\1" + ARABIC_SEMICOLON, text)
        text = re.sub(f"({_ARABIC_LETTER}[\u064b-\u0652]*) ?\\?", "\\1" + ARABIC_QUESTION, text)
        text = text.replace("\u0627\u064b", "\u064b\u0627")
        text = re.sub(" +([" + _NO_SPACE_BEFORE + "])", r"\1", text)
        text = _move_leading_punctuation(text)
    return text


_DASH = "-‐‑‒–—−"


def _speaker_dash(text: str) -> str:
    """A speaker change is marked "- " at the start of the line (caption-standards §5).

    Any dash at the start becomes "- "; on an Arabic line, a dash a visual-order
    editor left at the end (where it shows on the right) moves to the start.
    """
    match = re.match(f"^[{_DASH}]+(?:\\s+|(?=[^\\d\\s]))", text)  # "-5" is a number
    if match:
        return "- " + text[match.end():]
    match = re.search(f"\\s+[{_DASH}]$", text)
    if match and re.search(_ARABIC_LETTER, text):
        return "- " + text[: match.start()]
    return text


def _move_leading_punctuation(text: str) -> str:
    # "!مرحبا" or "؟كيف حالك" is a visual-order artefact: logical text never starts
    # with closing punctuation.  A leading dialogue dash "- " and "…" are legitimate.
    match = re.match(r"^([.!?؟،,؛;:]+)\s*(?=" + _ARABIC_LETTER + ")", text)
    if match and not re.search("[" + re.escape("".join(SENTENCE_END | CLAUSE_END)) + "]$", text):
        return text[match.end():] + match.group(1)
    return text


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


# --- scoring -------------------------------------------------------------------------

_SCORE_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_PUNCT_RE = re.compile(r"[^\w\s]|_", re.UNICODE)


def normalise_for_scoring(text: str) -> str:
    """Arabic ASR normaliser: strip harakat and tatweel, unify alef forms, ى→ي, ة→ه, drop punctuation."""
    text = strip_bidi_controls(text)
    text = "".join(ch for ch in text if ch not in HARAKAT and ch != TATWEEL)
    text = text.translate(_SCORE_MAP)
    text = _PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip().lower()
