"""Arabic caption text: punctuation, spacing, speaker dashes and reading length, in logical order."""

from __future__ import annotations

import re

from .bidi import INVISIBLE, strip_bidi_controls

# Harakat and the superscript alef: not counted for reading speed (caption-standards §2).
HARAKAT = frozenset(chr(c) for c in range(0x064B, 0x0653)) | {"\u0670"}
TATWEEL = "\u0640"
ARABIC_COMMA, ARABIC_SEMICOLON, ARABIC_QUESTION = "\u060c", "\u061b", "\u061f"
# Marks Whisper should attach to the preceding word (faster-whisper lacks the Arabic ones).
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、" + ARABIC_COMMA + ARABIC_SEMICOLON + ARABIC_QUESTION
SENTENCE_END = frozenset(".!?؟…")
CLAUSE_END = frozenset(",،;؛:")
# Punctuation that may not be preceded by a space in Arabic typography.
_NO_SPACE_BEFORE = "،؛؟!.:…"

_WS_RE = re.compile(r"\s+")
ARABIC_LETTER = r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]"


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
    if re.search(ARABIC_LETTER, text):
        # First, so that a "?" moved to the end becomes "؟" like one typed there (normalising twice changes nothing).
        text = _move_leading_punctuation(text)
        text = re.sub(f"({ARABIC_LETTER}[\u064b-\u0652]*) ?,(?!\\d)", "\\1" + ARABIC_COMMA, text)
        text = re.sub(f"({ARABIC_LETTER}[\u064b-\u0652]*) ?;", "\\1" + ARABIC_SEMICOLON, text)
        text = re.sub(f"({ARABIC_LETTER}[\u064b-\u0652]*) ?\\?", "\\1" + ARABIC_QUESTION, text)
        text = text.replace("\u0627\u064b", "\u064b\u0627")
        text = re.sub(" +([" + _NO_SPACE_BEFORE + "])", r"\1", text)
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
    if match and re.search(ARABIC_LETTER, text):
        return "- " + text[: match.start()]
    return text


def _move_leading_punctuation(text: str) -> str:
    # "!مرحبا" or "؟كيف حالك" is a visual-order artefact: logical text never starts
    # with closing punctuation.  A leading dialogue dash "- " and "…" are legitimate.
    match = re.match(r"^([.!?؟،,؛;:]+)\s*(?=" + ARABIC_LETTER + ")", text)
    if match and not re.search("[" + re.escape("".join(SENTENCE_END | CLAUSE_END)) + "]$", text):
        return text[match.end():] + match.group(1)
    return text
