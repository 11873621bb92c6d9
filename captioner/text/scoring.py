"""The normaliser recognition is scored with (WER/CER), for Arabic (rtl-and-peers W5)."""

from __future__ import annotations

import re

from .arabic import HARAKAT, TATWEEL
from .bidi import strip_bidi_controls

_SCORE_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_PUNCT_RE = re.compile(r"[^\w\s]|_", re.UNICODE)
_WS_RE = re.compile(r"\s+")


def normalise_for_scoring(text: str) -> str:
    """Arabic ASR normaliser: strip harakat and tatweel, unify alef forms, ى→ي, ة→ه, drop punctuation."""
    text = strip_bidi_controls(text)
    text = "".join(ch for ch in text if ch not in HARAKAT and ch != TATWEEL)
    text = text.translate(_SCORE_MAP)
    text = _PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip().lower()
